"""The webhook half of a worker: signed POSTs to the communes' receivers, retried from their rows.

It runs on a thread and an event loop of its own, so a receiver that hangs never delays an
escalation step or a message to a person. Each request has one deadline; at most `limit`
requests are in flight, and at most `per_subscription` to one receiver, so one that hangs holds
its own slots only. Deliveries are leased a few dozen per receiver at a time (a claim is a write),
and their results written together. Like the outbox, a delivery is leased before it leaves and its
result is written after: a worker killed meanwhile leaves the lease to expire, and the delivery
leaves again with the same id (at least once; receivers drop what they already took by `id`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import timedelta

import httpx
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import db_now, transaction
from backend.webhooks import service, signing
from backend.webhooks.destinations import Destinations, guarded_transport
from backend.webhooks.models import WebhookDelivery
from backend.worker.due import seconds_until_due

log = logging.getLogger("vigie.webhooks")

DEFAULT_DEADLINE_S = 10.0
DEFAULT_LIMIT = 32  # requests in flight at once, every receiver together
PER_SUBSCRIPTION = 4  # requests in flight at once to one receiver
# Leased ahead per receiver, so that a storm's deliveries are claimed a few dozen per write (each
# claim takes SQLite's write turn from the escalation steps), and claimed again when half have left.
LEASED_PER_SUBSCRIPTION = 32
RECORD_GROUP = 50  # outcomes written in one transaction at most
RECORD_GAP_S = 0.02
USER_AGENT = "Vigie-Webhooks/1"
GIVE_WAY_S = 1.0  # the longest a delivery waits for due steps to be fired, each time it would go
PURGE_EVERY_S = 3600.0  # finished deliveries past their keeping time (idempotent: a plain timer is enough)


class WebhookDeliverer:
    def __init__(self, *, session_factory: sessionmaker[Session], worker_id: str, max_sleep_s: float,
                 deadline_s: float = DEFAULT_DEADLINE_S, limit: int = DEFAULT_LIMIT,
                 per_subscription: int = PER_SUBSCRIPTION, read_factory: sessionmaker[Session] | None = None,
                 destinations: Destinations | None = None, escalating: threading.Event | None = None):
        self.session_factory = session_factory
        self.read_factory = read_factory or session_factory
        self.worker_id = worker_id
        self.max_sleep_s = max_sleep_s
        self.deadline_s = deadline_s
        self.limit = limit
        self.per_subscription = per_subscription
        self.leased_per_subscription = max(per_subscription, LEASED_PER_SUBSCRIPTION)
        # The lease outlasts the wait of the last one leased behind a receiver that hangs (each of its
        # requests cut off at the deadline), its request and its recording: nobody takes a delivery
        # still waiting here. A worker killed meanwhile: its deliveries leave again when it expires.
        behind = -(-self.leased_per_subscription // per_subscription)
        self.lease = timedelta(seconds=deadline_s * (behind + 1) + 5)
        self._sending = asyncio.Semaphore(limit)  # made again on the thread's own loop
        self._receivers: dict[int, asyncio.Semaphore] = {}
        self.destinations = destinations or Destinations()
        self.escalating = escalating
        self.in_flight: dict[int, int] = {}
        self.delivered = 0
        self.looks = 0  # times the loop looked for due deliveries
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken = asyncio.Event()
        self._stopping = False
        self._tasks: set[asyncio.Task] = set()
        self._thread: threading.Thread | None = None
        self._last_purge = float("-inf")

    def wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._woken.set)
            except RuntimeError:
                pass

    def start(self) -> threading.Thread:
        started = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main(started)), name="vigie-webhooks",
                                        daemon=True)
        self._thread.start()
        started.wait(10)
        return self._thread

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)

    async def _main(self, started: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._woken = asyncio.Event()
        self._sending = asyncio.Semaphore(self.limit)
        self._results: asyncio.Queue[tuple[service.Outcome, asyncio.Future]] = asyncio.Queue()
        recorder = asyncio.create_task(self._record_forever())
        # One client for every delivery: connections to a receiver are kept and reused. Straight to
        # the receiver (no proxy from the environment): the destination guard checks the address
        # Vigie itself connects to.
        async with httpx.AsyncClient(timeout=httpx.Timeout(self.deadline_s), follow_redirects=False,
                                     headers={"user-agent": USER_AGENT}, trust_env=False,
                                     transport=guarded_transport(self.destinations)) as client:
            started.set()
            while not self._stopping:
                self._woken.clear()
                if time.monotonic() - self._last_purge >= PURGE_EVERY_S:
                    self._last_purge = time.monotonic()
                    await asyncio.to_thread(self._purge)
                await self._give_way()
                try:
                    shipments, wait = await asyncio.to_thread(self._claim)
                except Exception:
                    log.exception("claiming due webhook deliveries failed")
                    shipments, wait = [], 1.0
                for shipment in shipments:
                    self.in_flight[shipment.subscription_id] = self.in_flight.get(shipment.subscription_id, 0) + 1
                    task = asyncio.create_task(self._deliver(client, shipment))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if shipments and wait <= 0:
                    continue
                try:
                    await asyncio.wait_for(self._woken.wait(), wait)
                except TimeoutError:
                    pass
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=self.deadline_s + 2)
        recorder.cancel()

    async def _record_forever(self) -> None:
        # Results that arrive together are written in one transaction: on SQLite each write takes
        # a turn the escalation steps also wait for.
        while True:
            group = [await self._results.get()]
            if sum(self.in_flight.values()) > 1:
                await asyncio.sleep(RECORD_GAP_S)
            while len(group) < RECORD_GROUP and not self._results.empty():
                group.append(self._results.get_nowait())
            await self._give_way()
            try:
                await asyncio.to_thread(self._record, [outcome for outcome, _ in group])
            except Exception:
                log.exception("recording %d webhook deliveries failed; their lease will expire", len(group))
            finally:
                for _, recorded in group:
                    if not recorded.done():
                        recorded.set_result(None)

    async def _deliver(self, client: httpx.AsyncClient, shipment: service.Shipment) -> None:
        receiver = self._receivers.setdefault(shipment.subscription_id, asyncio.Semaphore(self.per_subscription))
        try:
            await self._give_way()
            async with receiver, self._sending:
                outcome = await self._post(client, shipment)
        finally:
            # Its place is free once the receiver answered: the result is written with others.
            left = self.in_flight.get(shipment.subscription_id, 1) - 1
            if left:
                self.in_flight[shipment.subscription_id] = left
            else:
                self.in_flight.pop(shipment.subscription_id, None)
                self._receivers.pop(shipment.subscription_id, None)
            if left <= self.leased_per_subscription // 2:
                self._woken.set()  # room to lease again for this receiver
        recorded = asyncio.get_running_loop().create_future()
        self._results.put_nowait((outcome, recorded))
        await recorded

    async def _give_way(self) -> None:
        """While the worker fires due steps, wait (at most GIVE_WAY_S): they come first."""
        waited = 0.0
        while self.escalating is not None and self.escalating.is_set() and waited < GIVE_WAY_S:
            await asyncio.sleep(0.02)
            waited += 0.02

    async def _post(self, client: httpx.AsyncClient, shipment: service.Shipment) -> service.Outcome:
        timestamp = str(int(time.time()))
        headers = {"content-type": "application/json", "x-vigie-delivery": str(shipment.delivery_id),
                   "x-vigie-timestamp": timestamp,
                   "x-vigie-signature": signing.signature(shipment.secret, timestamp, shipment.body)}
        if shipment.event_id is not None:
            headers["x-vigie-event-id"] = str(shipment.event_id)
        try:
            # One deadline for the whole exchange (httpx's is per read): a receiver trickling its
            # answer is cut off too. Its body is never read: only the status counts.
            async with asyncio.timeout(self.deadline_s):
                async with client.stream("POST", shipment.url, content=shipment.body, headers=headers) as response:
                    code = response.status_code
                    retry_after = _retry_after(response.headers.get("retry-after")) if code in (429, 503) else None
        except TimeoutError:
            return service.Outcome(shipment.delivery_id, None, f"pas de réponse en {self.deadline_s:g} s")
        except httpx.HTTPError as exc:
            return service.Outcome(shipment.delivery_id, None, f"{type(exc).__name__}: {exc}"[:300])
        except Exception as exc:  # a bug here must not lose the delivery: it is retried
            log.exception("webhook delivery %s raised", shipment.delivery_id)
            return service.Outcome(shipment.delivery_id, None, f"{type(exc).__name__}")
        return service.Outcome(shipment.delivery_id, code, None if 200 <= code < 300 else f"HTTP {code}", retry_after)

    def _claim(self) -> tuple[list[service.Shipment], float]:
        room = self.limit * self.leased_per_subscription // self.per_subscription - sum(self.in_flight.values())
        if room <= 0:
            return [], self.max_sleep_s  # a delivery ending wakes the loop
        pending = service.pending_clause()
        self.looks += 1
        with self.read_factory() as session:
            wait = seconds_until_due(session, WebhookDelivery, pending, self.max_sleep_s)
        if wait > 0:
            return [], wait
        with transaction(self.session_factory) as session:
            now = db_now(session)
            shipments = service.claim_due(db_session=session, worker_id=self.worker_id, now=now,
                                          lease_until=now + self.lease, limit=room,
                                          per_subscription=self.leased_per_subscription,
                                          busy=self._refilling())
        if len(shipments) >= room:
            return shipments, 0.0
        with self.read_factory() as session:
            wait = seconds_until_due(session, WebhookDelivery, pending, self.max_sleep_s)
        if wait <= 0:
            # What is still due waits for a receiver's slot: a delivery ending wakes the loop.
            wait = self.max_sleep_s if shipments or self.in_flight else 0.05
        return shipments, wait

    def _refilling(self) -> dict[int, int]:
        """In flight per receiver, those still more than half leased counted full: leased again by dozens."""
        half = self.leased_per_subscription // 2
        return {sid: (n if n <= half else self.leased_per_subscription) for sid, n in self.in_flight.items()}

    def _purge(self) -> None:
        try:
            with transaction(self.session_factory) as session:
                service.purge_finished(db_session=session, now=db_now(session))
        except Exception:
            log.exception("purging old webhook deliveries failed; next try in %.0f s", PURGE_EVERY_S)

    def _record(self, outcomes: list[service.Outcome]) -> None:
        for retry in range(3):
            try:
                with transaction(self.session_factory) as session:
                    service.record(db_session=session, worker_id=self.worker_id, outcomes=outcomes,
                                   now=db_now(session))
                break
            except OperationalError:  # e.g. a deadlock victim on PostgreSQL: the outcomes are still here
                if retry == 2:
                    raise
                time.sleep(0.05)
        self.delivered += sum(1 for o in outcomes if o.status_code is not None and 200 <= o.status_code < 300)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
