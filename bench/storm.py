"""Storm night: many things at once, over HTTP, against real `vigie serve` and `vigie worker` processes.

Each scenario (`--scenario`, default all, in this order) resets the database, builds its world
directly in it (a commune, its on-call people each with an SMS number in the fictional range
+33 6 39 98 xx xx, an on-call user and a phone's device token each, and an operator of the
métropole who logs in over HTTP), starts its own processes and prints one block of figures,
"target met/MISSED" beside each figure the storm issue gives a target for.

1. answers — 200 events (`--events`) whose page each asks a different person first (a procedure
   and a group of one per person, ack timeout 600 s), and 50 background events whose page steps
   every 2 s through six people. Then, at once: 200 acknowledgements (half from the person's phone
   with its device token, half by the operator on their behalf) and 200 requests with a bad
   token. Status codes, latency from the request's sending, the answers in the database, and the
   lateness of the background steps that fell due during the storm.
2. steady — for `--minutes` (or `--seconds`), events at `--rate` per second (50 on PostgreSQL, 20 on
   SQLite) posted by the operator for one commune, six people asked in turn, each first on a sixth
   of the events (ack timeout 30 s; a run shorter than 2 minutes: a quarter of it, at least 5 s),
   acknowledgements of young pages by their first person's phone (`--ack-rate`, default 20/s but at
   most 40 % of the events), and 100 WebSocket consoles (`--consoles`, in a process of their own)
   reading everything. POST latency from the request leaving the client, event → first SMS
   handed to the provider, step lateness, acknowledgement latency, errors, achieved rates, RSS
   of every Vigie process after a warm-up and at the end, the CPU each process used, and what
   the consoles got (entries per console against those written, lag from an entry's `at`).
3. burst — 100 events (`--events`) posted within 0.5 s, ack timeout 60 s; after ~65 s, the lateness
   of their second step.
4. kill — a worker killed (SIGKILL) `--kills` times at each of three points while events arrive at
   10/s (ack timeout 3 s, three people, lease 3 s): right after it leased messages
   (`VIGIE_FAULT_KILL=claimed:1`), between a hand-off and its recording (`handed_off:k`, k in 1..5),
   and while the provider holds a message (its gateway answers after 300 ms; killed from outside
   once that gateway has received a request of that worker). The killed worker has a gateway of
   its own and sends one SMS at a time (`--kill-send-limit`): a kill can resend at most that many.
   After each kill a worker is started at once, as a supervisor would, and stopped cleanly once
   a hand-off followed the kill and the dead worker's leased messages went out. At the end a
   clean worker drains everything. Per point: kills, duplicate hand-offs at the gateways (a
   message's every hand-off after its first is owed to the kill nearest the one before), time
   from the kill to the next hand-off, and when the dead worker's leased messages went out;
   then, for all pages, steps lost or written twice (each page's trace against its frozen chain).
5. slow-provider — two SMS providers, the first answering after 12 s, the second healthy; events
   at 3/s for a minute (at most `--seconds`), ack timeout 5 s. What each provider received, how
   many messages reached the healthy one, hand-off latency (created → handed off) and step lateness.

Layouts: SQLite — one `vigie serve` with its worker (kill: `vigie serve --no-worker` and one
`vigie worker` at a time); PostgreSQL — two `vigie serve --no-worker` (requests alternate between
them) and two `vigie worker` (kill: one that stays, one killed again and again). SMS providers
are local HTTP gateways (tests/peers/sms_gateway.py), each in a process of its own as a
provider is. `--rate` sets the events/s of steady, kill and slow-provider.

Step lateness, from the trace: a page's `page.notify` entries in order; one whose reason is
"timeout" fired at its `at` and was due at the previous entry's `data.due_at`.

    .venv/bin/python bench/storm.py --db sqlite
    .venv/bin/python bench/storm.py --db postgresql://postgres@127.0.0.1:5432/vigie_bench
    .venv/bin/python bench/storm.py --db sqlite --scenario steady --minutes 2
    .venv/bin/python bench/storm.py --db sqlite --seconds 20 --rate 5 --kills 3 --events 40   # a quick check

Runs by hand; it resets the database it is given (a PostgreSQL database is created if missing;
never `test`, the test suite's). Server and worker logs: bench/results/storm-<db>-<scenario>-*.log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.auth import service as auth_service  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.coverage.models import CoverageSettings  # noqa: E402
from backend.db import make_engine, make_read_factory, make_session_factory, transaction  # noqa: E402
from backend.events.models import Event  # noqa: E402
from backend.groups.models import GroupMember, OnCallGroup  # noqa: E402
from backend.orgs.models import Organization  # noqa: E402
from backend.outbox.models import Notification  # noqa: E402
from backend.pages.models import Page  # noqa: E402
from backend.people.models import ContactMethod, Person  # noqa: E402
from backend.procedures.models import Procedure, ProcedureStep  # noqa: E402
from backend.responses.models import Response  # noqa: E402
from backend.trace.models import TraceEntry  # noqa: E402
from bench import raw_http  # noqa: E402
from bench.dispatch import GatewayProcess, machine_jitter, paced, vigie_env  # noqa: E402
from bench.escalation_lateness import percentile, reset  # noqa: E402
from bench.live_fanout import free_port, wait_ready  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SCENARIOS = ("answers", "steady", "burst", "kill", "slow-provider")
OPERATOR, PASSWORD = "operateur.storm@example.org", "bench-operator-password"
ALL_WEEK = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]
KILL_POINTS = ("claimed", "handed_off", "during")


# Figures ---------------------------------------------------------------------------------------

def spread(values: list[float], unit: str = "ms") -> str:
    if not values:
        return "no samples"
    return (f"p50 {statistics.median(values):.1f} {unit}, p99 {percentile(values, 0.99):.1f} {unit}, "
            f"max {max(values):.1f} {unit} (n={len(values)})")


def target(ok: bool | None, goal: str) -> str:
    if ok is None:
        return f"[{goal}: no samples]"
    return f"[{goal}: target {'met' if ok else 'MISSED'}]"


def p99_within(values: list[float], limit: float) -> bool | None:
    return percentile(values, 0.99) <= limit if values else None


def wall(at: datetime) -> float:
    return at.timestamp()


# The database and its world ----------------------------------------------------------------------

def fresh_database(db: str) -> str:
    if db != "sqlite":
        url = make_url(db.replace("postgresql://", "postgresql+psycopg://", 1))
        if url.database == "test":
            raise SystemExit("`test` is the test suite's database: give the bench its own (vigie_bench)")
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                     {"name": url.database}):
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    return reset(db)


@dataclass
class Chain:
    """One procedure soliciting one group: these people (indexes into the world's people), in turn."""
    members: list[int]
    ack_timeout_s: int
    repeats: int = 0


@dataclass
class World:
    commune_id: int
    people: list[int]  # person ids
    phones: dict[int, str]  # person id -> the device token of their phone
    procedures: list[int]  # one per chain, in the order given


def build_world(factory, people: int, chains: list[Chain]) -> World:
    with transaction(factory) as s:
        metropole = Organization(name="Métropole storm", code="STORMM", kind="metropole")
        s.add(metropole)
        s.flush()
        commune = Organization(name="Commune storm", code="STORM", served_by_id=metropole.id)
        s.add(commune)
        s.flush()
        # Covered around the clock: no event depends on the hour the bench runs at.
        s.add(CoverageSettings(organization_id=commune.id, weekly=ALL_WEEK, holidays="FR"))
        persons = []
        for n in range(people):
            person = Person(organization_id=commune.id, first_name="Agent", last_name=f"{n:04d}")
            person.contact_methods = [ContactMethod(kind="sms", address=f"+3363998{n:04d}")]
            s.add(person)
            persons.append(person)
        s.flush()
        phones = {}
        for person in persons:
            user = auth_service.create_user(db_session=s, email=f"astreinte.{person.id}@example.org",
                                            full_name=f"Agent {person.last_name}", role="oncall",
                                            organization_id=commune.id, person_id=person.id)
            phones[person.id] = auth_service.issue_token(db_session=s, user=user, ttl_hours=None, kind="device",
                                                         label="storm phone")
        auth_service.create_user(db_session=s, email=OPERATOR, full_name="Opérateur storm", role="operator",
                                 organization_id=metropole.id, password=PASSWORD)
        procedures = []
        for n, chain in enumerate(chains):
            group = OnCallGroup(organization_id=commune.id, name=f"Astreinte {n}", kind="technique")
            group.members = [GroupMember(person_id=persons[i].id, position=p) for p, i in enumerate(chain.members)]
            s.add(group)
            s.flush()
            timing = {"ack_timeout_s": chain.ack_timeout_s, "repeats": chain.repeats}
            procedure = Procedure(organization_id=commune.id, category=f"Storm {n}",
                                  timings={str(sev): timing for sev in (2, 3, 4)})
            procedure.steps = [ProcedureStep(position=0, group_id=group.id, mode="solicit")]
            s.add(procedure)
            s.flush()
            procedures.append(procedure.id)
        return World(commune.id, [p.id for p in persons], phones, procedures)


# Processes ---------------------------------------------------------------------------------------

def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


PROBLEM = re.compile(r'ERROR|CRITICAL|Traceback|HTTP/1\.1" 5\d\d')


class Fleet:
    """The Vigie processes of one scenario, each logging to bench/results/; all stopped on exit."""

    def __init__(self, tag: str, url: str, providers: list[str], env: dict[str, str]):
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.tag = tag
        for old in RESULTS.glob(f"storm-{tag}-*.log"):
            old.unlink()
        # One var dir for all: the processes of one installation share its secret key.
        self.env = {**vigie_env(url, providers[0]), "VIGIE_SMS_PROVIDERS": json.dumps(providers),
                    "VIGIE_SMS_FLOOD_LIMIT": "1000000", "VIGIE_VAR_DIR": tempfile.mkdtemp(prefix="vigie-storm-"),
                    **env}
        self.env.pop("VIGIE_FAULT_KILL", None)
        self.current: dict[str, subprocess.Popen] = {}  # name -> its latest process
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, *command: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        with open(RESULTS / f"storm-{self.tag}-{name}.log", "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "backend.cli", *command], cwd=ROOT,
                                       env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        self.current[name] = process
        self.started.append(process)
        return process

    def serve(self, name: str, *, worker: bool) -> str:
        port = free_port()
        self.start(name, "serve", "--host", "127.0.0.1", "--port", str(port), *([] if worker else ["--no-worker"]))
        return f"http://127.0.0.1:{port}"

    def pids(self) -> dict[str, int]:
        """Each running process, and the worker `vigie serve` runs as its child."""
        found = {}
        for name, process in self.current.items():
            if process.poll() is None:
                found[name] = process.pid
                for child in psutil.Process(process.pid).children():
                    found[f"{name}'s worker"] = child.pid
        return found

    def rss(self) -> dict[str, float]:
        return {name: rss_mb(pid) for name, pid in self.pids().items()}

    def cpu(self) -> dict[str, float]:
        return {name: cpu_s(pid) for name, pid in self.pids().items()}

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def report_logs(self) -> None:
        for path in sorted(RESULTS.glob(f"storm-{self.tag}-*.log")):
            lines = path.read_text(errors="replace").splitlines()
            problems = [line for line in lines if PROBLEM.search(line)]
            warnings = [line for line in lines if " WARNING " in line]
            print(f"  log {path.relative_to(ROOT)}: {len(problems)} error lines, {len(warnings)} warnings")
            shown: set[str] = set()
            for line in problems + warnings:
                shape = re.sub(r"\d+", "#", line[24:])  # the same message with other numbers: shown once
                if shape not in shown and len(shown) < 4:
                    shown.add(shape)
                    print(f"    {line[:300]}")


def login(base: str) -> str:
    answer = httpx.post(f"{base}/api/v1/auth/token", data={"username": OPERATOR, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return answer.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Stage:
    """One scenario: a fresh database, its world, its Vigie processes, the operator's token."""

    def __init__(self, args, scenario: str, *, people: int, chains: list[Chain], providers: list[str],
                 env: dict[str, str] | None = None):
        self.postgres = args.db != "sqlite"
        self.url = fresh_database(args.db)
        self.engine = make_engine(self.url)
        self.read = make_read_factory(self.engine)
        self.world = build_world(make_session_factory(self.engine), people, chains)
        tag = f"{'postgresql' if self.postgres else 'sqlite'}-{scenario}"
        self.fleet = Fleet(tag, self.url, providers, env or {})
        self.bases: list[str] = []
        self.token = ""
        self.serve_worker = False

    def start(self, *, serve_worker: bool = True, workers: int | None = None,
              worker_env: dict[str, str] | None = None) -> None:
        """SQLite: one `vigie serve` (with its worker unless `serve_worker` is false); PostgreSQL: two
        `vigie serve --no-worker`. Then `workers` `vigie worker` (default: 0 on SQLite, 2 on PostgreSQL)."""
        self.serve_worker = serve_worker and not self.postgres
        if self.postgres:
            self.bases = [self.fleet.serve(f"serve{n}", worker=False) for n in (1, 2)]
        else:
            self.bases = [self.fleet.serve("serve", worker=self.serve_worker)]
        for n in range(2 if workers is None and self.postgres else workers or 0):
            self.fleet.start(f"worker{n + 1}", "worker", env=worker_env)
        for base in self.bases:
            wait_ready(base, timeout=60)
        self.token = login(self.bases[0])

    @property
    def layout(self) -> str:
        workers = sum(name.startswith("worker") for name in self.fleet.current)
        serves = "two `vigie serve --no-worker`" if self.postgres else "`vigie serve`"
        serves += " with its worker" if self.serve_worker else ("" if self.postgres else " --no-worker")
        return serves + (f" + {workers} `vigie worker`" if workers else "")

    def base(self, n: int) -> str:
        return self.bases[n % len(self.bases)]

    def event_body(self, procedure: int, title: str) -> dict:
        return {"organization_id": self.world.commune_id, "procedure_id": self.world.procedures[procedure],
                "severity": 3, "title": title}

    def post_event(self, client: httpx.Client, n: int, procedure: int, title: str) -> dict:
        """One event by the operator (`client` holds the token), on the server whose turn `n` is."""
        answer = client.post(f"{self.base(n)}/api/v1/events", json=self.event_body(procedure, title))
        answer.raise_for_status()
        return answer.json()

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc) -> None:
        self.fleet.close()
        self.engine.dispose()
        self.fleet.report_logs()


# Requests ----------------------------------------------------------------------------------------

@dataclass
class Outcome:
    kind: str
    status: int | str  # the HTTP status, or "timeout", or the exception's name
    ms: float  # from the request's sending
    sent: float  # when, on the wall clock
    detail: str = ""  # what an unexpected answer said


async def timed(client: httpx.AsyncClient, kind: str, method: str, url: str,
                **kwargs) -> tuple[Outcome, httpx.Response | None]:
    sent, start = time.time(), time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        return Outcome(kind, "timeout", (time.perf_counter() - start) * 1000, sent), None
    except httpx.HTTPError as exc:
        return Outcome(kind, type(exc).__name__, (time.perf_counter() - start) * 1000, sent, str(exc)[:200]), None
    ms = (time.perf_counter() - start) * 1000
    detail = response.text[:200] if response.status_code >= 400 else ""
    return Outcome(kind, response.status_code, ms, sent, detail), response


def report_requests(outcomes: list[Outcome], kind: str, expected: int, limit_ms: float | None = None) -> list[float]:
    """Print the status counts and latency of one kind of request; return its latencies."""
    mine = [o for o in outcomes if o.kind == kind]
    statuses = Counter(o.status for o in mine)
    latencies = [o.ms for o in mine]
    line = (f"  {kind}: {len(mine)} requests, status {dict(sorted(statuses.items(), key=str))}; "
            f"latency {spread(latencies)}")
    if limit_ms is not None:
        line += " " + target(p99_within(latencies, limit_ms), f"p99 ≤ {limit_ms:g} ms")
    print(line)
    if len(mine) > 10:  # when the slow ones were sent: one stall, or spread over the run
        first = min(o.sent for o in outcomes)
        slowest = sorted(mine, key=lambda o: o.ms)[-3:]
        print("    slowest: " + ", ".join(f"{o.ms:.0f} ms sent at +{o.sent - first:.1f} s" for o in reversed(slowest)))
    shown = set()
    for o in mine:
        if o.status != expected and o.detail and o.status not in shown and len(shown) < 3:
            shown.add(o.status)
            print(f"    {o.status}: {o.detail}")
    return latencies


def five_hundreds(outcomes: list[Outcome]) -> int:
    return sum(isinstance(o.status, int) and o.status >= 500 for o in outcomes)


async def paced_async(rate: float, seconds: float, action) -> int:
    """Start `action(n)` every 1/rate s for `seconds`, none waiting for another; wait for them all."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tasks = []
    n = 0
    while n / rate < seconds:
        await asyncio.sleep(max(0.0, t0 + n / rate - loop.time()))
        tasks.append(asyncio.create_task(action(n)))
        n += 1
    await asyncio.gather(*tasks)
    return n


class Load(threading.Thread):
    """Events posted by the operator at `rate`, one server after the other, until stopped."""

    def __init__(self, stage: Stage, rate: float, procedure: int = 0):
        super().__init__(daemon=True)
        self.stage, self.rate, self.procedure = stage, rate, procedure
        self.statuses: Counter = Counter()
        self.latencies: list[float] = []
        self.stopping = threading.Event()
        self.began = self.ended = 0.0

    def run(self) -> None:
        self.began = time.monotonic()
        with httpx.Client(timeout=30, headers=bearer(self.stage.token)) as client:
            n = 0
            while not self.stopping.wait(max(0.0, self.began + n / self.rate - time.monotonic())):
                start = time.perf_counter()
                try:
                    answer = client.post(f"{self.stage.base(n)}/api/v1/events",
                                         json=self.stage.event_body(self.procedure, f"Charge {n}"))
                    self.statuses[answer.status_code] += 1
                except httpx.HTTPError as exc:
                    self.statuses[type(exc).__name__] += 1
                self.latencies.append((time.perf_counter() - start) * 1000)
                n += 1
        self.ended = time.monotonic()

    def stop(self) -> None:
        self.stopping.set()
        self.join(60)

    def summary(self) -> str:
        posted = sum(self.statuses.values())
        return (f"{posted} events posted at {posted / max(self.ended - self.began, 1e-9):.1f}/s, "
                f"status {dict(self.statuses)}, POST {spread(self.latencies)}")


# From the database -------------------------------------------------------------------------------

@dataclass
class Step:
    event_id: int
    page_id: int
    due: float  # wall-clock seconds
    fired: float

    @property
    def late_ms(self) -> float:
        return (self.fired - self.due) * 1000


def timeout_steps(read) -> list[Step]:
    """Every step fired by a timeout, with when it was due (the previous notify's `due_at`)."""
    with transaction(read) as s:
        rows = s.execute(select(TraceEntry.event_id, TraceEntry.at, TraceEntry.data)
                         .where(TraceEntry.kind == "page.notify")
                         .order_by(TraceEntry.event_id, TraceEntry.seq)).all()
    previous: dict[int, dict] = {}
    steps = []
    for event_id, at, data in rows:
        before = previous.get(data["page_id"])
        if before is not None and data.get("reason") == "timeout" and before.get("due_at"):
            steps.append(Step(event_id, data["page_id"], wall(datetime.fromisoformat(before["due_at"])), wall(at)))
        previous[data["page_id"]] = data
    return steps


def overdue(read, margin_s: float = 1.0) -> int:
    """Active pages whose step is more than `margin_s` overdue and not fired yet."""
    now = datetime.fromtimestamp(time.time() - margin_s, UTC)
    with transaction(read) as s:
        return s.scalar(select(func.count(Page.id)).where(Page.status == "active", Page.due_at < now))


def print_lateness(label: str, steps: list[Step], limit_ms: float | None, read) -> list[float]:
    late = [step.late_ms for step in steps]
    line = f"  {label}: {spread(late)}"
    if limit_ms is not None:
        line += " " + target(p99_within(late, limit_ms), f"p99 ≤ {limit_ms:g} ms")
    print(line + f"; steps overdue and not fired now: {overdue(read)}")
    if len(steps) > 10:  # when the late ones fell due: one stall, or spread over the run
        first = min(step.due for step in steps)
        latest = sorted(steps, key=lambda step: step.late_ms)[-5:]
        print("    latest: " + ", ".join(f"{step.late_ms:.0f} ms due at +{step.due - first:.1f} s"
                                         for step in reversed(latest)))
    return late


def quiet(read) -> tuple[int, int]:
    """Active pages and queued notifications."""
    with transaction(read) as s:
        return (s.scalar(select(func.count(Page.id)).where(Page.status == "active")),
                s.scalar(select(func.count(Notification.id)).where(Notification.status == "queued")))


def wait_quiet(read, timeout_s: float) -> tuple[int, int]:
    deadline = time.monotonic() + timeout_s
    while (left := quiet(read)) != (0, 0) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def max_trace_id(read) -> int:
    with transaction(read) as s:
        return s.scalar(select(func.max(TraceEntry.id))) or 0


# 1. answers -----------------------------------------------------------------------------------------

def scenario_answers(args) -> None:
    n = args.events or 200
    background, background_timeout = 50, 2
    chains = [Chain([i], 600) for i in range(n)] + [Chain(list(range(n, n + 6)), background_timeout, repeats=9)]
    with GatewayProcess() as gateway, Stage(args, "answers", people=n + 6, chains=chains,
                                            providers=[gateway.url]) as stage:
        stage.start()
        print(f"== answers — {stage.layout}: {n} answers + {n} bad tokens at once, "
              f"{background} background pages stepping every {background_timeout} s ==", flush=True)
        asked = []  # (event id, person asked first)
        with httpx.Client(timeout=30, headers=bearer(stage.token)) as client:
            for i in range(n):
                asked.append((stage.post_event(client, i, i, f"Arbre {i}")["id"], stage.world.people[i]))
            # Spread over one ack timeout, so that steps fall due all the time, not in waves.
            for i in paced(background, background / background_timeout):
                stage.post_event(client, i, n, f"Fond {i}")
        time.sleep(background_timeout + 1)  # every background page is stepping by now
        clients = Clients(stage.bases, stage.token, stage.world.phones)
        floor = in_client_process(refused_at_once, clients, 2 * n)
        print(f"  floor: {2 * n} requests at once refused before any database work (no token): "
              f"{spread(floor)} — what this client and this machine give at best")
        time.sleep(background_timeout + 1)
        outcomes, began, ended = in_client_process(answer_storm, clients, asked)
        time.sleep(background_timeout + 1)  # the steps due at the end of the storm have fired

        print(f"  storm: {ended - began:.2f} s from the first request to the last answer")
        answers = []
        for kind in ("answer (phone)", "answer (operator)"):
            answers += report_requests(outcomes, kind, 201, 1000)
        report_requests(outcomes, "bad token", 401, 1000)
        print(f"  all answers: {spread(answers)} {target(p99_within(answers, 1000), 'p99 ≤ 1 s')}")
        errors, timeouts = five_hundreds(outcomes), sum(o.status == "timeout" for o in outcomes)
        print(f"  5xx: {errors} {target(errors == 0, '0 × 5xx')}; timeouts: {timeouts} "
              f"{target(timeouts == 0, '0 timeouts')}")
        with transaction(stage.read) as s:
            acks = s.scalar(select(func.count(Response.id)).where(Response.kind == "ack"))
            acked = s.scalar(select(func.count(Page.id)).where(Page.status == "acknowledged"))
        print(f"  in the database: {acks} acknowledgements, {acked} pages acknowledged, of {n} "
              f"({'all there' if acks == acked == n else 'NOT all there'})")
        during = [step for step in timeout_steps(stage.read) if began <= step.due <= ended]
        print_lateness("background steps due during the storm, lateness", during, 250, stage.read)


@dataclass
class Clients:
    """What the timed phones and consoles need to reach the servers (it crosses to their process)."""
    bases: list[str]
    token: str
    phones: dict[int, str]

    def base(self, n: int) -> str:
        return self.bases[n % len(self.bases)]


def in_client_process(function, *args):
    """Run `asyncio.run(function(*args))` in a process at the API servers' CPU priority.

    The phones of a storm are not on the server: here they share its two cores, and a client at
    a higher priority than `vigie serve --no-worker` (niced by VIGIE_API_NICE) would measure the
    scheduler rather than Vigie.
    """
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, initializer=os.nice, initargs=(api_nice(),)) as pool:
        return pool.apply(_run_async, (function, args))


def api_nice() -> int:
    return int(os.environ.get("VIGIE_API_NICE", Settings.model_fields["api_nice"].default))


def _run_async(function, args):
    return asyncio.run(function(*args))


async def refused_at_once(stage: Clients, count: int) -> list[float]:
    """The same client, the same way, for requests the server refuses at once (401, no token)."""
    requests = [raw_http.prepare("no token", "GET", f"{stage.base(k)}/api/v1/events") for k in range(count)]
    results = await asyncio.gather(*(raw_http.send(r, 120) for r in requests))
    return [answer.ms for answer in results]


async def answer_storm(stage: Clients, asked: list[tuple[int, int]]) -> tuple[list[Outcome], float, float]:
    # Encoded beforehand, one connection each (no keep-alive), as 200 phones and 200 strangers would.
    requests = []
    for k, (event_id, person_id) in enumerate(asked):
        url = f"{stage.base(k)}/api/v1/events/{event_id}/responses"
        if k % 2 == 0:
            requests.append(raw_http.prepare("answer (phone)", "POST", url, headers=bearer(stage.phones[person_id]),
                                             json_body={"kind": "ack", "via": "app"}))
        else:  # reached by phone: the PC takes the answer on their behalf
            requests.append(raw_http.prepare(
                "answer (operator)", "POST", url, headers=bearer(stage.token),
                json_body={"kind": "ack", "person_id": person_id, "reason": "joint par téléphone"}))
        requests.append(raw_http.prepare("bad token", "GET", f"{stage.base(k + 1)}/api/v1/events",
                                         headers=bearer(f"not-a-token-{k}")))
    began = time.time()
    results = await asyncio.gather(*(raw_http.send(r, 120) for r in requests))
    ended = time.time()
    return [Outcome(**answer._asdict()) for answer in results], began, ended


# 2. steady -------------------------------------------------------------------------------------------

def scenario_steady(args) -> None:
    postgres = args.db != "sqlite"
    rate = args.rate or (50.0 if postgres else 20.0)
    ack_rate = args.ack_rate if args.ack_rate is not None else min(20.0, 0.4 * rate)
    seconds = args.duration
    # Steps must fire during the run: a short run gets a shorter timeout. 30 s is ten times harsher than
    # the product's default for a grave event (5 min): `--ack-timeout 300` measures that night.
    ack_timeout = args.ack_timeout or (30 if seconds >= 120 else max(5, int(seconds // 4)))
    # Six people, each asked first on a sixth of the events (the same group, six orders).
    chains = [Chain([(first + k) % 6 for k in range(6)], ack_timeout, repeats=1) for first in range(6)]
    with GatewayProcess() as gateway, Stage(args, "steady", people=6, chains=chains,
                                            providers=[gateway.url]) as stage:
        stage.start()
        print(f"== steady — {stage.layout}: {seconds:g} s, {rate:g} events/s, {ack_rate:g} acks/s, "
              f"{args.consoles} consoles, six people in turn, ack timeout {ack_timeout} s ==", flush=True)
        with Consoles(stage, args.consoles) as consoles:
            run = asyncio.run(steady_load(stage, rate, ack_rate, seconds, ack_timeout))
            time.sleep(3)  # what was committed before the end reaches the consoles
            seen = consoles.stop(run.first_id, run.last_id)
        report_steady(stage, run, seen, rate, ack_rate)


@dataclass
class SteadyRun:
    outcomes: list[Outcome] = field(default_factory=list)
    began: float = 0.0
    ended: float = 0.0
    first_id: int = 0  # trace entries after this one and up to last_id: what every console should get
    last_id: int = 0
    rss_start: dict[str, float] = field(default_factory=dict)
    rss_end: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds spent during the run, per process
    no_page_to_ack: int = 0


async def steady_load(stage: Stage, rate: float, ack_rate: float, seconds: float, ack_timeout: int) -> SteadyRun:
    run = SteadyRun()
    young: deque[tuple[float, int, int]] = deque()  # (posted at, event id, person asked first), oldest first
    operator = bearer(stage.token)
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)

    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        async def post(n: int, outcomes: list[Outcome]) -> None:
            outcome, answer = await timed(client, "POST /events", "POST", f"{stage.base(n)}/api/v1/events",
                                          headers=operator, json=stage.event_body(n % 6, f"Fuite {n}"))
            outcomes.append(outcome)
            if answer is not None and answer.status_code == 201:
                detail = answer.json()
                if detail["pages"]:
                    young.append((time.monotonic(), detail["id"], detail["pages"][0]["current_person_id"]))

        async def ack(n: int) -> None:
            # The youngest page: still asking its first person, whose phone answers.
            while young and young[0][0] < time.monotonic() - (ack_timeout - 2):
                young.popleft()
            if not young:
                run.no_page_to_ack += 1
                return
            _, event_id, person_id = young.pop()
            url = f"{stage.base(n)}/api/v1/events/{event_id}/responses"
            phone = bearer(stage.world.phones[person_id])
            outcome, _ = await timed(client, "ack (phone)", "POST", url, headers=phone, json={"kind": "ack", "via": "app"})
            run.outcomes.append(outcome)

        warm: list[Outcome] = []  # a fresh process compiles its statements on its first requests
        await paced_async(rate, min(5.0, seconds / 4), lambda n: post(n, warm))
        run.rss_start = stage.fleet.rss()
        cpu_start = {**stage.fleet.cpu(), "bench client": time.process_time()}
        run.first_id = await asyncio.to_thread(max_trace_id, stage.read)
        run.began = time.time()
        await asyncio.gather(paced_async(rate, seconds, lambda n: post(n, run.outcomes)),
                             paced_async(ack_rate, seconds, ack) if ack_rate > 0 else asyncio.sleep(0))
        run.ended = time.time()
        run.rss_end = stage.fleet.rss()
        cpu_end = {**stage.fleet.cpu(), "bench client": time.process_time()}
        run.cpu = {name: cpu_end[name] - start for name, start in cpu_start.items() if name in cpu_end}
        run.last_id = await asyncio.to_thread(max_trace_id, stage.read)
    return run


def report_steady(stage: Stage, run: SteadyRun, seen: dict, rate: float, ack_rate: float) -> None:
    seconds = run.ended - run.began
    report_requests(run.outcomes, "POST /events", 201, 200)
    report_requests(run.outcomes, "ack (phone)", 201)
    created = sum(o.status == 201 for o in run.outcomes if o.kind == "POST /events")
    acked = sum(o.status == 201 for o in run.outcomes if o.kind == "ack (phone)")
    print(f"  achieved: {created / seconds:.1f} events/s (asked {rate:g}), {acked / seconds:.1f} acks/s "
          f"(asked {ack_rate:g}; no young page to ack {run.no_page_to_ack} times)")
    errors = Counter((o.kind, o.status) for o in run.outcomes if isinstance(o.status, str) or o.status >= 400)
    print(f"  errors: {dict(errors) if errors else 'none'}")

    began = datetime.fromtimestamp(run.began, UTC)
    with transaction(stage.read) as s:
        rows = s.execute(select(Event.id, Event.received_at, func.min(Notification.handed_off_at))
                         .join(Notification, Notification.event_id == Event.id, isouter=True)
                         .where(Event.received_at >= began).group_by(Event.id)).all()
    first = [(handed - received).total_seconds() * 1000 for _, received, handed in rows if handed is not None]
    print(f"  event received → first SMS handed off: {spread(first)} {target(p99_within(first, 500), 'p99 ≤ 500 ms')}"
          f"; events without a hand-off yet: {sum(handed is None for *_, handed in rows)}")
    steps = [step for step in timeout_steps(stage.read) if run.began <= step.due <= run.ended]
    print_lateness("step lateness", steps, 250, stage.read)

    growth = {name: (run.rss_end[name] - mb) / mb * 100 for name, mb in run.rss_start.items() if name in run.rss_end}
    print("  RSS: " + ", ".join(f"{name} {mb:.0f} → {run.rss_end.get(name, float('nan')):.0f} MB "
                                f"({growth.get(name, float('nan')):+.1f} %)" for name, mb in run.rss_start.items())
          + " " + target(all(g <= 10 for g in growth.values()) if growth else None, "growth ≤ 10 %"))

    # On a machine of a few cores the bench's own work (the client, the consoles) is a share of the figures.
    print(f"  CPU during the run ({os.cpu_count()} CPUs × {seconds:.0f} s = {os.cpu_count() * seconds:.0f} s): "
          + ", ".join(f"{name} {value:.1f} s" for name, value in run.cpu.items())
          + f"; the consoles' process {seen['cpu_s']:.1f} s from the warm-up to their stop")
    expected = _entries_between(stage.read, run.first_id, run.last_id)
    got = seen["in_range"]
    if got:
        print(f"  consoles: {len(got)} connected; trace entries written meanwhile {expected}, received per console: "
              f"min {min(got)}, median {statistics.median(got):.0f}, max {max(got)} "
              f"({sum(expected - g for g in got)} missing in all); reconnections {seen['reconnects']}, "
              f"errors {seen['errors'] or 'none'}")
        print(f"  console lag (entry's `at` → on the console): p50 {seen['lag_p50']:.0f} ms, "
              f"p99 {seen['lag_p99']:.0f} ms, max {seen['lag_max']:.0f} ms over {seen['samples']} deliveries")
    else:
        print("  consoles: none connected")


def _entries_between(read, first_id: int, last_id: int) -> int:
    with transaction(read) as s:
        return s.scalar(select(func.count(TraceEntry.id)).where(TraceEntry.id > first_id, TraceEntry.id <= last_id))


# The consoles, in a process of their own: reading every entry on 100 sockets is real work,
# and it must not slow the client whose requests are timed.

class Consoles:
    def __init__(self, stage: Stage, count: int):
        self.urls = [base.replace("http://", "ws://") + "/api/v1/ws" for base in stage.bases]
        self.token, self.count = stage.token, count

    def __enter__(self) -> Consoles:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_consoles_main, args=(child, self.urls, self.token, self.count), daemon=True)
        self._process.start()
        if not self._conn.poll(120):
            raise SystemExit("the consoles did not connect within 120 s")
        self._conn.recv()
        return self

    def stop(self, first_id: int, last_id: int) -> dict:
        self._conn.send((first_id, last_id))
        return self._conn.recv()

    def __exit__(self, *exc) -> None:
        self._process.terminate()
        self._process.join(5)


class Seen:
    """The trace entry ids one console received: one bit each."""

    def __init__(self) -> None:
        self.bits = bytearray(1 << 14)
        self.ready = asyncio.Event()
        self.last = 0

    def add(self, entry_id: int) -> None:
        byte = entry_id >> 3
        if byte >= len(self.bits):
            self.bits.extend(bytes(max(byte + 1, 2 * len(self.bits)) - len(self.bits)))
        self.bits[byte] |= 1 << (entry_id & 7)
        self.last = max(self.last, entry_id)

    def count(self, after: int, upto: int) -> int:
        """Ids in (after, upto]."""
        inside = (1 << (upto + 1)) - (1 << (after + 1))
        return (int.from_bytes(self.bits, "little") & inside).bit_count()


def _consoles_main(conn, urls: list[str], token: str, count: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the bench stops it
    os.nice(api_nice())  # screens elsewhere: never ahead of the servers
    asyncio.run(_consoles(conn, urls, token, count))


async def _consoles(conn, urls: list[str], token: str, count: int) -> None:
    lags: Counter = Counter()  # milliseconds -> deliveries
    problems: Counter = Counter()
    reconnects = [0]
    seen = [Seen() for _ in range(count)]
    tasks = [asyncio.create_task(_console(urls[i % len(urls)], token, seen[i], lags, problems, reconnects))
             for i in range(count)]
    await asyncio.gather(*(s.ready.wait() for s in seen))
    conn.send("ready")
    cpu_start = time.process_time()
    first_id, last_id = await asyncio.to_thread(conn.recv)
    cpu = time.process_time() - cpu_start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    ordered = sorted(lags.items())
    total = sum(lags.values())

    def quantile(q: float) -> float:
        running = 0
        for ms, n in ordered:
            running += n
            if running >= q * total:
                return ms
        return float("nan")

    conn.send({"in_range": [s.count(first_id, last_id) for s in seen], "reconnects": reconnects[0], "cpu_s": cpu,
               "errors": dict(problems), "samples": total, "lag_p50": quantile(0.5), "lag_p99": quantile(0.99),
               "lag_max": ordered[-1][0] if ordered else float("nan")})


async def _console(url: str, token: str, seen: Seen, lags: Counter, problems: Counter, reconnects: list[int]) -> None:
    import websockets

    while True:
        query = f"?after={seen.last}" if seen.last else ""
        try:
            async with websockets.connect(url + query, open_timeout=60, max_size=2**24) as ws:
                await ws.send(json.dumps({"type": "auth", "token": token}))
                async for raw in ws:
                    now = time.time()
                    message = json.loads(raw)
                    kind = message.get("type")
                    # Entries committed together come as one message ("traces").
                    entries = [message["entry"]] if kind == "trace" else message.get("entries", [])
                    for entry in entries:
                        seen.add(entry["id"])
                        lags[int((now - datetime.fromisoformat(entry["at"]).timestamp()) * 1000)] += 1
                    if kind == "hello":
                        seen.ready.set()
                problems[f"closed {ws.close_code}"] += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - counted and reported; the console connects again
            problems[type(exc).__name__] += 1
        reconnects[0] += 1
        await asyncio.sleep(0.5)


# 3. burst ---------------------------------------------------------------------------------------------

def scenario_burst(args) -> None:
    n = args.events or 100
    ack_timeout = 60
    # The warm-up's procedure never steps during the run: only the burst's steps are measured.
    chains = [Chain([0, 1, 2], ack_timeout), Chain([3], 3600)]
    with GatewayProcess() as gateway, Stage(args, "burst", people=4, chains=chains, providers=[gateway.url]) as stage:
        stage.start()
        print(f"== burst — {stage.layout}: {n} events posted within 0.5 s, ack timeout {ack_timeout} s ==",
              flush=True)
        with httpx.Client(timeout=30, headers=bearer(stage.token)) as client:
            for i in range(5):  # a fresh process compiles its statements on its first requests
                stage.post_event(client, i, 1, f"Chauffe {i}")
        outcomes, ids = asyncio.run(burst_posts(stage, n, 0.5))
        report_requests(outcomes, "POST /events", 201)
        print(f"  5xx: {five_hundreds(outcomes)}")
        with transaction(stage.read) as s:
            received = [wall(at) for at in s.scalars(select(Event.received_at).where(Event.id.in_(ids)))]
        if not received:
            return
        print(f"  events received over {max(received) - min(received):.2f} s; waiting for their steps "
              f"(due {ack_timeout} s after each)", flush=True)
        time.sleep(max(0.0, max(received) + ack_timeout + 5 - time.time()))
        burst = set(ids)
        steps = [step for step in timeout_steps(stage.read) if step.event_id in burst]
        print(f"  steps fired: {len(steps)} of {len(ids)}")
        print_lateness("step lateness after the wait", steps, 100, stage.read)


async def burst_posts(stage: Stage, n: int, within_s: float) -> tuple[list[Outcome], list[int]]:
    ids: list[int] = []
    outcomes: list[Outcome] = []
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=None)) as client:
        async def post(k: int) -> None:
            outcome, answer = await timed(client, "POST /events", "POST", f"{stage.base(k)}/api/v1/events",
                                          headers=bearer(stage.token), json=stage.event_body(0, f"Orage {k}"))
            outcomes.append(outcome)
            if answer is not None and answer.status_code == 201:
                ids.append(answer.json()["id"])

        await paced_async(n / within_s, within_s, post)
    return outcomes, ids


# 4. kill ----------------------------------------------------------------------------------------------

def _serve_provider(conn, delay_s: float) -> None:
    from tests.peers.sms_gateway import SmsGateway

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the bench stops it, after the workers

    with SmsGateway(delay_s=delay_s) as gateway:
        conn.send(gateway.apprise_url())
        while True:
            command, *arg = conn.recv()
            if command == "delay":
                gateway.delay_s = arg[0]
                conn.send(None)
            elif command == "arrived":
                conn.send(gateway.arrived)
            elif command == "received":
                conn.send([(r.json["to"], r.json["text"], r.at) for r in list(gateway.requests)
                           if isinstance(r.json, dict)])


class Provider:
    """An SMS gateway in a process of its own whose answer delay can change, and what it received
    ((to, text, answered at on the monotonic clock) per request)."""

    def __init__(self, delay_s: float = 0.0):
        self.delay_s = delay_s

    def __enter__(self) -> Provider:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(target=_serve_provider,
                                                                     args=(child, self.delay_s), daemon=True)
        self._process.start()
        self.url = self._conn.recv()
        return self

    def _ask(self, *command):
        self._conn.send(command)
        return self._conn.recv()

    def set_delay(self, seconds: float) -> None:
        self._ask("delay", seconds)

    def arrived(self) -> int:
        """Requests received so far, answered or still held."""
        return self._ask("arrived")

    def received(self) -> list[tuple[str, str, float]]:
        return self._ask("received")

    def __exit__(self, *exc) -> None:
        self._process.terminate()
        self._process.join(5)


@dataclass
class Kill:
    point: str
    pid: int
    died: bool  # by SIGKILL, as planned
    wall: float
    mono: float
    orphans: list[int]  # notifications the dead worker had leased
    resume_ms: float | None = None  # from the kill to the next hand-off recorded by anyone


def scenario_kill(args) -> None:
    postgres = args.db != "sqlite"
    rate = args.rate or 10.0
    ack_timeout, lease = 3, 3
    killed_env = {"VIGIE_SEND_LIMITS": json.dumps({"sms": args.kill_send_limit})}
    with Provider() as killed_gateway, Provider() as other_gateway, Stage(
            args, "kill", people=3, chains=[Chain([0, 1, 2], ack_timeout)], providers=[killed_gateway.url],
            env={"VIGIE_LEASE_SECONDS": str(lease)}) as stage:
        # The survivor has a gateway of its own: what the killed worker's gateway holds is the killed worker's.
        stage.start(serve_worker=False, workers=1 if postgres else 0,
                    worker_env={"VIGIE_SMS_PROVIDERS": json.dumps([other_gateway.url])})
        print(f"== kill — {stage.layout}, and the worker killed: {args.kills} kills at each of "
              f"{', '.join(KILL_POINTS)}; {rate:g} events/s, three people, ack timeout {ack_timeout} s, "
              f"lease {lease} s, the killed worker sends {args.kill_send_limit} SMS at a time ==", flush=True)
        load = Load(stage, rate)
        load.start()
        kills = []
        for point in KILL_POINTS:
            killed_gateway.set_delay(0.3 if point == "during" else 0.0)
            for _ in range(args.kills):
                kills.append(kill_once(stage, killed_gateway, point, killed_env))
                restart(stage, kills[-1], killed_env)
        killed_gateway.set_delay(0.0)
        stage.fleet.start("worker-clean", "worker")  # as configured in production: the default limits
        load.stop()
        left = wait_quiet(stage.read, 180)
        print(f"  load: {load.summary()}")
        if left != (0, 0):
            print(f"  NOT drained after 180 s: {left[0]} active pages, {left[1]} queued notifications")
        report_kills(stage, kills, killed_gateway.received() + other_gateway.received())


def kill_once(stage: Stage, gateway: Provider, point: str, env: dict[str, str]) -> Kill:
    fault = {"claimed": "claimed:1", "handed_off": f"handed_off:{random.randint(1, 5)}"}.get(point)
    arrived_before = gateway.arrived()
    process = stage.fleet.start("worker-killed", "worker",
                                env={**env, **({"VIGIE_FAULT_KILL": fault} if fault else {})})
    try:
        if fault:
            process.wait(60)
        else:  # killed from outside while its gateway holds its message
            deadline = time.monotonic() + 60
            while gateway.arrived() == arrived_before and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        print(f"  a worker to kill at {point} was still alive after 60 s: killed anyway", flush=True)
    at_wall, at_mono = time.time(), time.monotonic()
    with transaction(stage.read) as s:
        orphans = list(s.scalars(select(Notification.id).where(Notification.claimed_by.like(f"%:{process.pid}:%"),
                                                                Notification.status == "queued")))
    return Kill(point, process.pid, process.returncode == -signal.SIGKILL, at_wall, at_mono, orphans)


def restart(stage: Stage, kill: Kill, env: dict[str, str]) -> None:
    """As a supervisor would: a worker again at once. It runs until the next hand-off and until the
    dead worker's messages are handed off (their lease must run out first), then stops cleanly."""
    worker = stage.fleet.start("worker-restarted", "worker", env=env)
    since = datetime.fromtimestamp(kill.wall, UTC)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with transaction(stage.read) as s:
            handed = s.scalar(select(func.min(Notification.handed_off_at)).where(Notification.handed_off_at > since))
            waiting = s.scalar(select(func.count(Notification.id)).where(Notification.id.in_(kill.orphans),
                                                                         Notification.status == "queued"))
        if handed is not None and kill.resume_ms is None:
            kill.resume_ms = (wall(handed) - kill.wall) * 1000
        if kill.resume_ms is not None and not waiting:
            break
        time.sleep(0.02)
    worker.terminate()
    worker.wait(30)


def report_kills(stage: Stage, kills: list[Kill], received: list[tuple[str, str, float]]) -> None:
    arrivals: dict[tuple[str, str], list[float]] = defaultdict(list)
    for to, body, at in received:
        arrivals[(to, body)].append(at)
    duplicates: Counter = Counter()  # kill index -> duplicates
    unattributed = 0
    for times in arrivals.values():
        times.sort()
        # Each hand-off again is owed to the kill nearest the one before it (that kill left it
        # unrecorded); a message resent and left unrecorded again counts once for each kill.
        for previous in times[:-1]:
            nearest = min(range(len(kills)), key=lambda k: abs(kills[k].mono - previous), default=None)
            if nearest is None or abs(kills[nearest].mono - previous) > 2.0:
                unattributed += 1
            else:
                duplicates[nearest] += 1

    with transaction(stage.read) as s:
        handed = s.execute(select(Notification.id, Notification.handed_off_at)
                           .where(Notification.handed_off_at.is_not(None))).all()
        expected = set(s.execute(select(Notification.address, Notification.text).where(
            Notification.channel == "sms", Notification.status != "cancelled")).all())
    handed_at = {nid: wall(at) for nid, at in handed}

    for point in KILL_POINTS:
        mine = [k for k, kill in enumerate(kills) if kill.point == point]
        died = sum(kills[k].died for k in mine)
        per_kill = [duplicates[k] for k in mine]
        resume = [kills[k].resume_ms for k in mine if kills[k].resume_ms is not None]
        orphans = [o for k in mine for o in kills[k].orphans]
        recovered = [(handed_at[o] - kills[k].wall) * 1000 for k in mine for o in kills[k].orphans if o in handed_at]
        print(f"  {point}: {died}/{len(mine)} kills by SIGKILL; duplicate hand-offs {sum(per_kill)}, "
              f"max per kill {max(per_kill, default=0)} {target(max(per_kill, default=0) <= 1, '≤ 1 per kill')}")
        print(f"    kill → next hand-off: {spread(resume)}")
        print(f"    messages leased by the dead worker: {len(orphans)}, handed off {spread(recovered)} after the "
              f"kill, never {len(orphans) - len(recovered)}")
    print(f"  duplicates far from any kill: {unattributed}")
    lost, twice, still_open, pages = chain_check(stage.read)
    print(f"  pages {pages}: lost steps (a person or round skipped) in {lost} {target(lost == 0, '0 lost')}; "
          f"steps written twice {twice} {target(twice == 0, '0 twice')}; still active {still_open}")
    at_gateways = set(arrivals)
    print(f"  SMS to send {len(expected)}: never reached a gateway {len(expected - at_gateways)}")


def chain_check(read) -> tuple[int, int, int, int]:
    """Pages whose notify entries are not their chain in order, steps notified twice, pages still active, pages."""
    with transaction(read) as s:
        pages = s.execute(select(Page.id, Page.policy, Page.severity, Page.status)).all()
        notified = s.scalars(select(TraceEntry.data).where(TraceEntry.kind == "page.notify")
                             .order_by(TraceEntry.event_id, TraceEntry.seq)).all()
    steps: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for data in notified:
        steps[data["page_id"]].append((data["round"], data["person_id"]))
    lost = twice = still_open = 0
    for page_id, policy, severity, status in pages:
        repeats = policy["timings"][str(severity)]["repeats"]
        chain = [(r, m) for r in range(repeats + 1) for group in policy["chain"] for m in group["members"]]
        mine = steps[page_id]
        distinct = list(dict.fromkeys(mine))
        twice += len(mine) - len(distinct)
        still_open += status == "active"
        lost += distinct != (chain if status == "unreached" else chain[:len(distinct)])
    return lost, twice, still_open, len(pages)


# 5. slow provider -------------------------------------------------------------------------------------

def scenario_slow_provider(args) -> None:
    rate = args.rate or 3.0
    seconds = min(60.0, args.duration)
    ack_timeout, slow_s = 5, 12
    with Provider(slow_s) as slow, Provider() as healthy, Stage(
            args, "slow-provider", people=3, chains=[Chain([0, 1, 2], ack_timeout, repeats=1)],
            providers=[slow.url, healthy.url]) as stage:
        stage.start()
        print(f"== slow-provider — {stage.layout}: providers [answers after {slow_s} s, healthy]; {rate:g} events/s "
              f"for {seconds:g} s, three people twice, ack timeout {ack_timeout} s ==", flush=True)
        load = Load(stage, rate)
        load.start()
        time.sleep(seconds)
        load.stop()
        left = wait_quiet(stage.read, 120)
        print(f"  load: {load.summary()}")
        if left != (0, 0):
            print(f"  not quiet after 120 s: {left[0]} active pages, {left[1]} queued notifications")
        at_healthy = {(to, body) for to, body, _ in healthy.received()}
        with transaction(stage.read) as s:
            sms = s.execute(select(Notification.address, Notification.text, Notification.created_at,
                                   Notification.handed_off_at, Notification.provider_ref)
                            .where(Notification.channel == "sms", Notification.status != "cancelled")).all()
        reached = sum((address, body) in at_healthy for address, body, *_ in sms)
        latency = [(handed - created).total_seconds() * 1000 for _, _, created, handed, _ in sms if handed]
        print(f"  received: slow provider {slow.arrived()} requests, healthy provider {healthy.arrived()}")
        print(f"  messages {len(sms)}: reached the healthy provider {reached} "
              f"{target(reached == len(sms), 'every message reaches the healthy one')}; handed off by "
              f"{dict(Counter(ref for *_, ref in sms))}")
        print(f"  hand-off latency (created → handed off): {spread(latency)}")
        print_lateness("step lateness", timeout_steps(stage.read), 250, stage.read)


# ------------------------------------------------------------------------------------------------------

RUNNERS = {"answers": scenario_answers, "steady": scenario_steady, "burst": scenario_burst,
           "kill": scenario_kill, "slow-provider": scenario_slow_provider}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a postgresql:// URL (reset!)")
    parser.add_argument("--scenario", default="all", help=f"all, or some of {', '.join(SCENARIOS)} (comma-separated)")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, default=10.0, help="steady: how long (default 10)")
    length.add_argument("--seconds", type=float, help="steady: how long, in seconds (slow-provider: at most this)")
    parser.add_argument("--rate", type=float, help="events/s: steady (50 PostgreSQL, 20 SQLite), kill (10), "
                                                   "slow-provider (3)")
    parser.add_argument("--ack-rate", type=float, help="steady: acks/s (default 20, at most 40 %% of the events)")
    parser.add_argument("--ack-timeout", type=int, help="steady: seconds before the next person is asked "
                        "(default 30; a run shorter than 2 minutes: a quarter of it)")
    parser.add_argument("--consoles", type=int, default=100, help="steady: WebSocket consoles")
    parser.add_argument("--events", type=int, help="answers: events answered at once (200); burst: events (100)")
    parser.add_argument("--kills", type=int, default=20, help="kill: kills at each point")
    parser.add_argument("--kill-send-limit", type=int, default=1, help="kill: the killed worker's SMS in flight")
    args = parser.parse_args()
    args.duration = args.seconds if args.seconds is not None else args.minutes * 60
    chosen = SCENARIOS if args.scenario == "all" else tuple(args.scenario.split(","))
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run every `finally`: no orphan process
    print(machine_jitter(), flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load}", flush=True)
    try:
        for name in chosen:
            RUNNERS[name](args)
            print(flush=True)
    except KeyboardInterrupt:  # every process of the scenario is stopped by now
        raise SystemExit("interrupted") from None


if __name__ == "__main__":
    main()
