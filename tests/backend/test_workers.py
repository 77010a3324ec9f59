"""Several workers on one database never hand the same notification to a provider twice."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from backend.db import make_engine, make_session_factory, transaction
from backend.outbox.models import Notification
from backend.pages.models import Page
from backend.trace.models import TraceEntry
from backend.worker.engine import Worker
from notifications.base import ChannelKind
from tests.conftest import ON_POSTGRES
from tests.factories import build_world, open_events
from tests.smoke.harness import wait_until

PAGES = 500 if ON_POSTGRES else 200  # 5,000 hand-offs by three workers: enough to meet every race
WORKERS = 3


def test_concurrent_workers_send_each_notification_once(runtime, settings, recording_channels):
    factory = runtime.session_factory
    world = build_world(factory, ack_timeout_s=1)
    open_events(factory, world, PAGES, severity=2)
    engines = [make_engine(settings.sqlalchemy_url) for _ in range(WORKERS)]
    workers = []
    for engine in engines:
        worker_factory = make_session_factory(engine)
        worker_factory.configure(info=dict(runtime.session_factory.kw["info"], read_bind=None))
        workers.append(Worker(session_factory=worker_factory, channels=recording_channels, batch=50,
                              max_sleep_seconds=0.2, lease_seconds=30, sms_flood_limit=10**9))
    for worker in workers:
        worker.start()
    try:
        def finished():
            with transaction(factory) as session:
                active = session.scalar(select(func.count(Page.id)).where(Page.status == "active"))
                queued = session.scalar(select(func.count(Notification.id)).where(Notification.status == "queued"))
                return active == 0 and queued == 0

        wait_until(finished, timeout=240, interval=0.5, what="every page to run its whole chain")
    finally:
        for worker in workers:
            worker.stop()
        for engine in engines:
            engine.dispose()

    handed = Counter(m.notification_id for m in recording_channels.get(ChannelKind.SMS).sent)
    with transaction(factory) as session:
        rows = session.scalar(select(func.count(Notification.id)).where(Notification.channel == "sms",
                                                                    Notification.status == "delivered"))
    with transaction(factory) as session:
        steps = Counter(session.scalars(select(TraceEntry.event_id).where(TraceEntry.kind == "page.notify")))
        unreached = session.scalar(select(func.count(Page.id)).where(Page.status == "unreached"))
    # 3 technicians then 2 cadres, two rounds: every step exactly once on every page.
    assert set(steps.values()) == {10} and len(steps) == PAGES
    assert unreached == PAGES
    assert handed, "the workers sent nothing"
    assert max(handed.values()) == 1, "a notification was handed to the provider twice"
    assert sum(handed.values()) == rows
    assert all(w.cycles > 0 for w in workers)
