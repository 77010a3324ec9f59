"""Dispatch throughput and event → first hand-off latency, through the real SMS channel.

Two measures, against a local HTTP SMS gateway (tests/peers/sms_gateway.py, run in its own
process as a provider is) reached through Apprise exactly as in production:
1. throughput: N solicitations queued at once, one worker drains them: notifications/s;
2. latency: events created at a steady rate (default 10/s) with the worker running;
   for each, event reception → first notification handed to the provider (p50/p99/max).

The worker runs in the process that creates the events, as `vigie serve` runs it by default;
`--worker-process` runs it as `vigie worker` in a process of its own (the two-server layout,
PostgreSQL only: on SQLite a separate worker looks for work once a second).

`--http` measures what the operator sees: `vigie serve` runs in its own process (with its worker
on SQLite; `--no-worker` beside a `vigie worker` process on PostgreSQL) and the events are posted
to POST /api/v1/events by an operator at the same rate; the clock starts when the request leaves
the client (event reception, as above, is also printed for the same events).

Before measuring, the script times a fixed piece of pure-Python work 300 times: on a machine
whose CPU comes and goes (a shared VM) its p99/p50 ratio says how much of a latency p99 is the
machine's.

    .venv/bin/python bench/dispatch.py --db sqlite
    .venv/bin/python bench/dispatch.py --db postgresql://postgres@127.0.0.1:5432/vigie_bench
    .venv/bin/python bench/dispatch.py --db postgresql://postgres@127.0.0.1:5432/vigie_bench --worker-process
    .venv/bin/python bench/dispatch.py --db postgresql://postgres@127.0.0.1:5432/vigie_bench --http
    .venv/bin/python bench/dispatch.py --db sqlite --http

Runs by hand; it resets the database it is given.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.auth import service as auth_service  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import transaction  # noqa: E402
from backend.events import service as event_service  # noqa: E402
from backend.events.models import Event  # noqa: E402
from backend.events.schemas import EventCreate  # noqa: E402
from backend.heap import freeze_startup_objects  # noqa: E402
from backend.outbox.models import Notification  # noqa: E402
from backend.runtime import Runtime  # noqa: E402
from backend.trace.service import Actor  # noqa: E402
from bench.escalation_lateness import percentile, reset  # noqa: E402
from bench.live_fanout import free_port, wait_ready  # noqa: E402
from bench.world import build  # noqa: E402

ACTOR = Actor("system", None, "bench")
OPERATOR, PASSWORD = "operateur.dispatch@example.org", "bench-operator-password"


def create_event(factory, world, n: int) -> None:
    with transaction(factory) as session:
        event_service.create(db_session=session, org_ids=frozenset({world["commune_id"]}), actor=ACTOR, user_id=None,
            draft=EventCreate(organization_id=world["commune_id"], procedure_id=world["procedure_id"], severity=3, title=f"Bench {n}"))


def queued(factory) -> int:
    with transaction(factory) as session:
        return session.scalar(select(func.count(Notification.id)).where(Notification.status == "queued"))


def machine_jitter(runs: int = 300) -> str:
    def work() -> int:
        total = 0
        for i in range(40_000):
            total += i * i % 7
        return total

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(0.01)
    p50, p99 = statistics.median(times), percentile(times, 0.99)
    return f"fixed CPU work: p50={p50:.2f} ms p99={p99:.2f} ms (p99/p50 = {p99 / p50:.1f})"


def _serve_gateway(conn) -> None:
    from tests.peers.sms_gateway import SmsGateway

    with SmsGateway() as gateway:
        conn.send(gateway.apprise_url())
        conn.recv()  # until the parent says stop
        conn.send(len(gateway.accepted))


class GatewayProcess:
    """The SMS provider, out of Vigie's process (its HTTP server would otherwise share our GIL)."""

    def __enter__(self) -> GatewayProcess:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(target=_serve_gateway, args=(child,), daemon=True)
        self._process.start()
        self.url = self._conn.recv()
        return self

    def accepted(self) -> int:
        self._conn.send("stop")
        return self._conn.recv()

    def __exit__(self, *exc) -> None:
        self._process.terminate()
        self._process.join(5)


