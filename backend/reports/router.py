"""Event reports over HTTP: list the versions, write a new one on demand, download HTML or PDF."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from backend.db import db_now
from backend.deps import Operator, SessionDep, Staff
from backend.events.dependencies import actor_of, visible_event
from backend.orgs.schemas import Id
from backend.outbox.models import Notification
from backend.reports import service as report_service
from backend.routing import OneHopRoute
from backend.trace.kinds import TraceKind
from backend.trace.models import TraceEntry

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["reports"])


class Recipient(BaseModel):
    person_id: int
    person: str
    notification_id: int
    channel: str = Field(default="email", description="email (the report) or sms (told of it)")
    status: str = Field(description="of the message: queued, sent, delivered, failed")


class ReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    version: int
    trigger: str
    sha256: str
    created_by: str
    created_at: datetime
    lists: list[str] = Field(description="the procedure's distribution lists it was sent to")
    recipients: list[Recipient] = Field(description="empty: written and kept, sent to nobody")


def reports_out(db, event_id: int, reports: list) -> list[dict]:
    """Each version with to whom it went, as its trace entry says, and where each e-mail stands now."""
    sendings = {e.data.get("report_id"): e.data for e in db.scalars(select(TraceEntry).where(
        TraceEntry.event_id == event_id, TraceEntry.kind.in_((TraceKind.REPORT_SENT, TraceKind.REPORT_WRITTEN))))}
    ids = [r["notification_id"] for d in sendings.values() for r in d.get("recipients", [])]
    status = dict(db.execute(select(Notification.id, Notification.status).where(Notification.id.in_(ids)))
                  .all()) if ids else {}
    out = []
    for report in reports:
        sending = sendings.get(report.id, {})
        out.append({**{name: getattr(report, name) for name in ("id", "event_id", "version", "trigger", "sha256",
                                                                 "created_by", "created_at")},
                    "lists": sending.get("lists", []),
                    "recipients": [{**r, "status": status.get(r["notification_id"], "unknown")}
                                   for r in sending.get("recipients", [])]})
    return out


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    send: bool = True


@router.get("/events/{event_id}/reports", response_model=list[ReportOut])
def list_reports(event_id: Id, db: SessionDep, principal: Staff):
    event = visible_event(db, principal, event_id)
    return reports_out(db, event.id, report_service.list_reports(db_session=db, event_id=event.id))


@router.post("/events/{event_id}/reports", status_code=201, response_model=ReportOut,
             summary="Write a new version of the report now (and send it to the procedure's lists)")
def write_report(event_id: Id, db: SessionDep, principal: Operator, body: ReportIn | None = None):
    event = visible_event(db, principal, event_id, lock=True)
    report = report_service.write(db_session=db, event=event, trigger="on_demand", actor=actor_of(principal),
                                  now=db_now(db), send=(body or ReportIn()).send)
    db.flush()  # the trace entry naming the recipients
    return reports_out(db, event.id, [report])[0]


@router.get("/reports/{report_id}.pdf", response_class=Response)
def report_pdf(report_id: Id, db: SessionDep, principal: Staff):
    report = report_service.get(db_session=db, report_id=report_id, org_ids=principal.org_ids)
    return Response(report.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="rapport-{report.event_id}-v{report.version}.pdf"'})


@router.get("/reports/{report_id}.html", response_class=HTMLResponse)
def report_html(report_id: Id, db: SessionDep, principal: Staff):
    return HTMLResponse(report_service.get(db_session=db, report_id=report_id, org_ids=principal.org_ids).html)
