"""The outbox half of a worker: messages go out concurrently and each result is written as it comes.

- Each channel kind has its own number of messages in flight (`limits`); the dispatcher leases
  no more due rows of a kind than it has room to send now, so a leased row never waits for a
  slot while its lease runs out.
- Every send has one deadline (`deadline_s`, shorter than the lease): a channel that does not
  answer is cut off, and the SMS channel spends that deadline across its providers.
- Results are recorded as they arrive, a few at a time, by one database thread, and a message
  keeps its slot until its result is written: a worker killed at any instant resends at most the
  messages in flight at that instant (at most the channel's limit).
- Escalation steps are not here (the worker's other loop, `engine.py`): a slow provider never delays a step.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import db_now, transaction
from backend.outbox import dispatch
from backend.outbox.dispatch import Attempt
from backend.outbox.models import Notification, NotificationStatus
from backend.worker import faults, metrics
from backend.worker.due import seconds_until_due
from notifications.base import ChannelKind, Outcome, SendResult
from notifications.registry import ChannelRegistry

log = logging.getLogger("vigie.dispatcher")

DEFAULT_LIMITS = {ChannelKind.PUSH: 32, ChannelKind.FCM: 32, ChannelKind.SMS: 16, ChannelKind.EMAIL: 8}
RECORD_GROUP = 50  # results written in one transaction at most
# Under a stream of commits each making a message, one lease per commit would spend the worker's
# CPU on leasing: wakes that come sooner than this after the last lease are served together.
MIN_CLAIM_GAP_S = 0.02
RECORD_GAP_S = 0.02
# PostgreSQL: how soon to look again at due rows another transaction was leasing (a lease rolled
# back sends no wake-up; every other way for work to appear does).
LOCKED_ELSEWHERE_S = 1.0


class Dispatcher:
    def __init__(self, *, session_factory: sessionmaker[Session], channels: ChannelRegistry, worker_id: str,
                 lease: timedelta, max_sleep_s: float, max_attempts: int, sms_flood_limit: int,
                 limits: dict[ChannelKind, int] | None = None, deadline_s: float | None = None,
                 read_factory: sessionmaker[Session] | None = None):
        self.session_factory = session_factory
        # Looking for due messages only reads: on SQLite it takes no write turn from the requests.
        self.read_factory = read_factory or session_factory
        self.channels = channels
        self.worker_id = worker_id
        self.lease = lease
        self.max_sleep_s = max_sleep_s
        self.max_attempts = max_attempts
        self.sms_flood_limit = sms_flood_limit
        self.limits = {kind: (limits or DEFAULT_LIMITS).get(kind, 4) for kind in ChannelKind}
        # Room left in the lease after the send, to record the result before anyone takes it over.
        self.deadline_s = deadline_s or max(min(20.0, lease.total_seconds() * 0.6), 0.5)
        self.in_flight = {kind: 0 for kind in ChannelKind}
        # True when rows may wait for a free slot (the last lease was full or a kind had no room):
        # only then does a send ending make work.
        self._room_bound = False
        self.cycles = 0
        self.sent = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        # Bound to the loop on first use (Python ≥ 3.10): safe to create before the loop runs.
        self._woken = asyncio.Event()
        self._stopping = False
        self._db = ThreadPoolExecutor(1, thread_name_prefix="vigie-outbox-db")
        # SQLite has one writer: a read that finds nothing due spares a write turn the requests
        # wait for. PostgreSQL leases with SKIP LOCKED beside the requests: a read first is only
        # one more round trip (and, with two workers woken by every message, it was most of the cost).
        self._look_first = session_factory.kw["bind"].dialect.name == "sqlite"
        self._tasks: set[asyncio.Task] = set()

    # Called from any thread -------------------------------------------------------------------
    def wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._woken.set)
            except RuntimeError:  # the loop closed meanwhile
                pass

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    def run_forever(self, started: threading.Event | None = None) -> None:
        asyncio.run(self._main(started))

    # The loop ---------------------------------------------------------------------------------
    async def _main(self, started: threading.Event | None) -> None:
        self._loop = asyncio.get_running_loop()
        self._woken = asyncio.Event()  # a fresh one per run: an Event belongs to the loop that first waits on it
        self._results: asyncio.Queue[tuple[Attempt, SendResult, float, asyncio.Future]] = asyncio.Queue()
        recorder = asyncio.create_task(self._record_forever())
        if started is not None:
            started.set()
        last_claim = float("-inf")
        while not self._stopping:
            gap = last_claim + MIN_CLAIM_GAP_S - time.monotonic()
            if gap > 0:
                await asyncio.sleep(gap)
            self._woken.clear()
            self.cycles += 1
            last_claim = time.monotonic()
            try:
                attempts, wait = await self._run_in_db(self._claim)
            except Exception:
                log.exception("claiming due messages failed")
                attempts, wait = [], 1.0
            for attempt in attempts:
                self._start(attempt)
            if attempts and wait <= 0 and any(self.in_flight[k] < self.limits[k] for k in ChannelKind):
                continue  # the lease was full: there may be more due right now
            try:
                await asyncio.wait_for(self._woken.wait(), wait)
            except TimeoutError:
                pass
        # Stopping: let the messages in flight finish (each has its deadline) and be recorded.
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.deadline_s + 1)
        await self._results.join()
        recorder.cancel()
        self._db.shutdown(wait=True)

    def _start(self, attempt: Attempt) -> None:
        kind = attempt.message.channel
        self.in_flight[kind] += 1
        task = asyncio.create_task(self._send(attempt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, attempt: Attempt) -> None:
        # The slot is held until the result is written: what is "in flight" is what a kill would resend.
        kind = attempt.message.channel
        try:
            result = await dispatch.send(self.channels, attempt, deadline_s=self.deadline_s)
            answered = time.monotonic()
            faults.hit("handed_off")
            recorded = self._loop.create_future()
            self._results.put_nowait((attempt, result, answered, recorded))
            await recorded
        finally:
            self.in_flight[kind] -= 1
            if self._room_bound:
                self._woken.set()  # a slot is free: lease what waits for it

    async def _record_forever(self) -> None:
        while True:
            group = [await self._results.get()]
            if sum(self.in_flight.values()) > 1:
                # Other sends may answer in a moment: record them together, in one write turn.
                # Their slots stay taken meanwhile, so a kill still resends only what is in flight.
                await asyncio.sleep(RECORD_GAP_S)
            while len(group) < RECORD_GROUP and not self._results.empty():
                group.append(self._results.get_nowait())
            try:
                await self._run_in_db(self._record, [(attempt, result, answered) for attempt, result, answered, _
                                                     in group])
            except Exception:
                log.exception("recording %d delivery results failed; their lease will expire", len(group))
            finally:
                for *_, recorded in group:
                    if not recorded.done():
                        recorded.set_result(None)
                    self._results.task_done()
                # A retry or a fallback recorded here is new due work (a held SMS pulled forward, a
                # message due again in a few seconds): look again rather than sleep past it.
                if any(result.outcome in (Outcome.RETRY, Outcome.FAILED) for _, result, _, _ in group):
                    self._woken.set()

    async def _run_in_db(self, function, *args):
        return await self._loop.run_in_executor(self._db, function, *args)

    # Database work (one thread) -----------------------------------------------------------
    def _claim(self) -> tuple[list[Attempt], float]:
        """Lease what can be sent now; say how long to wait when nothing more is due."""
        room = {kind: self.limits[kind] - self.in_flight[kind] for kind in ChannelKind}
        kinds = [kind.value for kind, free in room.items() if free > 0]
        self._room_bound = len(kinds) < len(room)
        if not kinds:
            return [], self.max_sleep_s
        pending = (Notification.status == NotificationStatus.QUEUED) & Notification.channel.in_(kinds)
        if self._look_first:
            # Woken by every commit that may make work (an answer, a note): most make no message, so
            # look before leasing, as the steps do; a storm of answers then costs no worker writes.
            with self.read_factory() as session:
                wait = seconds_until_due(session, Notification, pending, self.max_sleep_s)
            if wait > 0:
                return [], wait
        with transaction(self.session_factory) as session:
            now = db_now(session)
            # One statement for every kind with room; a kind leased beyond its room gives the extra back.
            asked = sum(max(f, 0) for f in room.values())
            attempts = dispatch.claim_due(db_session=session, worker_id=self.worker_id, now=now,
                                          lease_until=now + self.lease, limit=asked,
                                          channels=kinds, sms_flood_limit=self.sms_flood_limit)
            kept, extra = [], []
            for attempt in attempts:
                kind = attempt.message.channel
                (kept if room[kind] > 0 else extra).append(attempt)
                room[kind] -= 1
            if extra:
                dispatch.release(db_session=session, worker_id=self.worker_id,
                                 notification_ids=[a.notification_id for a in extra])
            # A kind without room is waited for by its slots (a send ending wakes the loop), not here.
            # Fewer than asked: what was due is leased, so sleep until the next one (a send ending,
            # or a commit making work, wakes the loop sooner) instead of leasing again at once.
            full = len(attempts) >= asked
            self._room_bound = self._room_bound or full or bool(extra)
            wait = 0.0
            if not full and not self._look_first:
                # PostgreSQL: in the lease's own transaction (each statement sees what is committed,
                # and the rows just leased as taken): one transaction per wake, not three.
                wait = seconds_until_due(session, Notification, pending, self.max_sleep_s)
                if wait <= 0 and not extra:
                    # Due and free as last committed, yet not leased: another transaction holds them
                    # (the other worker, leasing them this instant). Looking again at once only
                    # finds them leased; its commit, or any commit making work, wakes this loop.
                    wait = LOCKED_ELSEWHERE_S
        if kept:
            faults.hit("claimed")
        if full or not self._look_first:
            return kept, wait
        # Read once the lease is committed, out of the write turn: it sees the rows just leased as taken.
        with self.read_factory() as session:
            return kept, seconds_until_due(session, Notification, pending, self.max_sleep_s)

    def _record(self, group: list[tuple[Attempt, SendResult, float]]) -> None:
        attempts = [a for a, _, _ in group]
        results = [r for _, r, _ in group]
        for retry in range(3):
            try:
                with transaction(self.session_factory) as session:
                    ages = [time.monotonic() - answered for _, _, answered in group]
                    now = db_now(session)  # read after the ages: a hand-off is never stamped early
                    latencies = dispatch.record_results(db_session=session, worker_id=self.worker_id,
                                                        attempts=attempts, results=results, now=now,
                                                        max_attempts=self.max_attempts, ages_s=ages,
                                                        sms_flood_limit=self.sms_flood_limit)
                break
            except OperationalError:  # e.g. a deadlock victim on PostgreSQL: the results are still here
                if retry == 2:
                    raise
                log.warning("recording delivery results failed, retrying", exc_info=True)
                time.sleep(0.05)
        self.sent += len(group)
        for latency in latencies:
            metrics.DISPATCH_LATENCY.observe(latency)
