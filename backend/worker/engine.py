"""The worker: escalation steps on one thread, the outbox on another, each sleeping until its next due row.

The two halves never wait for each other: a step fires on time while messages are in flight,
and a message leaves while a step is written. Due steps fire a few per short transaction, a
failing one is retried alone, and a failure never stops a loop. Work is leased (`claimed_by`,
`claim_until`): a worker that dies has its rows taken over once the lease expires, so a crash
loses nothing (README, "Delivery after a crash"). What is due is decided by the database's
clock, never this host's.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import db_now, transaction
from backend.pages import service as page_service
from backend.pages.models import Page
from backend.privacy import retention
from backend.watch import service as watch_service
from backend.watch.models import WatchStatus, WatchTurn
from backend.webhooks.deliverer import WebhookDeliverer
from backend.webhooks.destinations import Destinations
from backend.worker import faults, metrics
from backend.worker.dispatcher import Dispatcher
from backend.worker.due import seconds_until_each_due
from backend.worker.models import WorkerHeartbeat
from notifications.base import ChannelKind
from notifications.registry import ChannelRegistry

log = logging.getLogger("vigie.worker")

HEARTBEAT_EVERY_S = 1.0
# Re-planning the watch rows and looking for gaps is idempotent, so a plain timer is enough:
# the deadlines themselves are rows, and every planning change re-plans in its own transaction.
PLAN_EVERY_S = 600.0
PURGE_EVERY_S = 3600.0  # personal data past its retention (backend/privacy/retention.py): idempotent too
STEP_GROUP_S = 0.05
PREPARE_AHEAD = 8  # steps whose rows are read together (a group does ~10–20 in its 50 ms)


class Worker:
    def __init__(self, *, session_factory: sessionmaker[Session], channels: ChannelRegistry,
                 lease_seconds: float = 30.0, max_sleep_seconds: float = 30.0, batch: int = 200,
                 max_attempts: int = 5, worker_id: str | None = None, sms_flood_limit: int = 8,
                 send_limits: dict[ChannelKind, int] | None = None, send_deadline_s: float | None = None,
                 read_factory: sessionmaker[Session] | None = None, retention_months: int = 12,
                 webhook_deadline_s: float = 10.0, webhook_networks: list[str] | tuple[str, ...] = ()):
        self.session_factory = session_factory
        self.retention_months = retention_months
        # Looking for due work only reads: on SQLite it takes no write turn from the requests.
        self.read_factory = read_factory or session_factory
        self.channels = channels
        self.lease = timedelta(seconds=lease_seconds)
        self.max_sleep = max_sleep_seconds
        self.batch = batch
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.dispatcher = Dispatcher(session_factory=session_factory, channels=channels, worker_id=self.worker_id,
                                     lease=self.lease, max_sleep_s=max_sleep_seconds, max_attempts=max_attempts,
                                     sms_flood_limit=sms_flood_limit, limits=send_limits,
                                     deadline_s=send_deadline_s, read_factory=read_factory)
        # Webhooks out on a thread of their own: a receiver that hangs holds neither steps nor messages.
        # Set while due steps are being fired: the webhooks give way meanwhile (one interpreter and, on
        # SQLite, one writer: a receiver's copy of the trace comes after the escalation itself).
        self.escalating = threading.Event()
        self.webhooks = WebhookDeliverer(session_factory=session_factory, read_factory=read_factory,
                                         escalating=self.escalating,
                                         worker_id=self.worker_id, max_sleep_s=max_sleep_seconds,
                                         deadline_s=webhook_deadline_s,
                                         destinations=Destinations(webhook_networks))
        self._wake = threading.Event()
        self._sleeping_until: datetime | None = None  # database time; None while a cycle runs
        self._due = (True, True)  # (pages, watches) due at the last look
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_heartbeat = 0.0
        self._last_plan = float("-inf")
        self._last_purge = float("-inf")
        self.started_at: datetime | None = None
        self.cycles = 0

    # Lifecycle -------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()
        self.dispatcher.wake()
        self.webhooks.wake()

    def wake_steps_before(self, due_at: datetime) -> None:
        """A committed change made a step due at `due_at`: look again if this loop would sleep past it."""
        until = self._sleeping_until
        if until is None or due_at < until:
            self._wake.set()

    def start(self) -> None:
        started = threading.Event()
        self._threads = [threading.Thread(target=self.run_forever, name="vigie-steps", daemon=True),
                         threading.Thread(target=self.dispatcher.run_forever, args=(started,),
                                          name="vigie-outbox", daemon=True)]
        for thread in self._threads:
            thread.start()
        started.wait(10)
        self._threads.append(self.webhooks.start())

    @property
    def running(self) -> bool:
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self.dispatcher.stop()
        self.webhooks.stop(timeout)
        for thread in self._threads:
            thread.join(timeout)

    def run_forever(self) -> None:
        log.info("worker %s started", self.worker_id)
        while not self._stop.is_set():
            self._wake.clear()
            self._sleeping_until = None
            try:
                sleep = self.run_once()
            except Exception:
                log.exception("worker cycle failed")
                sleep = 1.0
            if sleep > 0:
                self._wake.wait(sleep)
        log.info("worker %s stopped", self.worker_id)

    # One cycle of the steps ----------------------------------------------------------------
    def run_once(self) -> float:
        """Fire every step and watch turn due now; return how long to sleep before the next one."""
        self.cycles += 1
        self._heartbeat()
        self._plan_watches()
        self._purge_expired()
        # Woken by every commit that makes work: most make none for this half (a new page is due
        # minutes later), so look before leasing.
        wait = self._seconds_until_next_due()
        if wait > 0:
            self.escalating.clear()
            return wait
        self.escalating.set()
        # Only what is due is leased: a lease is a write transaction (on SQLite, a write turn).
        pages_due, watches_due = self._due
        fired = (self._fire_due_pages() if pages_due else 0) + (self._fire_due_watches() if watches_due else 0)
        return 0.0 if fired else self._seconds_until_next_due()

    def _fire_due(self, claim, step, what: str, prepare=None) -> int:
        """Lease due rows with `claim` and run `step` on each, a few per short transaction.

        The first group shares the lease's transaction: one write turn fewer per cycle, and a
        worker killed before that commit leaves not even a lease behind.
        """
        leased: list = []

        def lease(session: Session) -> list:
            now = db_now(session)
            leased[:] = claim(db_session=session, worker_id=self.worker_id, now=now,
                              lease_until=now + self.lease, limit=self.batch)
            return leased

        tried, failed = self._step_together(step, lease=lease, prepare=prepare)
        if failed:  # the failing step took the lease with it: lease again, then each on its own
            with transaction(self.session_factory) as session:
                lease(session)
            for item in leased:
                self._step_alone(item, step, what)
            return len(leased)
        pending = leased[tried:]
        while pending:
            tried, failed = self._step_together(step, items=pending, prepare=prepare)
            if failed:  # the failing step took the group's work with it: each again on its own
                for item in pending[:tried]:
                    self._step_alone(item, step, what)
            del pending[:tried]
        return len(leased)

    def _step_together(self, step, *, items: list | None = None, lease=None, prepare=None) -> tuple[int, bool]:
        """Run the first of `items` (or of what `lease` leases, in the same transaction) in one
        transaction for at most STEP_GROUP_S: (how many tried, failed).

        A transaction per step took a write turn per step: on a storm night the turns, not the
        steps, made them late. The group stays short because it holds the rows (and, on SQLite,
        the write lock) that requests wait for. `prepare(session, items)` reads what the next
        PREPARE_AHEAD steps need, in a few statements rather than a few each.
        """
        began = time.monotonic()
        tried = 0
        try:
            with transaction(self.session_factory) as session:
                todo: list = lease(session) if lease is not None else (items or [])
                clock = None
                for item in todo:
                    if prepare is not None and tried % PREPARE_AHEAD == 0:
                        prepare(session, todo[tried:tried + PREPARE_AHEAD])
                    tried += 1
                    # Each step is stamped with the time it fires: the database's clock, read once
                    # per group and moved on by this host's monotonic clock (the group is short).
                    if clock is None:
                        session.info.pop("db_now", None)
                        clock = (db_now(session), time.monotonic())
                    else:
                        session.info["db_now"] = clock[0] + timedelta(seconds=time.monotonic() - clock[1])
                    step(session, item)
                    if time.monotonic() - began >= STEP_GROUP_S:
                        break
        except Exception:
            return tried, True
        if tried:
            faults.hit("stepped")
        return tried, False

    def _step_alone(self, item, step, what: str) -> None:
        try:
            with transaction(self.session_factory) as session:
                step(session, item)
            faults.hit("stepped")
        except Exception:
            log.exception("%s %s failed; its lease will expire", what, item)

    def _fire_due_pages(self) -> int:
        def step(session, item) -> None:
            if page_service.step_due_page(db_session=session, page_id=item.page_id, worker_id=self.worker_id,
                                          event_id=item.event_id):
                fired_at = db_now(session)
                metrics.ESCALATION_LATENESS.observe(max((fired_at - item.due_at).total_seconds(), 0.0))
                metrics.STEPS.inc()

        def prepare(session, items) -> None:
            page_service.lock_due_pages(db_session=session, items=items)

        return self._fire_due(page_service.claim_due, step, "escalation step", prepare)

    def _fire_due_watches(self) -> int:
        def step(session, item) -> None:
            watch_service.step(db_session=session, watch_id=item.watch_id, worker_id=self.worker_id,
                               now=db_now(session))

        return self._fire_due(watch_service.claim_due, step, "watch turn")

    def _plan_watches(self) -> None:
        if time.monotonic() - self._last_plan < PLAN_EVERY_S:
            return
        self._last_plan = time.monotonic()
        for job in (watch_service.plan_all, watch_service.report_all_gaps):
            try:
                with transaction(self.session_factory) as session:
                    job(db_session=session, now=db_now(session))
            except Exception:
                log.exception("%s failed; next try in %.0f s", job.__name__, PLAN_EVERY_S)

    def _purge_expired(self) -> None:
        if time.monotonic() - self._last_purge < PURGE_EVERY_S:
            return
        self._last_purge = time.monotonic()
        try:
            purged = retention.purge(self.session_factory, default_months=self.retention_months)
            if any(purged.counts.values()):
                log.info("personal data past its retention deleted: %s", purged.counts)
            if purged.more:  # a backlog (the first run on an old database): the rest in a second
                self._last_purge = time.monotonic() - PURGE_EVERY_S + 1.0
        except Exception:
            log.exception("retention purge failed; next try in %.0f s", PURGE_EVERY_S)

    def _seconds_until_next_due(self) -> float:
        with self.read_factory() as session:
            pages, watches = seconds_until_each_due(session, [
                (Page, Page.status == page_service.ACTIVE),
                (WatchTurn, WatchTurn.status.in_((WatchStatus.SCHEDULED, WatchStatus.ASKED)))], self.max_sleep)
            now = db_now(session)  # read with the earliest due times
        self._due = (pages <= 0, watches <= 0)
        wait = min(pages, watches)
        self._sleeping_until = now + timedelta(seconds=wait)
        return wait

    def _heartbeat(self) -> None:
        if time.monotonic() - self._last_heartbeat < HEARTBEAT_EVERY_S:
            return
        self._last_heartbeat = time.monotonic()
        if any(thread.ident is not None and not thread.is_alive() for thread in self._threads):
            log.error("a worker thread died: no heartbeat, /healthz will say so")
            return
        try:
            with transaction(self.session_factory) as session:
                now = db_now(session)
                row = session.get(WorkerHeartbeat, self.worker_id)
                if row is None:
                    self.started_at = self.started_at or now
                    session.add(WorkerHeartbeat(worker_id=self.worker_id, started_at=self.started_at,
                                                last_cycle_at=now))
                else:
                    row.last_cycle_at = now
        except Exception:
            log.warning("heartbeat failed", exc_info=True)


def last_cycle_age(session: Session, now: datetime | None = None) -> float | None:
    latest = session.scalar(select(func.max(WorkerHeartbeat.last_cycle_at)))
    if latest is None:
        return None
    # A heartbeat committed between the caller's `now` and this read would make a negative age.
    return max(((now or db_now(session)) - latest).total_seconds(), 0.0)
