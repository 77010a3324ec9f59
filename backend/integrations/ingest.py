"""An integration's alarms: opened as events by its mapping rules, a repeat added to the open event's trace
(nobody paged again), an « end of alarm » noted or closing the event; and the first answer to an
`Idempotency-Key`, given again without doing anything twice."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db import db_now
from backend.errors import Conflict, NotFound, Unprocessable
from backend.events import service as event_service
from backend.events.models import Event, EventStatus
from backend.events.schemas import EventCreate
from backend.groups.models import OnCallGroup
from backend.integrations.models import IdempotentRequest, IntegrationAlarm
from backend.integrations.schemas import AlarmIn
from backend.integrations.service import Caller
from backend.procedures.models import Procedure
from backend.responses.models import Response
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.service import Actor

IDEMPOTENCY_WINDOW = timedelta(hours=24)
ENGAGED = ("ack", "en_route", "on_site", "done", "need_help")


def actor_of(caller: Caller) -> Actor:
    return Actor("system", None, f"Intégration « {caller.name} »")


def _insert_once(db_session: Session, model, **values) -> None:
    """INSERT … ON CONFLICT DO NOTHING: of concurrent requests, one inserts, the others wait for it and
    then find its row (read under lock next)."""
    dialect = postgresql if db_session.get_bind().dialect.name == "postgresql" else sqlite
    db_session.execute(dialect.insert(model).values(**values).on_conflict_do_nothing())


def body_digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def claim(*, db_session: Session, integration_id: int, key: str, digest: str) -> IdempotentRequest:
    """The request kept under this key (locked until this transaction ends): with its answer when it was
    already given within 24 h; refused when the key came with another body."""
    now = db_now(db_session)
    _insert_once(db_session, IdempotentRequest, integration_id=integration_id, key=key, request_hash=digest,
                 created_at=now)
    # Answers older than a day are dropped as keys come (one indexed statement): the table stays a day deep.
    db_session.execute(delete(IdempotentRequest).where(IdempotentRequest.integration_id == integration_id,
                                                       IdempotentRequest.created_at <= now - IDEMPOTENCY_WINDOW,
                                                       IdempotentRequest.key != key))
    row = db_session.scalars(select(IdempotentRequest).where(IdempotentRequest.integration_id == integration_id,
                                                             IdempotentRequest.key == key).with_for_update()).one()
    if row.created_at <= now - IDEMPOTENCY_WINDOW:  # a key reused after a day is a new request
        row.request_hash, row.status_code, row.body, row.created_at = digest, None, None, now
    elif row.request_hash != digest:
        raise Unprocessable("this Idempotency-Key was already used with another body", code="idempotency_key_reused")
    return row


def remember(row: IdempotentRequest, status_code: int, body: dict) -> None:
    row.status_code, row.body = status_code, body


def receive(*, db_session: Session, caller: Caller, alarm: AlarmIn) -> tuple[int, dict]:
    """(HTTP status, answer) for one alarm."""
    organization_id = _commune(caller, alarm)
    _insert_once(db_session, IntegrationAlarm, integration_id=caller.integration_id, alarm_key=alarm.alarm_key,
                 occurrences=0)
    row = db_session.scalars(select(IntegrationAlarm).where(IntegrationAlarm.integration_id == caller.integration_id,
                                                            IntegrationAlarm.alarm_key == alarm.alarm_key)
                             .with_for_update()).one()
    event = _open_event(db_session, row)
    if event is not None and event.organization_id != organization_id:
        raise Conflict("this alarm key is open on an event of another commune", code="alarm_key_in_other_commune")
    now = db_now(db_session)
    occurred = (alarm.occurred_at or now).isoformat()
    about = {"source": alarm.source, "alarm_key": alarm.alarm_key, "occurred_at": occurred}
    if alarm.state == "cleared":
        if event is None:
            return 200, _answer("cleared_unknown", None, row)
        trace_service.append(db_session=db_session, event=event, kind=TraceKind.ALARM_CLEARED, actor=actor_of(caller),
                             at=now, data={**about, "occurrences": row.occurrences})
        if caller.mapping.get("on_cleared", "close_if_unengaged") == "close_if_unengaged" \
                and not _engaged(db_session, event):
            event_service.close(db_session=db_session, event=event, actor=actor_of(caller), now=now,
                                reason=f"Fin d'alarme transmise par {alarm.source}, avant toute prise en charge")
            return 200, _answer("cleared_closed", event, row)
        return 200, _answer("cleared_noted", event, row)
    row.last_at = now
    if event is not None:
        row.occurrences += 1
        trace_service.append(db_session=db_session, event=event, kind=TraceKind.ALARM_REPEATED, actor=actor_of(caller),
                             at=now, data={**about, "occurrences": row.occurrences, "severity": alarm.severity,
                                           "title": alarm.title})
        return 200, _answer("repeated", event, row)
    event = _open(db_session, caller, alarm, organization_id, now)
    row.event_id, row.occurrences = event.id, 1
    return 201, _answer("opened", event, row)


def _commune(caller: Caller, alarm: AlarmIn) -> int:
    if alarm.organization_id is None:
        if len(caller.org_ids) > 1:
            raise Unprocessable("a métropole's key says which commune the alarm is for (organization_id)",
                                code="organization_required")
        return caller.organization_id
    if alarm.organization_id not in caller.org_ids:
        raise NotFound("organization")
    return alarm.organization_id


def _open_event(db_session: Session, row: IntegrationAlarm) -> Event | None:
    if row.event_id is None:
        return None
    event = db_session.scalar(select(Event).where(Event.id == row.event_id).with_for_update(key_share=True))
    return event if event is not None and event.status != EventStatus.CLOSED else None


def _engaged(db_session: Session, event: Event) -> bool:
    if event.status == EventStatus.ACKNOWLEDGED:
        return True
    return db_session.scalar(select(Response.id).where(Response.event_id == event.id, Response.kind.in_(ENGAGED))
                             .limit(1)) is not None


def severity_of(mapping: dict, value: str | None) -> int | None:
    """The source's severity in Vigie's scale; an unknown one is None (handled as 3 until requalified)."""
    if value is None:
        return None
    table = mapping.get("severities") or {}
    if value in table:
        return int(table[value])
    folded = {k.casefold(): v for k, v in table.items()}
    found = folded.get(value.casefold())
    return int(found) if found is not None else None


def rule_for(db_session: Session, mapping: dict, category: str | None, organization_id: int) -> dict | None:
    """The rule of this category for this commune, else the commune's default (`*`), else none."""
    rules = mapping.get("rules") or []
    wanted = (category or "").casefold()
    for candidates in ([r for r in rules if r["category"].casefold() == wanted and wanted],
                       [r for r in rules if r["category"] == "*"]):
        for rule in candidates:
            if _owner(db_session, rule) == organization_id:
                return rule
    return None


