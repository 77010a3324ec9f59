"""The main courante: append an entry (hash-chained per event), read it, verify it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db import db_now
from backend.events.models import Event
from backend.groups.models import OnCallGroup
from backend.signals import announce_change, signals_of
from backend.trace import sealing
from backend.trace.kinds import GroupTraceKind, TraceKind
from backend.trace.models import GroupTraceEntry, TraceEntry
from backend.webhooks import service as webhook_service

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    type: str  # user | person | system
    id: int | None = None
    label: str = ""


SYSTEM = Actor("system", None, "Vigie")


def entry_hash(*, prev_hash: str, event_id: int | None = None, seq: int, at: datetime, actor: Actor, kind: str,
               data: dict, corrects_id: int | None = None, group_id: int | None = None, salt: str | None = None,
               sealed: dict[str, str] | None = None) -> str:
    """Version 2 (a salt): the words are committed to (backend/trace/sealing.py); version 1 (no
    salt, entries written before the migration that could not be re-sealed): the words themselves."""
    subject = {"event": event_id} if group_id is None else {"group": group_id}
    if salt is None:
        label, words = actor.label, data
    else:
        sealed = sealed or {}
        label, words = sealing.sealed_label(actor.label, salt, sealed), sealing.sealed_data(data, salt, sealed)
    payload = {"prev": prev_hash, **subject, "seq": seq, "at": at.isoformat(timespec="microseconds"),
               "actor": [actor.type, actor.id, label], "kind": kind, "data": words, "corrects": corrects_id}
    if salt is not None:
        payload["v"] = 2
    return hashlib.sha256(sealing.canonical(payload).encode("utf-8")).hexdigest()


def append(*, db_session: Session, event: Event, kind: TraceKind, actor: Actor = SYSTEM, data: dict | None = None,
           at: datetime | None = None, corrects_id: int | None = None) -> TraceEntry:
    """Append one entry; the caller holds the event row (locked) in this transaction."""
    kind = TraceKind(kind)  # a kind not in the catalogue (backend/trace/kinds.py) is refused here
    data = _jsonable(data or {})
    at = at or db_now(db_session)
    seq = event.trace_seq + 1
    salt = sealing.new_salt()
    digest = entry_hash(prev_hash=event.trace_head, event_id=event.id, seq=seq, at=at, actor=actor,
                        kind=kind.value, data=data, corrects_id=corrects_id, salt=salt)
    entry = TraceEntry(event_id=event.id, organization_id=event.organization_id, seq=seq, at=at,
                       actor_type=actor.type, actor_id=actor.id, actor_label=actor.label, kind=kind.value,
                       data=data, corrects_id=corrects_id, prev_hash=event.trace_head, hash=digest, salt=salt,
                       sealed={})
    event.trace_seq = seq
    event.trace_head = digest
    db_session.add(entry)
    # Queued in this transaction: an entry written is an entry its subscribers will get.
    webhook_service.queue_for_entry(db_session, event, entry)
    # No flush here: an event's entries are written together at the next flush (a round trip
    # each was most of an event's creation time). A caller that needs `entry.id` flushes.
    signals = signals_of(db_session)
    if signals is not None:
        signals.trace_appended(db_session, entry)
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
    return _verify_chain(entries, event.trace_head, lambda entry, prev: entry_hash(
        prev_hash=prev, event_id=entry.event_id, seq=entry.seq, at=entry.at,
        actor=Actor(entry.actor_type, entry.actor_id, entry.actor_label), kind=entry.kind,
        data=entry.data, corrects_id=entry.corrects_id, salt=entry.salt, sealed=entry.sealed))


def _verify_chain(entries, head: str, rehash) -> Verification:
    prev = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq:
            return Verification(False, len(entries), expected_seq, "missing entry")
        if entry.prev_hash != prev:
            return Verification(False, len(entries), entry.seq, "chain broken")
        if rehash(entry, prev) != entry.hash:
            return Verification(False, len(entries), entry.seq, "entry altered")
        if entry.sealed and not sealing.seals_hold(entry.actor_label, entry.data, entry.sealed):
            return Verification(False, len(entries), entry.seq, "a pseudonymised value was rewritten")
        prev = entry.hash
    if entries and head != prev:
        return Verification(False, len(entries), len(entries) + 1, "entries removed at the end")
    return Verification(True, len(entries))


# The group's own trace: turns taken, confirmations, replacements, swaps ---------------------
def append_group(*, db_session: Session, group: OnCallGroup, kind: GroupTraceKind, actor: Actor = SYSTEM,
                 data: dict | None = None, at: datetime | None = None) -> GroupTraceEntry:
    """Append one entry to a group's chain; the caller holds the group row (locked) in this transaction."""
    kind = GroupTraceKind(kind)  # a kind not in the catalogue (backend/trace/kinds.py) is refused here
    data = _jsonable(data or {})
    at = at or db_now(db_session)
    seq = group.trace_seq + 1
    salt = sealing.new_salt()
    digest = entry_hash(prev_hash=group.trace_head, group_id=group.id, seq=seq, at=at, actor=actor,
                        kind=kind.value, data=data, salt=salt)
    entry = GroupTraceEntry(group_id=group.id, organization_id=group.organization_id, seq=seq, at=at,
                            actor_type=actor.type, actor_id=actor.id, actor_label=actor.label, kind=kind.value,
                            data=data, prev_hash=group.trace_head, hash=digest, salt=salt, sealed={})
    group.trace_seq = seq
    group.trace_head = digest
    db_session.add(entry)
    db_session.flush()
    # Every planning change writes here: the Planning screens follow it live.
    announce_change(db_session, "planning", group.organization_id)
    return entry


def list_group_entries(*, db_session: Session, group_id: int, since: datetime | None = None,
                       limit: int = 500) -> list[GroupTraceEntry]:
    query = select(GroupTraceEntry).where(GroupTraceEntry.group_id == group_id)
    if since is not None:
        query = query.where(GroupTraceEntry.at >= since)
    return list(db_session.scalars(query.order_by(GroupTraceEntry.seq.desc()).limit(limit)))[::-1]


def verify_group(*, db_session: Session, group: OnCallGroup) -> Verification:
    entries = list(db_session.scalars(select(GroupTraceEntry).where(GroupTraceEntry.group_id == group.id)
                                      .order_by(GroupTraceEntry.seq)))
    return _verify_chain(entries, group.trace_head, lambda entry, prev: entry_hash(
        prev_hash=prev, group_id=entry.group_id, seq=entry.seq, at=entry.at,
        actor=Actor(entry.actor_type, entry.actor_id, entry.actor_label), kind=entry.kind, data=entry.data,
        salt=entry.salt, sealed=entry.sealed))


def _jsonable(data: dict) -> dict:
    # Stored and hashed as JSON: normalise now so the hash verifies after a round-trip.
    return json.loads(json.dumps(data, default=str, ensure_ascii=False))
