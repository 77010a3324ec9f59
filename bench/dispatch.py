"""Dispatch throughput and event → first hand-off latency, through the real SMS channel.

Two measures, against a local HTTP SMS gateway (tests/peers/sms_gateway.py) reached through
Apprise exactly as in production:
1. throughput: N solicitations queued at once, one worker drains them: notifications/s;
2. latency: events created at a steady rate (default 10/s) with the worker running;
   for each, event reception → first notification handed to the provider (p50/p99/max).

    .venv/bin/python bench/dispatch.py --db sqlite
    .venv/bin/python bench/dispatch.py --db postgresql://postgres@127.0.0.1:5432/vigie_bench

Runs by hand; it resets the database it is given.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import Settings  # noqa: E402
from backend.db import transaction  # noqa: E402
from backend.events import service as event_service  # noqa: E402
from backend.events.models import Event  # noqa: E402
from backend.outbox.models import Notification  # noqa: E402
from backend.runtime import Runtime  # noqa: E402
from backend.trace.service import Actor  # noqa: E402
from bench.escalation_lateness import percentile, reset  # noqa: E402
from bench.world import build  # noqa: E402
from tests.peers.sms_gateway import SmsGateway  # noqa: E402

ACTOR = Actor("system", None, "bench")


def create_event(factory, world, n: int) -> None:
    with transaction(factory) as session:
        event_service.create(db_session=session, organization_id=world["commune_id"],
                             org_ids=frozenset({world["commune_id"]}), actor=ACTOR, user_id=None,
                             data={"procedure_id": world["procedure_id"], "severity": 3, "title": f"Bench {n}"})


def queued(factory) -> int:
    with transaction(factory) as session:
        return session.scalar(select(func.count(Notification.id)).where(Notification.status == "queued"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--burst", type=int, default=2000, help="solicitations queued at once (throughput)")
    parser.add_argument("--events", type=int, default=300, help="events created at --rate (latency)")
    parser.add_argument("--rate", type=float, default=10.0, help="events per second")
    args = parser.parse_args()

    url = reset(args.db)
    with SmsGateway() as gateway:
        settings = Settings(DATABASE_URL=url, var_dir=Path(tempfile.mkdtemp(prefix="vigie-bench-")),
                            sms_providers=[gateway.apprise_url()], webpush_enabled=False,
                            sms_flood_limit=10**9, claim_batch=200)
        runtime = Runtime.build(settings)
        # As `vigie worker` and `vigie serve` do: on PostgreSQL the worker is woken by LISTEN/NOTIFY,
        # which only arrives through the listener (without it the worker wakes every 30 s).
        runtime.start_listener()
        factory = runtime.session_factory
        world = build(factory)

        # 1. Throughput: queue the burst with no worker, then let one worker drain it.
        for n in range(args.burst):
            create_event(factory, world, n)
        worker = runtime.start_worker()
        start = time.monotonic()
        worker.start()
        while queued(factory):
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        backend = "sqlite" if url.startswith("sqlite") else "postgresql"
        print(f"{backend}: {args.burst} SMS through the outbox in {elapsed:.1f}s = {args.burst / elapsed:.0f}/s "
              f"(gateway received {len(gateway.accepted)})")

        # 2. Latency at a steady rate, the worker woken by each commit.
        with transaction(factory) as session:
            first_new = (session.scalar(select(func.max(Event.id))) or 0) + 1
        period = 1.0 / args.rate
        t0 = time.monotonic()
        for n in range(args.events):
            create_event(factory, world, args.burst + n)
            sleep = t0 + (n + 1) * period - time.monotonic()
            if sleep > 0:
                time.sleep(sleep)
        while queued(factory):
            time.sleep(0.05)
        with transaction(factory) as session:
            rows = session.execute(
                select(Event.received_at, func.min(Notification.handed_off_at))
                .join(Notification, Notification.event_id == Event.id)
                .where(Event.id >= first_new).group_by(Event.id)).all()
        latencies = [(handed - received).total_seconds() * 1000 for received, handed in rows if handed]
        print(f"{backend}: event created -> first SMS handed to the provider, {len(latencies)} events at "
              f"{args.rate:g}/s: p50={statistics.median(latencies):.1f} ms p99={percentile(latencies, 0.99):.1f} ms "
              f"max={max(latencies):.1f} ms")
        runtime.close()


if __name__ == "__main__":
    main()
