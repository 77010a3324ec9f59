"""The main courante: append an entry (hash-chained per event), read it, verify it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import utcnow
from backend.events.models import Event
from backend.signals import signals_of
from backend.trace.models import TraceEntry

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    type: str  # user | person | system
    id: int | None = None
    label: str = ""


SYSTEM = Actor("system", None, "Vigie")


def entry_hash(*, prev_hash: str, event_id: int, seq: int, at: datetime, actor: Actor, kind: str,
               data: dict, corrects_id: int | None) -> str:
    canonical = json.dumps(
        {
            "prev": prev_hash,
            "event": event_id,
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": [actor.type, actor.id, actor.label],
            "kind": kind,
            "data": data,
            "corrects": corrects_id,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(*, db_session: Session, event: Event, kind: str, actor: Actor = SYSTEM, data: dict | None = None,
           at: datetime | None = None, corrects_id: int | None = None) -> TraceEntry:
    """Append one entry; the caller holds the event row (locked) in this transaction."""
    data = _jsonable(data or {})
    at = at or utcnow()
    seq = event.trace_seq + 1
    digest = entry_hash(prev_hash=event.trace_head, event_id=event.id, seq=seq, at=at, actor=actor,
                        kind=kind, data=data, corrects_id=corrects_id)
    entry = TraceEntry(event_id=event.id, organization_id=event.organization_id, seq=seq, at=at,
                       actor_type=actor.type, actor_id=actor.id, actor_label=actor.label, kind=kind,
                       data=data, corrects_id=corrects_id, prev_hash=event.trace_head, hash=digest)
    event.trace_seq = seq
    event.trace_head = digest
    db_session.add(entry)
    db_session.flush()
    signals = signals_of(db_session)
    if signals is not None:
        signals.trace_appended(db_session, entry.id)
    return entry


def list_entries(*, db_session: Session, event_id: int, after_seq: int = 0) -> list[TraceEntry]:
    query = (select(TraceEntry).where(TraceEntry.event_id == event_id, TraceEntry.seq > after_seq)
             .order_by(TraceEntry.seq))
    return list(db_session.scalars(query))


@dataclass(frozen=True)
class Verification:
    intact: bool
    entries: int
    first_broken_seq: int | None = None
    reason: str = ""


def verify(*, db_session: Session, event: Event) -> Verification:
    entries = list_entries(db_session=db_session, event_id=event.id)
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq:
            return Verification(False, len(entries), expected_seq, "missing entry")
        if entry.prev_hash != prev:
            return Verification(False, len(entries), entry.seq, "chain broken")
        digest = entry_hash(prev_hash=prev, event_id=entry.event_id, seq=entry.seq, at=entry.at,
                            actor=Actor(entry.actor_type, entry.actor_id, entry.actor_label), kind=entry.kind,
                            data=entry.data, corrects_id=entry.corrects_id)
        if digest != entry.hash:
            return Verification(False, len(entries), entry.seq, "entry altered")
        prev = entry.hash
    if entries and event.trace_head != prev:
        return Verification(False, len(entries), len(entries) + 1, "entries removed at the end")
    return Verification(True, len(entries))


def _jsonable(data: dict) -> dict:
    # Stored and hashed as JSON: normalise now so the hash verifies after a round-trip.
    return json.loads(json.dumps(data, default=str, ensure_ascii=False))
