"""SQL statements and write-turn time per escalation step, per message and per acknowledgement (SQLite).

On SQLite the worker's steps, its messages and the requests share one writer: what each unit of
work costs in statements, and how long it holds the write turn, bounds the storm it can carry
(bench/README.md, issue 12). One process, one thread at a time, nothing else writing:

1. `--events` events (severity 3, the world of bench/world.py: six people, SMS only) created
   through `event_service.create`, each opening a page that asks its first person;
2. the outbox drained as the worker's outbox half does it (`Dispatcher._claim`, the recording
   channel answering « sent », `Dispatcher._record` by groups of `--record-group`);
3. every page made due, then the worker's steps half (`Worker._fire_due_pages`) fires them, twice;
   each wave's messages drained as in 2;
4. every event acknowledged by its current person's phone: `POST /api/v1/events/{id}/responses`
   through the app (in-process, `TestClient`), then the closing messages drained.

Each phase prints statements per unit, write-turn hold (the gate's, from the turn given to the
turn released) per unit, and its statements by shape (first 60 characters), heaviest first.

    .venv/bin/python bench/statements.py               # 200 events
    .venv/bin/python bench/statements.py --events 400 --shapes 25
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import re
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, event, insert, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend import sqlite_writer  # noqa: E402
from backend.auth import service as auth_service  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.db import db_now, transaction  # noqa: E402
from backend.events import service as event_service  # noqa: E402
from backend.events.schemas import EventCreate  # noqa: E402
from backend.outbox import dispatch  # noqa: E402
from backend.outbox.models import Notification  # noqa: E402
from backend.pages.models import Page  # noqa: E402
from backend.people.models import ContactMethod  # noqa: E402
from backend.trace.service import Actor  # noqa: E402
from bench.escalation_lateness import reset  # noqa: E402
from bench.world import build  # noqa: E402
from notifications.base import ChannelKind, SendResult  # noqa: E402
from notifications.recording import RecordingChannel  # noqa: E402
from notifications.registry import ChannelRegistry  # noqa: E402

ACTOR = Actor("system", None, "bench")
SLOW_S = 0.002  # a statement slower than this is shown whole, once per shape and phase


class Meter:
    """Statements (every engine of the process) and the write turn's hold time, between `start` and `stop`."""

    def __init__(self, profile: bool = False) -> None:
        self.profile = profile
        self.on = False
        self.shapes: Counter[str] = Counter()
        self.shape_s: Counter[str] = Counter()  # time in the database driver, by shape
        self._began: dict[int, tuple[str, float]] = {}
        self.slow: dict[str, tuple[float, str]] = {}  # shape -> (seconds, the whole statement), once per phase
        self.statements = 0
        self.commits = 0
        self.held_s = 0.0
        self.turns = 0
        self._taken: dict[int, float] = {}
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "after_cursor_execute", self._executed)
        event.listen(Engine, "commit", self._commit)

    def _statement(self, _conn, _cursor, statement, _params, _context, executemany) -> None:
        if self.on:
            self.statements += 1
            shape = re.sub(r"\s+", " ", statement).strip()[:60]
            shape += " [many]" if executemany else ""
            self.shapes[shape] += 1
            self._began[id(_cursor)] = (shape, time.perf_counter())

    def _executed(self, _conn, cursor, *_args) -> None:
        began = self._began.pop(id(cursor), None)
        if began is not None:
            took = time.perf_counter() - began[1]
            self.shape_s[began[0]] += took
            if took > SLOW_S and began[0] not in self.slow:
                self.slow[began[0]] = (took, _args[0])

    def _commit(self, _conn) -> None:
        if self.on:
            self.commits += 1
            self.shapes["COMMIT"] += 1

    def watch(self, gate: sqlite_writer.WriteGate) -> None:
        acquire, release = gate.acquire, gate.release

        def timed_acquire(holder, **kw):
            acquire(holder, **kw)
            self._taken[holder] = time.perf_counter()

        def timed_release(holder):
            taken = self._taken.pop(holder, None) if gate.held_by(holder) else None
            release(holder)
            if taken is not None and self.on:
                self.held_s += time.perf_counter() - taken
                self.turns += 1

        gate.acquire, gate.release = timed_acquire, timed_release

    @contextmanager
    def phase(self, label: str, unit: str, count, shapes: int):
        self.shapes.clear()
        self.shape_s.clear()
        self.slow.clear()
        self.statements = self.commits = self.turns = 0
        self.held_s = 0.0
        self.on = True
        profiler = cProfile.Profile() if self.profile else None
        began, cpu = time.perf_counter(), time.process_time()
        try:
            if profiler is not None:
                profiler.enable()
            yield
        finally:
            if profiler is not None:
                profiler.disable()
            self.on = False
            wall = time.perf_counter() - began
            cpu = time.process_time() - cpu
            n = count() if callable(count) else count
            per = max(n, 1)
            print(f"\n== {label}: {n} {unit} — {self.statements / per:.2f} statements per {unit.rstrip('s')} "
                  f"(+ {self.commits / per:.2f} commits), write turn {self.held_s * 1000 / per:.2f} ms per "
                  f"{unit.rstrip('s')} ({self.turns} turns), wall {wall * 1000 / per:.2f} ms, CPU {cpu * 1000 / per:.2f} ms")
            print(f"  {'per unit':>8} {'ms/unit':>8}  statement (first 60 characters)")
            for shape, seen in self.shapes.most_common(shapes):
                print(f"  {seen / per:8.2f} {self.shape_s[shape] * 1000 / per:8.3f}  {shape}")
            for took, statement in self.slow.values():
                print(f"  slow ({took * 1000:.1f} ms): {' '.join(statement.split())[:600]}")
            if profiler is not None:
                pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
            RESULTS.append((label, n, self.statements / per, self.commits / per, self.held_s * 1000 / per,
                            cpu * 1000 / per))