def _owner(db_session: Session, rule: dict) -> int | None:
    if rule.get("procedure_id") is not None:
        return db_session.scalar(select(Procedure.organization_id).where(Procedure.id == rule["procedure_id"]))
    owners = set(db_session.scalars(select(OnCallGroup.organization_id)
                                    .where(OnCallGroup.id.in_(rule.get("group_ids") or []))))
    return owners.pop() if len(owners) == 1 else None


def _open(db_session: Session, caller: Caller, alarm: AlarmIn, organization_id: int, now) -> Event:
    rule = rule_for(db_session, caller.mapping, alarm.category, organization_id)
    procedure_id = rule.get("procedure_id") if rule else None
    category = None if procedure_id else (alarm.category or f"Alarme ({alarm.source})")
    details = alarm.details
    draft = EventCreate(
        organization_id=organization_id, procedure_id=procedure_id,
        group_ids=rule.get("group_ids") if rule and not procedure_id else None, category=category,
        severity=severity_of(caller.mapping, alarm.severity),
        title=alarm.title or f"{alarm.category or 'Alarme'} — {alarm.source}"[:200], description=details,
        place=alarm.place, source="sensor", caller_name=alarm.source[:200])
    origin = {"integration": caller.name, "alarm_key": alarm.alarm_key, "source_severity": alarm.severity,
              "source_category": alarm.category, "occurred_at": (alarm.occurred_at or now).isoformat()}
    return event_service.create(db_session=db_session, org_ids=frozenset({organization_id}), draft=draft,
                                actor=actor_of(caller), user_id=None, now=now, origin=origin)


def _answer(outcome: str, event: Event | None, row: IntegrationAlarm) -> dict:
    return {"outcome": outcome, "event_id": event.id if event else None,
            "event_number": event.number if event else None, "occurrences": row.occurrences,
            "severity": event.severity if event else None}
