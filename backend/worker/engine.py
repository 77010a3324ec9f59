"""The worker: fire due escalation steps and drain the outbox, then sleep until the next due time.

Each piece of work runs in its own transaction and a failure never stops the loop. Work is
leased (`claimed_by`, `claim_until`): a worker that dies mid-step has its rows taken over
once the lease expires, so a crash loses nothing (see README, "Delivery after a crash").
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import transaction, utcnow
from backend.outbox import dispatch
from backend.outbox.models import Notification
from backend.pages import service as page_service
from backend.pages.models import Page
from backend.watch import service as watch_service
from backend.watch.models import WatchTurn
from backend.worker import metrics
from backend.worker.models import WorkerHeartbeat
from notifications.registry import ChannelRegistry

log = logging.getLogger("vigie.worker")

HEARTBEAT_EVERY_S = 1.0
# Re-planning the watch rows and looking for gaps is idempotent, so a plain timer is enough:
# the deadlines themselves are rows, and every planning change re-plans in its own transaction.
PLAN_EVERY_S = 600.0


class Worker:
    def __init__(self, *, session_factory: sessionmaker[Session], channels: ChannelRegistry,
                 lease_seconds: float = 30.0, max_sleep_seconds: float = 30.0, batch: int = 200,
                 max_attempts: int = 5, worker_id: str | None = None, sms_flood_limit: int = 8):
        self.session_factory = session_factory
        self.channels = channels
        self.lease = timedelta(seconds=lease_seconds)
        self.max_sleep = max_sleep_seconds
        self.batch = batch
        self.max_attempts = max_attempts
        self.sms_flood_limit = sms_flood_limit
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_heartbeat = 0.0
        self._last_plan = float("-inf")
        self.started_at = utcnow()
        self.cycles = 0

    # Lifecycle -------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="vigie-worker", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_forever(self) -> None:
        self._loop = asyncio.new_event_loop()
        log.info("worker %s started", self.worker_id)
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    sleep = self.run_once()
                except Exception:
                    log.exception("worker cycle failed")
                    sleep = 1.0
                if sleep > 0:
                    self._wake.wait(sleep)
        finally:
            self._loop.close()
            log.info("worker %s stopped", self.worker_id)

    # One cycle ---------------------------------------------------------------------------
    def run_once(self) -> float:
        """Do everything that is due now; return how long to sleep before the next due item."""
        self.cycles += 1
        # The outbox first: a new event's first message is what a woken worker is most often for.
        sent = self._drain_outbox()
        self._heartbeat()
        self._plan_watches()
        fired = self._fire_due_pages() + self._fire_due_watches()
        if fired:  # their messages go out in this cycle, not the next
            sent += self._drain_outbox()
        if sent >= self.batch or fired >= self.batch:
            return 0.0
        return self._seconds_until_next_due()

    def _fire_due(self, claim, step, what: str) -> int:
        """Lease due rows with `claim`, then run `step` on each in its own transaction."""
        now = utcnow()
        with transaction(self.session_factory) as session:
            claimed = claim(db_session=session, worker_id=self.worker_id, now=now, lease_until=now + self.lease,
                            limit=self.batch)
        for item in claimed:
            try:
                with transaction(self.session_factory) as session:
                    step(session, item)
            except Exception:
                log.exception("%s %s failed; its lease will expire", what, item)
        return len(claimed)

    def _fire_due_pages(self) -> int:
        def step(session, item) -> None:
            fired_at = utcnow()
            if page_service.step_due_page(db_session=session, page_id=item.page_id, worker_id=self.worker_id,
                                          now=fired_at, event_id=item.event_id):
                metrics.ESCALATION_LATENESS.observe(max((fired_at - item.due_at).total_seconds(), 0.0))
                metrics.STEPS.inc()

        return self._fire_due(page_service.claim_due, step, "escalation step")

    def _fire_due_watches(self) -> int:
        def step(session, item) -> None:
            watch_service.step(db_session=session, watch_id=item.watch_id, worker_id=self.worker_id, now=utcnow())

        return self._fire_due(watch_service.claim_due, step, "watch turn")

    def _plan_watches(self) -> None:
        if time.monotonic() - self._last_plan < PLAN_EVERY_S:
            return
        self._last_plan = time.monotonic()
        for job in (watch_service.plan_all, watch_service.report_all_gaps):
            try:
                with transaction(self.session_factory) as session:
                    job(db_session=session, now=utcnow())
            except Exception:
                log.exception("%s failed; next try in %.0f s", job.__name__, PLAN_EVERY_S)

    def _drain_outbox(self) -> int:
        now = utcnow()
        with transaction(self.session_factory) as session:
            attempts = dispatch.claim_due(db_session=session, worker_id=self.worker_id, now=now,
                                          lease_until=now + self.lease, limit=self.batch,
                                          sms_flood_limit=self.sms_flood_limit)
        if not attempts:
            return 0
        results = self._loop.run_until_complete(dispatch.send_all(self.channels, attempts))
        for _ in range(3):
            try:
                with transaction(self.session_factory) as session:
                    latencies = dispatch.record_results(db_session=session, worker_id=self.worker_id,
                                                        attempts=attempts, results=results, now=utcnow(),
                                                        max_attempts=self.max_attempts)
                for latency in latencies:
                    metrics.DISPATCH_LATENCY.observe(latency)
                break
            except OperationalError:  # e.g. a deadlock victim on PostgreSQL: the results are still here
                log.warning("recording delivery results failed, retrying", exc_info=True)
                time.sleep(0.05)
        return len(attempts)

    def _seconds_until_next_due(self) -> float:
        now = utcnow()
        candidates = []
        with transaction(self.session_factory) as session:
            for model, pending in ((Page, Page.status == page_service.ACTIVE),
                                   (Notification, Notification.status == "queued"),
                                   (WatchTurn, WatchTurn.status.in_(("scheduled", "asked")))):
                free = (model.claim_until.is_(None)) | (model.claim_until < now)
                candidates.append(session.scalar(select(func.min(model.due_at)).where(pending, free)))
                # Work leased by another worker comes back to us if its lease runs out.
                candidates.append(session.scalar(select(func.min(model.claim_until)).where(pending, ~free)))
        waits = [(c - now).total_seconds() for c in candidates if c is not None]
        return min([self.max_sleep, *[max(w, 0.0) for w in waits]])

    def _heartbeat(self) -> None:
        if time.monotonic() - self._last_heartbeat < HEARTBEAT_EVERY_S:
            return
        self._last_heartbeat = time.monotonic()
        try:
            with transaction(self.session_factory) as session:
                row = session.get(WorkerHeartbeat, self.worker_id)
                now = utcnow()
                if row is None:
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
    return max(((now or utcnow()) - latest).total_seconds(), 0.0)