def vigie_env(url: str, gateway_url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "VIGIE_SMS_PROVIDERS": f'["{gateway_url}"]',
            "VIGIE_WEBPUSH_ENABLED": "false", "VIGIE_SMS_FLOOD_LIMIT": "1000000000", "VIGIE_CLAIM_BATCH": "200",
            "VIGIE_VAR_DIR": tempfile.mkdtemp(prefix="vigie-bench-")}


def start_vigie(url: str, gateway_url: str, *command: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "backend.cli", *command], env=vigie_env(url, gateway_url),
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def paced(count: int, rate: float):
    """0 … count-1, one every 1/rate seconds from now (a slow one does not shift the ones after)."""
    period = 1.0 / rate
    t0 = time.monotonic()
    for n in range(count):
        yield n
        sleep = t0 + (n + 1) * period - time.monotonic()
        if sleep > 0:
            time.sleep(sleep)


def create_events(factory, world: dict, first: int, count: int, rate: float) -> None:
    for n in paced(count, rate):
        create_event(factory, world, first + n)


def next_event_id(factory) -> int:
    with transaction(factory) as session:
        return (session.scalar(select(func.max(Event.id))) or 0) + 1


def post_events(base: str, world: dict, first: int, count: int, rate: float) -> dict[int, float]:
    """POST the events as an operator at `rate`; event id -> wall-clock time the request left."""
    sent: dict[int, float] = {}
    with httpx.Client(base_url=base, timeout=10) as client:
        token = client.post("/api/v1/auth/token", data={"username": OPERATOR, "password": PASSWORD})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        for n in paced(count, rate):
            body = {"organization_id": world["commune_id"], "procedure_id": world["procedure_id"], "severity": 3,
                    "title": f"Bench {first + n}"}
            leaving = time.time()
            response = client.post("/api/v1/events", json=body)
            response.raise_for_status()
            sent[response.json()["id"]] = leaving
    return sent


