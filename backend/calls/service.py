"""The PC's call log and the alerts that bypassed it: the convention's pick-up rate and "hors PC" count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.calls.models import BypassedAlert, Call
from backend.calls.schemas import BypassedIn, CallIn, CallPatch
from backend.errors import Conflict, NotFound, Unprocessable
from backend.signals import announce_change


def log_call(*, db_session: Session, organization_id: int, draft: CallIn, user_id: int | None, source: str,
             now: datetime) -> tuple[Call, bool]:
    """Record a call; the same telephony id twice is the same call (returned, not duplicated)."""
    external_id = draft.external_id
    if external_id:
        existing = db_session.scalar(select(Call).where(Call.external_id == external_id))
        if existing is not None:
            if existing.organization_id != organization_id:
                raise Conflict("this call id is already logged for another commune", code="call_id_taken")
            return existing, False
    received = draft.received_at or now
    answered_at = draft.answered_at
    if draft.answered and answered_at is None:
        answered_at = now if received <= now else received
    if not draft.answered:
        answered_at = None
    if answered_at is not None and answered_at < received:
        raise Unprocessable("a call is answered after it rings", code="answered_before_received")
    if received > now:
        raise Unprocessable("a call cannot be logged in the future", code="call_in_future")
    call = Call(organization_id=organization_id, received_at=received, answered=draft.answered,
                answered_at=answered_at, caller_category=draft.caller_category or "citizen",
                caller_number=draft.caller_number or "", note=draft.note or "", source=source,
                external_id=external_id, recorded_by_user_id=user_id, created_at=now,
                wait_known=draft.received_at is not None, corrections=[])
    try:
        with db_session.begin_nested():
            db_session.add(call)
            db_session.flush()
    except IntegrityError:
        # The same call sent twice at once: the first insert stands, the second is answered with it.
        existing = db_session.scalar(select(Call).where(Call.external_id == external_id)) if external_id else None
        if existing is None or existing.organization_id != organization_id:
            raise Conflict("this call id is already logged for another commune", code="call_id_taken") from None
        return existing, False
    announce_change(db_session, "calls", organization_id)
    return call, True


CORRECTABLE = ("answered", "received_at", "answered_at", "caller_category", "caller_number", "note")


def correct_call(*, db_session: Session, call: Call, patch: CallPatch, by: str, now: datetime) -> Call:
    """Change what was logged wrong; what it was is kept in `corrections`."""
    changes = {name: value for name, value in patch.model_dump(exclude_unset=True).items()
               if value is not None or name == "answered_at"}
    if call.voided_at is not None:
        raise Conflict("this call was voided; log it again instead", code="call_voided")
    before = {name: getattr(call, name) for name in CORRECTABLE}
    after = {**before, **changes}
    if "answered" in changes and not after["answered"]:
        after["answered_at"] = None
    if after["answered"] and after["answered_at"] is None:
        raise Unprocessable("an answered call needs the time it was answered", code="answered_at_required")
    if after["answered_at"] is not None and after["answered_at"] < after["received_at"]:
        raise Unprocessable("a call is answered after it rings", code="answered_before_received")
    if after["received_at"] > now:
        raise Unprocessable("a call cannot be logged in the future", code="call_in_future")
    changed = {name: [_plain(before[name]), _plain(after[name])] for name in CORRECTABLE if before[name] != after[name]}
    if not changed:
        return call
    for name in changed:
        setattr(call, name, after[name])
    if "received_at" in changed or "answered_at" in changed:
        call.wait_known = call.answered_at is not None  # an operator who gives the times gives the wait
    call.corrections = [*(call.corrections or []), {"at": now.isoformat(), "by": by, "changes": changed}]
    db_session.flush()
    announce_change(db_session, "calls", call.organization_id)
    return call


def void_call(*, db_session: Session, call: Call, reason: str, by: str, now: datetime) -> Call:
    """A call logged by mistake: kept as it was, out of every list and figure."""
    if call.voided_at is not None:
        raise Conflict("this call is already voided", code="call_voided")
    if call.event_id is not None:
        raise Conflict("an event was opened from this call: it was a real call", code="call_has_event")
    call.voided_at, call.voided_by, call.void_reason = now, by, reason
    db_session.flush()
    announce_change(db_session, "calls", call.organization_id)
    return call


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


def get_call(*, db_session: Session, call_id: int, org_ids: frozenset[int], lock: bool = False) -> Call:
    query = select(Call).where(Call.id == call_id, Call.organization_id.in_(org_ids))
    call = db_session.scalar(query.with_for_update(key_share=True) if lock else query)
    if call is None:
        raise NotFound("call")
    return call


def list_calls(*, db_session: Session, org_ids: frozenset[int], organization_id: int | None, since: datetime | None,
               until: datetime | None, limit: int, offset: int, include_voided: bool = False) -> list[Call]:
    query = select(Call).where(Call.organization_id.in_(org_ids))
    if not include_voided:
        query = query.where(Call.voided_at.is_(None))
    if organization_id is not None:
        query = query.where(Call.organization_id == organization_id)
    if since is not None:
        query = query.where(Call.received_at >= since)
    if until is not None:
        query = query.where(Call.received_at < until)
    return list(db_session.scalars(query.order_by(Call.received_at.desc(), Call.id.desc()).limit(limit).offset(offset)))


def check_linkable(call: Call, event_id: int | None = None) -> None:
    if call.event_id is not None and call.event_id != event_id:
        raise Conflict("an event was already opened from this call", code="call_has_event")
    if call.voided_at is not None:
        raise Conflict("this call was voided as logged by mistake", code="call_voided")


def link_event(*, db_session: Session, call: Call, event_id: int) -> None:
    check_linkable(call, event_id)
    call.event_id = event_id
    announce_change(db_session, "calls", call.organization_id)


def record_bypassed(*, db_session: Session, organization_id: int, draft: BypassedIn, user_id: int | None,
                    now: datetime) -> BypassedAlert:
    if draft.occurred_at > now:
        raise Unprocessable("an alert cannot be recorded in the future", code="alert_in_future")
    row = BypassedAlert(organization_id=organization_id, occurred_at=draft.occurred_at, category=draft.category,
                        count=draft.count or 1, description=draft.description or "",
                        recorded_by_user_id=user_id, created_at=now)
    db_session.add(row)
    db_session.flush()
    return row


def list_bypassed(*, db_session: Session, org_ids: frozenset[int], organization_id: int | None,
                  since: datetime | None, until: datetime | None) -> list[BypassedAlert]:
    query = select(BypassedAlert).where(BypassedAlert.organization_id.in_(org_ids))
    if organization_id is not None:
        query = query.where(BypassedAlert.organization_id == organization_id)
    if since is not None:
        query = query.where(BypassedAlert.occurred_at >= since)
    if until is not None:
        query = query.where(BypassedAlert.occurred_at < until)
    return list(db_session.scalars(query.order_by(BypassedAlert.occurred_at.desc()).limit(1000)))
