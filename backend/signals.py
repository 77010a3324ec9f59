"""What a committed transaction tells the rest of the system: new trace entries, new due work.

Signals are gathered on the session and leave only with the commit. On PostgreSQL they are
`pg_notify` calls made inside the transaction (delivered to every process on commit, never
on rollback); on SQLite they are in-process callbacks run after the commit, also sent to the
other processes on the same file by the local bus (`backend/bus.py`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import event, text
from sqlalchemy.orm import Session

log = logging.getLogger("vigie.signals")

TRACE_CHANNEL = "vigie_trace"
WAKE_CHANNEL = "vigie_wake"  # payload: which outboxes have work ("messages,webhooks"); empty: all
STEPS_CHANNEL = "vigie_steps"  # payload: the earliest due time (ISO) of the steps a transaction set
CHANGED_CHANNEL = "vigie_changed"  # [[topic, organization_id], ...]: a list the consoles show changed
# A "changed" topic the consoles never see: a credential was revoked, live sockets re-check theirs.
ACCESS_TOPIC = "access"
# A row inserted into these tables is work for one outbox of the workers: the flush that writes
# it raises the wake-up, so no writer has to remember to. Each outbox is woken only by its own
# work (every event makes messages; a commune without webhooks would wake that loop for nothing).
MESSAGES, WEBHOOKS = "messages", "webhooks"
WAKE_ON_INSERT = {"notifications": MESSAGES, "webhook_deliveries": WEBHOOKS}
OUTBOXES = frozenset(WAKE_ON_INSERT.values())
_PAYLOAD_LIMIT = 7000  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more


class Signals:
    def __init__(self, *, use_pg_notify: bool):
        self.use_pg_notify = use_pg_notify
        self._trace_listeners: list[Callable[[list[int]], None]] = []
        self._wake_listeners: list[tuple[Callable[[], None], str | None]] = []
        self._steps_listeners: list[Callable[[datetime], None]] = []
        self._changed_listeners: list[Callable[[list[tuple[str, int]]], None]] = []
        self._publish: Callable[[dict], None] | None = None
        self._lock = threading.Lock()

    def publish_to(self, publish: Callable[[dict], None] | None) -> None:
        """SQLite: also hand what each commit signals to the other processes on the file."""
        self._publish = publish

    def on_trace(self, callback: Callable[[list[int]], None]) -> None:
        with self._lock:
            self._trace_listeners.append(callback)

    def on_wake(self, callback: Callable[[], None], outbox: str | None = None) -> None:
        """`callback` runs when a commit made work for `outbox` (None: for any)."""
        with self._lock:
            self._wake_listeners.append((callback, outbox))

    def on_steps_due(self, callback: Callable[[datetime], None]) -> None:
        with self._lock:
            self._steps_listeners.append(callback)

    def on_changed(self, callback: Callable[[list[tuple[str, int]]], None]) -> None:
        with self._lock:
            self._changed_listeners.append(callback)

    def changed(self, session: Session, topic: str, organization_id: int) -> None:
        """Something outside the trace changed (calls, planning): consoles showing it read it again."""
        session.info.setdefault("signal_changed", set()).add((topic, organization_id))

    def trace_appended(self, session: Session, entry) -> None:
        """`entry` is a mapped row with an `id`, written by the flush that precedes the commit."""
        session.info.setdefault("signal_trace", []).append(entry)

    def work_due(self, session: Session, outbox: str = MESSAGES) -> None:
        """Work for an outbox of the workers (raised by the flush that inserts its rows)."""
        session.info.setdefault("signal_wake", set()).add(outbox)

    def steps_due(self, session: Session, due_at: datetime) -> None:
        """A step (page or watch turn) falls due at `due_at`: wakes a steps loop sleeping past it."""
        current = session.info.get("signal_steps")
        if current is None or due_at < current:
            session.info["signal_steps"] = due_at

    # Called by the PostgreSQL listener, and after commit on SQLite.
    def deliver_trace(self, ids: list[int]) -> None:
        for callback in list(self._trace_listeners):
            _safe(callback, ids)

    def deliver_wake(self, outboxes: frozenset[str] | set[str] = OUTBOXES) -> None:
        for callback, outbox in list(self._wake_listeners):
            if outbox is None or outbox in outboxes:
                _safe(callback)

    def deliver_steps_due(self, due_at: datetime) -> None:
        for callback in list(self._steps_listeners):
            _safe(callback, due_at)

    def deliver_changed(self, items: list[tuple[str, int]]) -> None:
        for callback in list(self._changed_listeners):
            _safe(callback, items)

    def install(self, session_class=Session) -> None:
        """Hook the session lifecycle; call once per process."""
        event.listen(session_class, "after_flush", self._after_flush)
        event.listen(session_class, "before_commit", self._before_commit)
        event.listen(session_class, "after_commit", self._after_commit)
        event.listen(session_class, "after_rollback", self._after_rollback)

    def _owns(self, session: Session) -> bool:
        return session.info.get("signals") is self

    def _after_flush(self, session: Session, _context) -> None:
        if not self._owns(session) or len(session.info.get("signal_wake", ())) == len(OUTBOXES):
            return
        for row in session.new:
            outbox = WAKE_ON_INSERT.get(getattr(type(row), "__tablename__", ""))
            if outbox is not None:
                self.work_due(session, outbox)

    def _before_commit(self, session: Session) -> None:
        if not self._owns(session):
            return
        # The commit flushes only after this hook: flush now, so that what the last flush
        # writes (trace entries, messages to send) is signalled with the rest.
        session.flush()
        entries = session.info.pop("signal_trace", [])
        if entries:
            # Read now: after the commit the rows are expired and reading an id would query.
            # (An entry of a rolled-back savepoint was expunged: it has no id and was never written.)
            session.info["signal_trace_ids"] = [entry.id for entry in entries if entry.id is not None]
        if not self.use_pg_notify:
            return
        ids = session.info.pop("signal_trace_ids", [])
        # Only what made work wakes the workers: a trace entry alone does not (their own
        # deliveries write one each, and would wake them for nothing).
        wake = session.info.pop("signal_wake", set())
        steps = session.info.pop("signal_steps", None)
        changed = sorted(session.info.pop("signal_changed", ()))
        payloads = list(_chunks(ids))
        # One round trip for all of them: this runs inside every event's creation.
        calls = [f"pg_notify(:t, :p{n})" for n in range(len(payloads))] + (["pg_notify(:w, :wake)"] if wake else [])
        if changed:
            calls.append("pg_notify(:c, :changed)")
        if steps is not None:
            calls.append("pg_notify(:s, :steps)")
        if calls:
            params = {"t": TRACE_CHANNEL, "w": WAKE_CHANNEL, "wake": wake_payload(wake), "c": CHANGED_CHANNEL, "changed": json.dumps(changed),
                      "s": STEPS_CHANNEL, "steps": steps.isoformat() if steps is not None else "",
                      **{f"p{n}": p for n, p in enumerate(payloads)}}
            session.execute(text("SELECT " + ", ".join(calls)), params)

    def _after_commit(self, session: Session) -> None:
        if not self._owns(session) or self.use_pg_notify:
            return
        ids = session.info.pop("signal_trace_ids", [])
        wake = session.info.pop("signal_wake", set())
        steps = session.info.pop("signal_steps", None)
        changed = sorted(session.info.pop("signal_changed", ()))
        if changed:
            self.deliver_changed(changed)
        if ids:
            self.deliver_trace(ids)
        if wake:
            self.deliver_wake(wake)
        if steps is not None:
            self.deliver_steps_due(steps)
        publish = self._publish
        if publish is not None and (changed or ids or wake or steps is not None):
            publish({"changed": changed, "trace": ids, "wake": wake_payload(wake),
                     "steps": steps.isoformat() if steps is not None else None})

    def _after_rollback(self, session: Session) -> None:
        session.info.pop("signal_trace", None)
        session.info.pop("signal_trace_ids", None)
        session.info.pop("signal_changed", None)
        session.info.pop("signal_wake", None)
        session.info.pop("signal_steps", None)


def signals_of(session: Session) -> Signals | None:
    return session.info.get("signals")


def steps_due(session: Session, due_at: datetime | None) -> None:
    """Once committed, wake the steps loops that sleep past `due_at` (no-op for None)."""
    signals = signals_of(session)
    if signals is not None and due_at is not None:
        signals.steps_due(session, due_at)


def announce_change(session: Session, topic: str, organization_id: int) -> None:
    """Tell the consoles, once committed, that a list outside the trace changed ("calls", "planning")."""
    signals = signals_of(session)
    if signals is not None:
        signals.changed(session, topic, organization_id)


def wake_payload(outboxes: set[str]) -> str:
    """What a wake-up says on either transport (NOTIFY payload, local bus): "messages,webhooks"."""
    return ",".join(sorted(outboxes))


def outboxes_named(payload: str) -> frozenset[str]:
    """The outboxes a wake-up names (`wake_payload`); none named: all of them."""
    named = frozenset(payload.split(",")) & OUTBOXES if payload else frozenset()
    return named or OUTBOXES


def _chunks(ids: list[int]):
    batch: list[int] = []
    for entry_id in ids:
        batch.append(entry_id)
        if len(json.dumps(batch)) > _PAYLOAD_LIMIT:
            batch.pop()
            yield json.dumps(batch)
            batch = [entry_id]
    if batch:
        yield json.dumps(batch)


def _safe(callback, *args) -> None:
    try:
        callback(*args)
    except Exception:  # one broken listener must not stop the others
        log.exception("signal listener failed")
