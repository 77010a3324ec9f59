"""Event reports: written from the trace at closure (and on demand), kept per version, e-mailed to the
procedure's distribution lists; every sending is a trace entry, so reports per event are counted."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from backend.attachments.models import Attachment
from backend.errors import NotFound
from backend.events.models import Event
from backend.groups.models import DistributionList, DistributionMember
from backend.orgs.models import Organization
from backend.outbox import service as outbox_service
from backend.people.models import Person
from backend.procedures.models import ProcedureReportList, ProcedureVersion
from backend.reports import content as report_content
from backend.reports.models import Report
from backend.reports.render import to_html, to_pdf
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.service import Actor
from notifications import information
from notifications import notice as notices


def write(*, db_session: Session, event: Event, trigger: str, actor: Actor, now: datetime, send: bool = True) -> Report:
    """A new version of the report (the event row is locked by the caller), sent when `send`."""
    organization = db_session.get(Organization, event.organization_id)
    trace = trace_service.list_entries(db_session=db_session, event_id=event.id)
    intact = trace_service.verify(db_session=db_session, event=event).intact
    content = report_content.build(event=event, organization_name=organization.name, trace=trace,
                                   tz=organization.timezone or "Europe/Paris", chain_intact=intact, now=now,
                                   photos=_photo_bytes(db_session, event))
    html = to_html(content)
    pdf = to_pdf(content)
    version = (db_session.scalar(select(func.max(Report.version)).where(Report.event_id == event.id)) or 0) + 1
    report = Report(event_id=event.id, organization_id=event.organization_id, version=version, trigger=trigger,
                    html=html, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(), created_by=actor.label, created_at=now)
    db_session.add(report)
    db_session.flush()
    lists, sent = (_send(db_session, event, organization, report, html, now) if send else ([], []))
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.REPORT_SENT if sent else TraceKind.REPORT_WRITTEN,
                         actor=actor, at=now, data={
                             "report_id": report.id, "version": version, "trigger": trigger, "sha256": report.sha256,
                             "lists": lists, "recipients": sent})
    return report


# What one report carries of the field's photos; past it, the report says where to see the rest.
PHOTO_BUDGET = 12 * 1024 * 1024


def _photo_bytes(db_session: Session, event: Event) -> dict[int, bytes]:
    root = db_session.info.get("var_dir")
    if root is None:
        return {}
    found: dict[int, bytes] = {}
    total = 0
    for attachment in db_session.scalars(select(Attachment).where(Attachment.event_id == event.id)
                                         .order_by(Attachment.id)):
        if total + attachment.size > PHOTO_BUDGET:
            break
        try:
            found[attachment.id] = (Path(root) / attachment.path).read_bytes()
        except OSError:
            continue
        total += attachment.size
    return found


def _send(db_session: Session, event: Event, organization: Organization, report: Report, html: str,
          now: datetime) -> tuple[list[str], list[dict]]:
    if event.procedure_id is None:
        return [], []
    version = db_session.get(ProcedureVersion, event.procedure_version_id) if event.procedure_version_id else None
    if version is not None:  # the lists of the version the event was opened with
        dlists = list(db_session.scalars(select(DistributionList).where(
            DistributionList.id.in_(version.content.get("report_list_ids") or []),
            DistributionList.organization_id == event.organization_id).order_by(DistributionList.name)))
    else:
        dlists = list(db_session.scalars(select(DistributionList).join(
            ProcedureReportList, ProcedureReportList.list_id == DistributionList.id)
            .where(ProcedureReportList.procedure_id == event.procedure_id).order_by(DistributionList.name)))
    person_ids = set(db_session.scalars(select(DistributionMember.person_id).where(
        DistributionMember.list_id.in_([d.id for d in dlists]))))
    people = db_session.scalars(select(Person).options(selectinload(Person.contact_methods))
                                .where(Person.id.in_(person_ids), Person.active).order_by(Person.last_name))
    subject, text = notices.report_mail(org_code=organization.code, org_name=organization.name,
                                        number=event.number, title=event.title, version=report.version,
                                        exercise=event.exercise)
    sent = []
    for person in people:
        email = next((c for c in person.contact_methods if c.enabled and c.kind == "email"), None)
        mobile = next((c for c in person.contact_methods if c.enabled and c.kind == "sms"), None)
        if email is not None:
            row = outbox_service.enqueue_written(
                db_session=db_session, organization_id=event.organization_id, event_id=event.id, person_id=person.id,
                contact=email, purpose="report", subject=subject, text=text, html=html,
                data={"purpose": "report", "report_id": report.id}, now=now)
            sent.append({"person_id": person.id, "person": person.display_name, "notification_id": row.id,
                         "channel": "email"})
        if mobile is not None:  # a list is told by SMS too (the flood limit of each number holds)
            sms_subject, sms_text = information.report_sms(org_code=organization.code, number=event.number,
                                                           title=event.title, by_email=email is not None)
            row = outbox_service.enqueue_written(
                db_session=db_session, organization_id=event.organization_id, event_id=event.id, person_id=person.id,
                contact=mobile, purpose="inform", subject=sms_subject, text=sms_text, html=None,
                data={"purpose": "inform", "report_id": report.id, "information": True}, now=now)
            sent.append({"person_id": person.id, "person": person.display_name, "notification_id": row.id,
                         "channel": "sms"})
    return [d.name for d in dlists], sent


def list_reports(*, db_session: Session, event_id: int) -> list[Report]:
    return list(db_session.scalars(select(Report).where(Report.event_id == event_id).order_by(Report.version)))


def get(*, db_session: Session, report_id: int, org_ids: frozenset[int]) -> Report:
    report = db_session.scalar(select(Report).where(Report.id == report_id, Report.organization_id.in_(org_ids)))
    if report is None:
        raise NotFound("report")
    return report