def summary(label: str, latencies: list[float]) -> str:
    return (f"{label}, {len(latencies)} events: p50={statistics.median(latencies):.1f} ms "
            f"p99={percentile(latencies, 0.99):.1f} ms max={max(latencies):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--burst", type=int, default=2000, help="solicitations queued at once (throughput)")
    parser.add_argument("--events", type=int, default=300, help="events created at --rate (latency)")
    parser.add_argument("--rate", type=float, default=10.0, help="events per second")
    parser.add_argument("--warmup", type=int, default=5, help="events before the measured ones (not counted)")
    parser.add_argument("--worker-process", action="store_true", help="run the worker as `vigie worker` (PostgreSQL)")
    parser.add_argument("--http", action="store_true", help="post the events to `vigie serve` as an operator")
    args = parser.parse_args()

    print(machine_jitter(), flush=True)
    url = reset(args.db)
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    if args.worker_process and backend == "sqlite":
        parser.error("--worker-process needs PostgreSQL (its wake-up crosses processes by LISTEN/NOTIFY)")
    worker_process = args.worker_process or (args.http and backend == "postgresql")
    with GatewayProcess() as gateway:
        settings = Settings(DATABASE_URL=url, var_dir=Path(tempfile.mkdtemp(prefix="vigie-bench-")),
                            sms_providers=[gateway.url], webpush_enabled=False,
                            sms_flood_limit=10**9, claim_batch=200)
        runtime = Runtime.build(settings)
        # As `vigie worker` and `vigie serve` do: on PostgreSQL the worker is woken by LISTEN/NOTIFY,
        # which only arrives through the listener (without it the worker wakes every 30 s).
        runtime.start_listener()
        factory = runtime.session_factory
        world = build(factory)
        with transaction(factory) as session:
            auth_service.create_user(db_session=session, email=OPERATOR, full_name="Opérateur bench",
                                     role="operator", organization_id=world["metropole_id"], password=PASSWORD)

        # 1. Throughput: queue the burst with no worker, then let one worker drain it.
        for n in range(args.burst):
            create_event(factory, world, n)
        processes = []
        if worker_process:
            processes.append(start_vigie(url, gateway.url, "worker"))
        if args.http:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            serve = ["serve", "--port", str(port)] + (["--no-worker"] if worker_process else [])
            processes.append(start_vigie(url, gateway.url, *serve))
        elif not worker_process:
            runtime.start_worker().start()
            freeze_startup_objects()  # as `vigie serve` does once started
        while queued(factory):
            time.sleep(0.05)
        with transaction(factory) as session:
            first, last = session.execute(select(func.min(Notification.handed_off_at),
                                                 func.max(Notification.handed_off_at))).one()
            # A batch is recorded at one instant: the first batch's messages are not in the interval.
            in_first = session.scalar(select(func.count(Notification.id)).where(Notification.handed_off_at == first))
        # From the first hand-off to the last: a server's start-up is not dispatch time.
        elapsed = (last - first).total_seconds()
        rate = f"{(args.burst - in_first) / elapsed:.0f}/s" if elapsed else "one batch (give --burst > 200)"
        where = "worker in its own process" if worker_process else (
            "worker in `vigie serve`" if args.http else "worker in the creating process")
        if args.http:
            where += ", events posted over HTTP"
        print(f"{backend} ({where}): {args.burst} SMS through the outbox: {rate}", flush=True)

        # 2. Latency at a steady rate, the worker woken by each commit. A few events first, not
        # counted: a fresh process compiles its statements on its first event (a server runs for days).
        if args.http:
            wait_ready(base)

        def events(first: int, count: int) -> dict[int, float]:
            if args.http:
                return post_events(base, world, first, count, args.rate)
            create_events(factory, world, first, count, args.rate)
            return {}

        warm_first = next_event_id(factory)
        events(args.burst, args.warmup)
        while queued(factory):
            time.sleep(0.05)
        first_new = next_event_id(factory)
        sent = events(args.burst + args.warmup, args.events)
        while queued(factory):
            time.sleep(0.05)
        with transaction(factory) as session:
            rows = session.execute(
                select(Event.id, Event.received_at, func.min(Notification.handed_off_at))
                .join(Notification, Notification.event_id == Event.id)
                .where(Event.id >= warm_first).group_by(Event.id).order_by(Event.id)).all()
        warm = [row for row in rows if row[0] < first_new]
        rows = [row for row in rows if row[0] >= first_new]
        if warm and warm[0][2]:
            print(f"first event after start (not counted): "
                  f"{(warm[0][2] - warm[0][1]).total_seconds() * 1000:.1f} ms", flush=True)
        latencies = [(handed - received).total_seconds() * 1000 for _, received, handed in rows if handed]
        print(f"{backend} ({where}): " + summary(f"event created -> first SMS handed to the provider at "
                                                  f"{args.rate:g}/s", latencies) +
              f" (gateway received {gateway.accepted()})")
        worst = sorted(((handed - received).total_seconds() * 1000, event_id - first_new)
                       for event_id, received, handed in rows if handed)[-5:]
        print("  slowest (ms, event index):", ", ".join(f"{ms:.1f} (#{index})" for ms, index in reversed(worst)))
        if args.http:
            from_request = [(handed.timestamp() - sent[event_id]) * 1000 for event_id, _, handed in rows
                            if handed and event_id in sent]
            print(f"{backend} ({where}): " + summary("operator's request sent -> first SMS handed to the provider",
                                                      from_request))
        for process in processes:
            process.terminate()
            process.wait(10)
        runtime.close()


if __name__ == "__main__":
    main()