RESULTS: list[tuple[str, int, float, float, float, float]] = []


def drain(worker, record_group: int) -> int:
    """The outbox half, one claim and its records after the other: messages handed off and recorded."""
    dispatcher = worker.dispatcher
    done = 0
    while True:
        attempts, _wait = dispatcher._claim()
        if not attempts:
            return done
        results = asyncio.run(_send_all(dispatcher, attempts))
        answered = time.monotonic()
        for n in range(0, len(attempts), record_group):
            dispatcher._record([(a, r, answered) for a, r in
                                zip(attempts[n:n + record_group], results[n:n + record_group])])
        done += len(attempts)


async def _send_all(dispatcher, attempts) -> list[SendResult]:
    return list(await asyncio.gather(*(dispatch.send(dispatcher.channels, a, deadline_s=5.0) for a in attempts)))


def make_all_due(factory) -> None:
    with transaction(factory) as session:
        session.execute(update(Page).where(Page.status == "active", Page.due_at.is_not(None))
                        .values(due_at=db_now(session) - timedelta(seconds=1)))


def add_history(factory, world: dict, per_person: int) -> None:
    """SMS already handed off in the flood window, as a storm's tenth minute has them (~24,000 per number)."""
    with transaction(factory) as session:
        now = db_now(session)
        people = session.execute(select(ContactMethod.person_id, ContactMethod.address)
                                 .where(ContactMethod.person_id.in_(world["person_ids"]))).all()
        rows = [{"organization_id": world["commune_id"], "person_id": person_id, "channel": "sms", "address": address,
                 "purpose": "solicit", "text": "…", "data": {}, "status": "sent", "attempts": 1, "created_at": now,
                 "handed_off_at": now - timedelta(seconds=840 * n / per_person)}
                for person_id, address in people for n in range(per_person)]
        session.execute(insert(Notification), rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--claim", type=int, default=16, help="SMS leased per claim (the SMS channel's room)")
    parser.add_argument("--record-group", type=int, default=8, help="results recorded per transaction")
    parser.add_argument("--flood-limit", type=int, default=1_000_000, help="as bench/storm.py (8 in production)")
    parser.add_argument("--profile", action="store_true", help="cProfile each phase (slower: for where, not how much)")
    parser.add_argument("--history", type=int, default=0,
                        help="SMS per number already handed off in the last 14 minutes (a storm's 10th minute: 24000)")
    parser.add_argument("--shapes", type=int, default=15, help="statement shapes shown per phase")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from backend.app import create_app

    url = reset("sqlite")
    registry = ChannelRegistry()
    for kind in ChannelKind:
        registry.register(RecordingChannel(kind, script=lambda m: SendResult.sent("bench", provider_ref="bench")))
    settings = Settings(DATABASE_URL=url, var_dir=Path(tempfile.mkdtemp(prefix="vigie-bench-")), run_worker=False,
                        webpush_enabled=False, sms_flood_limit=args.flood_limit, lease_seconds=30.0)
    meter = Meter(args.profile)
    meter.watch(sqlite_writer.gate_for(url.split("///", 1)[-1]))
    app = create_app(settings, channels=registry, run_worker=False)
    with TestClient(app) as client:
        runtime = app.state.runtime
        factory = runtime.session_factory
        world = build(factory, ack_timeout_s=600)
        phones = {}
        with transaction(factory) as s:
            for person_id in world["person_ids"]:
                user = auth_service.create_user(db_session=s, email=f"astreinte.{person_id}@example.org",
                                                full_name=f"Agent {person_id}", role="oncall",
                                                organization_id=world["commune_id"], person_id=person_id)
                phones[person_id] = auth_service.issue_token(db_session=s, user=user, ttl_hours=None, kind="device",
                                                             label="bench phone")
        if args.history:
            add_history(factory, world, args.history)
        worker = runtime.start_worker()
        worker.dispatcher.limits = {kind: (args.claim if kind is ChannelKind.SMS else 0) for kind in ChannelKind}

        def create(n: int) -> int:
            with transaction(factory) as session:
                return event_service.create(
                    db_session=session, org_ids=frozenset({world["commune_id"]}), actor=ACTOR, user_id=None,
                    draft=EventCreate(organization_id=world["commune_id"], procedure_id=world["procedure_id"],
                                      severity=3, title=f"Bench {n}")).id

        for n in range(3):  # warm-up: statements compiled, caches filled (not counted)
            create(-n)
        drain(worker, args.record_group)

        event_ids = []
        with meter.phase("event created (event_service.create, for reference)", "events", args.events, args.shapes):
            event_ids = [create(n) for n in range(args.events)]
        sent = [0]
        with meter.phase("first messages: claimed, handed off, recorded", "messages", lambda: sent[0], args.shapes):
            sent[0] = drain(worker, args.record_group)
        for wave in (1, 2):
            make_all_due(factory)
            fired = [0]
            with meter.phase(f"escalation steps, wave {wave} (Worker._fire_due_pages)", "steps",
                             lambda fired=fired: fired[0], args.shapes):
                while (more := worker._fire_due_pages()):
                    fired[0] += more
            sent[0] = 0
            with meter.phase(f"messages of wave {wave}: claimed, handed off, recorded", "messages",
                             lambda: sent[0], args.shapes):
                sent[0] = drain(worker, args.record_group)

        with transaction(runtime.read_factory) as s:
            current = dict(s.execute(select(Page.event_id, Page.current_person_id)
                                     .where(Page.event_id.in_(event_ids), Page.status == "active")).all())
        statuses: Counter[int] = Counter()
        for event_id in event_ids[:3]:  # warm-up of the route (not counted)
            client.post(f"/api/v1/events/{event_id}/responses", json={"kind": "ack", "via": "app"},
                        headers={"Authorization": f"Bearer {phones[current[event_id]]}"})
        acked = [e for e in event_ids[3:] if e in current]
        with meter.phase("acknowledgement by phone (POST …/responses, in-process)", "requests", len(acked),
                         args.shapes):
            for event_id in acked:
                answer = client.post(f"/api/v1/events/{event_id}/responses", json={"kind": "ack", "via": "app"},
                                     headers={"Authorization": f"Bearer {phones[current[event_id]]}"})
                statuses[answer.status_code] += 1
        print(f"  statuses: {dict(statuses)}")
        sent[0] = 0
        with meter.phase("closing messages of the acks: claimed, handed off, recorded", "messages",
                         lambda: sent[0], args.shapes):
            sent[0] = drain(worker, args.record_group)
        runtime.worker = None  # never started: nothing to stop

    print("\n| phase | units | statements per unit | commits per unit | write turn ms per unit | CPU ms per unit |"
          "\n|---|---|---|---|---|---|")
    for label, n, statements, commits, held, cpu in RESULTS:
        print(f"| {label} | {n} | {statements:.2f} | {commits:.2f} | {held:.2f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
