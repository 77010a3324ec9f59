"""Events, their answers and their trace, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query
from sqlalchemy import select

from backend.db import db_now
from backend.deps import CurrentPrincipal, Operator, SessionDep, Staff, WriteSessionDep, commit
from backend.errors import Forbidden, NotFound, Unprocessable
from backend.events import contacts as event_contacts
from backend.events import schemas
from backend.events import service as event_service
from backend.events.dependencies import actor_of, visible_event
from backend.events.models import Event
from backend.orgs.schemas import Id
from backend.outbox.models import Notification
from backend.pages import service as page_service
from backend.responses import reinforcement
from backend.responses import service as response_service
from backend.responses.models import Response
from backend.routing import OneHopRoute
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.models import TraceEntry

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1/events", tags=["events"])


@router.post("", status_code=201, response_model=schemas.EventDetail)
def create_event(body: schemas.EventCreate, db: SessionDep, principal: Operator):
    event = event_service.create(db_session=db, org_ids=principal.org_ids, draft=body, actor=actor_of(principal),
                                 user_id=principal.user.id)
    # The commit wakes the worker: the first solicitation leaves while this answer is being read.
    commit(db)
    return _detail(db, event)


@router.get("", response_model=list[schemas.EventOut])
def list_events(db: SessionDep, principal: CurrentPrincipal, status: str | None = None,
                organization_id: Id | None = None, severity_min: int | None = Query(None, ge=1, le=4),
                since: datetime | None = None, until: datetime | None = None,
                limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=2**31 - 1)):
    return event_service.list_events(
        db_session=db, org_ids=principal.org_ids, status=status, organization_id=organization_id,
        severity_min=severity_min, since=_utc(since), until=_utc(until), limit=limit, offset=offset,
        person_id=principal.person_id if principal.role == "oncall" else None)


@router.get("/{event_id}", response_model=schemas.EventDetail)
def read_event(event_id: Id, db: SessionDep, principal: CurrentPrincipal):
    return _detail(db, visible_event(db, principal, event_id))


@router.get("/{event_id}/contacts", response_model=list[schemas.ContactOut],
            summary="Whom to phone: the solicitations' chains, then everyone on call in the commune now, with mobiles")
def read_contacts(event_id: Id, db: WriteSessionDep, principal: Staff):
    event = visible_event(db, principal, event_id)
    now = db_now(db)
    found = event_contacts.for_event(db_session=db, event=event, at=now)
    event_contacts.log_reading(db_session=db, user_id=principal.user.id,
                               user_label=f"{principal.user.full_name} ({principal.role})",
                               organization_id=event.organization_id, contacts=found, event=event, at=now)
    return found


@router.post("/{event_id}/requalify", response_model=schemas.EventDetail)
def requalify_event(event_id: Id, body: schemas.Requalify, db: SessionDep, principal: Operator):
    event = visible_event(db, principal, event_id, lock=True)
    event_service.requalify(db_session=db, event=event, severity=body.severity, reason=body.reason,
                            actor=actor_of(principal))
    commit(db)  # as for a new event: the solicitations it adds need not wait for this answer
    return _detail(db, event)


@router.post("/{event_id}/close", response_model=schemas.EventDetail)
def close_event(event_id: Id, body: schemas.Close, db: SessionDep, principal: Operator):
    event = visible_event(db, principal, event_id, lock=True)
    event_service.close(db_session=db, event=event, reason=body.reason, actor=actor_of(principal),
                        follow_up=body.follow_up)
    return _detail(db, event)


@router.post("/{event_id}/responses", status_code=201, response_model=schemas.ResponseOut)
def respond(event_id: Id, body: schemas.ResponseCreate, db: SessionDep, principal: CurrentPrincipal,
            idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=64)] = None):
    if principal.role == "referent":
        raise Forbidden("referents read events; they do not answer them", code="role_forbidden")
    event = visible_event(db, principal, event_id, lock=True)
    if idempotency_key:
        # The phone resends what it is not sure was received: the first one stands.
        earlier = db.scalar(select(Response).where(Response.event_id == event.id,
                                                   Response.client_id == idempotency_key))
        if earlier is not None:
            return earlier
    if principal.role == "oncall":
        if body.person_id not in (None, principal.person_id):
            raise NotFound("person")
        return response_service.record(
            db_session=db, event=event, kind=body.kind, person_id=principal.person_id,
            actor=actor_of(principal), via=body.via, text=body.text,
            page_id=body.page_id, client_id=idempotency_key)
    if body.kind in ("ack", "decline") and not body.reason.strip():
        raise Unprocessable("say why you answer on someone's behalf (e.g. reached by phone)",
                            code="reason_required")
    return response_service.record(
        db_session=db, event=event, kind=body.kind, person_id=body.person_id, actor=actor_of(principal),
        via="operator", text=body.text, page_id=body.page_id, on_behalf_by_user_id=principal.user.id,
        reason=body.reason, client_id=idempotency_key)


@router.post("/{event_id}/responses/{response_id}/noted", response_model=schemas.ResponseOut,
             summary="The PC took note of a call for reinforcement: the consoles stop ringing for it")
def note_reinforcement(event_id: Id, response_id: Id, db: SessionDep, principal: Operator):
    event = visible_event(db, principal, event_id, lock=True)
    return reinforcement.take_note(db_session=db, event=event, response_id=response_id, user_id=principal.user.id,
                                   actor=actor_of(principal), now=db_now(db))


@router.get("/{event_id}/trace", response_model=list[schemas.TraceEntryOut])
def read_trace(event_id: Id, db: SessionDep, principal: CurrentPrincipal, after_seq: int = Query(0, ge=0, le=2**31 - 1)):
    event = visible_event(db, principal, event_id)
    return trace_service.list_entries(db_session=db, event_id=event.id, after_seq=after_seq)


@router.get("/{event_id}/trace/verify", response_model=schemas.VerificationOut)
def verify_trace(event_id: Id, db: SessionDep, principal: CurrentPrincipal):
    event = visible_event(db, principal, event_id)
    return trace_service.verify(db_session=db, event=event).__dict__


@router.post("/{event_id}/trace/corrections", status_code=201, response_model=schemas.TraceEntryOut)
def correct_trace(event_id: Id, body: schemas.Correction, db: SessionDep, principal: Operator):
    event = visible_event(db, principal, event_id, lock=True)
    target = db.scalar(select(TraceEntry).where(TraceEntry.id == body.corrects_id, TraceEntry.event_id == event.id))
    if target is None:
        raise NotFound("trace entry")
    entry = trace_service.append(db_session=db, event=event, kind=TraceKind.TRACE_CORRECTION, actor=actor_of(principal),
                                 data={"text": body.text, "corrected_kind": target.kind}, corrects_id=target.id)
    db.flush()
    return entry


def _utc(value: datetime | None) -> datetime | None:
    """A date given without a timezone is taken as UTC (the API answers in UTC)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _detail(db, event: Event) -> dict:
    notifications = db.scalars(select(Notification).where(Notification.event_id == event.id)
                               .order_by(Notification.id)).all()
    return {
        **schemas.EventOut.model_validate(event).model_dump(),
        "pages": page_service.pages_of_event(db_session=db, event_id=event.id),
        "notifications": notifications,
        "responses": response_service.list_for_event(db_session=db, event_id=event.id),
    }
