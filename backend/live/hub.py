"""Fan committed trace entries out to the WebSocket clients allowed to see them."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.events import service as event_service
from backend.events.models import Event
from backend.signals import ACCESS_TOPIC
from backend.trace.models import TraceEntry

log = logging.getLogger("vigie.hub")

SQLITE_TAIL_FALLBACK_S = 1.0  # catches entries written by a separate worker process on SQLite
MIN_INTERVAL_S = 0.05
QUEUE_LIMIT = 1_000  # batches waiting for one client; beyond, it is told to reconnect and resume
REVOKED = object()  # queued for a subscriber whose credential was revoked


@dataclass(eq=False)
class Subscriber:
    org_ids: frozenset[int]
    person_id: int | None  # set for on-call users: only the events `event_service.person_scope` gives them
    # Items: a `Batch` of trace entries, or a "changed" notice (dict).
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))
    events_seen: set[int] = field(default_factory=set)
    overflowed: bool = False
    revoked: bool = False  # its credential no longer holds, or its scope changed: the socket is closed
    close: tuple[int, str] = (4401, "access revoked or expired")

    def revoke(self, code: int = 4401, reason: str = "access revoked or expired") -> None:
        self.revoked, self.close = True, (code, reason)
        try:
            self.queue.put_nowait(REVOKED)  # wakes the sender, which closes the socket
        except asyncio.QueueFull:
            pass  # the sender reads the flag after the item it is sending


@dataclass(frozen=True)
class Batch:
    """Entries committed together, as one WebSocket message, encoded once for everyone who sees them all."""

    entries: tuple[dict, ...]
    text: str

    @classmethod
    def of(cls, entries: list[dict]) -> Batch:
        return cls(tuple(entries), encode(entries))


def encode(entries: list[dict] | tuple[dict, ...]) -> str:
    # One entry keeps the original message; a burst goes as one message (a storm night writes
    # hundreds of entries a second, and a hundred consoles read them).
    if len(entries) == 1:
        return json.dumps({"type": "trace", "entry": entries[0]})
    return json.dumps({"type": "traces", "entries": list(entries)})


def entry_json(entry: TraceEntry, number: str) -> dict:
    return {
        "id": entry.id, "event_id": entry.event_id, "event_number": number,
        "organization_id": entry.organization_id, "seq": entry.seq, "at": entry.at.isoformat(),
        "actor": {"type": entry.actor_type, "id": entry.actor_id, "label": entry.actor_label},
        "kind": entry.kind, "data": entry.data, "corrects_id": entry.corrects_id, "hash": entry.hash,
    }


class Hub:
    def __init__(self, session_factory: sessionmaker[Session], *, tail: bool):
        self.session_factory = session_factory
        self.tail = tail  # SQLite: writers are serialised, so reading by id order misses nothing
        self.subscribers: set[Subscriber] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self._last_id = 0
        self._stopping = False

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._pending = asyncio.Queue()
        if self.tail:
            self._last_id = await asyncio.to_thread(self._max_id)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        # A flag and a wake-up rather than cancel() alone: on Python 3.11 `wait_for` can
        # swallow a cancellation that races with its own timeout, and stop() would hang.
        self._stopping = True
        if self._task is None:
            return
        self._pending.put_nowait([])
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()

    def notify_threadsafe(self, ids: list[int]) -> None:
        """Called from any thread once entries are committed."""
        if self._loop is not None and self._pending is not None:
            self._loop.call_soon_threadsafe(self._pending.put_nowait, ids)

    def notify_changed_threadsafe(self, items: list[tuple[str, int]]) -> None:
        """Called from any thread once calls or the planning changed: staff screens read them again."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._fan_out_changed, items)

    def _fan_out_changed(self, items: list[tuple[str, int]]) -> None:
        for topic, organization_id in items:
            if topic == ACCESS_TOPIC:  # for the access watch, not for the screens
                continue
            message = {"type": "changed", "topic": topic, "organization_id": organization_id}
            for subscriber in list(self.subscribers):
                # On-call people see events, not the PC's call log or the whole planning.
                if subscriber.person_id is None and organization_id in subscriber.org_ids:
                    try:
                        subscriber.queue.put_nowait(message)
                    except asyncio.QueueFull:
                        subscriber.overflowed = True

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.add(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    async def _run(self) -> None:
        last_flush = 0.0
        while not self._stopping:
            try:
                ids = await asyncio.wait_for(self._pending.get(), SQLITE_TAIL_FALLBACK_S if self.tail else None)
            except TimeoutError:
                ids = []
            # Under load, what commits within MIN_INTERVAL_S goes out together: each console then gets
            # a message per interval, not one per commit. A quiet night's entry goes out at once.
            wait = MIN_INTERVAL_S - (self._loop.time() - last_flush)
            if wait > 0:
                await asyncio.sleep(wait)
            last_flush = self._loop.time()
            while not self._pending.empty():  # coalesce a burst into one read
                ids = ids + self._pending.get_nowait()
            if self._stopping:
                return
            try:
                messages = await asyncio.to_thread(self._load, ids)
            except Exception:
                log.exception("loading trace entries failed")
                continue
            if messages:
                await self._fan_out(messages)

    def _max_id(self) -> int:
        with self.session_factory() as session:
            return session.scalar(select(func.max(TraceEntry.id))) or 0

    def _load(self, ids: list[int]) -> list[dict]:
        with self.session_factory() as session:
            query = select(TraceEntry, Event.number).join(Event, Event.id == TraceEntry.event_id)
            if self.tail:
                query = query.where(TraceEntry.id > self._last_id)
            elif ids:
                query = query.where(TraceEntry.id.in_(ids))
            else:
                return []
            rows = session.execute(query.order_by(TraceEntry.id).limit(5000)).all()
            if rows and self.tail:
                self._last_id = rows[-1][0].id
            return [entry_json(entry, number) for entry, number in rows]

    async def _fan_out(self, messages: list[dict]) -> None:
        by_audience: dict[frozenset[int], Batch] = {}
        for subscriber in list(self.subscribers):
            if subscriber.person_id is None:
                batch = by_audience.get(subscriber.org_ids)
                if batch is None:
                    batch = by_audience[subscriber.org_ids] = Batch.of(
                        [m for m in messages if m["organization_id"] in subscriber.org_ids])
            else:
                batch = Batch.of(await self._theirs(subscriber, messages))
            if not batch.entries:
                continue
            try:
                subscriber.queue.put_nowait(batch)
            except asyncio.QueueFull:
                subscriber.overflowed = True  # the client reconnects and resumes from its last id

    async def _theirs(self, subscriber: Subscriber, messages: list[dict]) -> list[dict]:
        """Not filtered by organization: a person of the métropole follows the commune's events they were paged
        or informed for (`event_service.person_scope` decides, as for the event routes); one read a batch."""
        unseen = {m["event_id"] for m in messages} - subscriber.events_seen
        if unseen:
            # For good: what a person was notified of stays theirs to follow.
            subscriber.events_seen |= await asyncio.to_thread(self._visible_to, subscriber, unseen)
        return [m for m in messages if m["event_id"] in subscriber.events_seen]

    def _visible_to(self, subscriber: Subscriber, event_ids: set[int]) -> set[int]:
        assert subscriber.person_id is not None
        with self.session_factory() as session:
            return event_service.visible_to_person(db_session=session, person_id=subscriber.person_id,
                                                   org_ids=subscriber.org_ids, event_ids=event_ids)
