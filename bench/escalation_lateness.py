"""Escalation lateness: how long after its due time does each escalation step fire?

Creates N active pages whose next step is due at a random instant of a window, starts W
`vigie worker` processes, and reads back from the trace when each step fired. Prints
lateness (fired − due) p50/p99/max, the workers' peak memory, and duplicate steps.

    .venv/bin/python bench/escalation_lateness.py --db sqlite --pages 1000 --workers 1
    .venv/bin/python bench/escalation_lateness.py --db postgresql://postgres@127.0.0.1:5432/vigie_bench --pages 10000 --workers 2

Runs by hand; it resets the database it is given (never point it at the test suite's database).

Creating the pages through `event_service.create` is the slow part of a run (about 30 ms an
event, growing with the number of pages). `--setup-cache FILE` keeps the database as it is
right after the pages were created (before any worker ran): the first run with FILE creates the
pages and saves them there (SQLite: a copy of the file; PostgreSQL: `pg_dump -Fc`), later runs
with the same FILE and `--pages` restore it instead of creating the pages again. Restored pages
are the same real pages; their due times are then set by the schedule exactly as after a
fresh setup. The measured part (workers firing due steps) is the same either way.
`--setup-only` creates and saves the pages and stops there (no worker):

    .venv/bin/python bench/escalation_lateness.py --db postgresql://postgres@127.0.0.1:5432/vigie_bench \
        --pages 10000 --setup-cache bench/results/pg-10000.dump --setup-only
    .venv/bin/python bench/escalation_lateness.py --db postgresql://postgres@127.0.0.1:5432/vigie_bench \
        --pages 10000 --workers 2 --setup-cache bench/results/pg-10000.dump
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import Settings  # noqa: E402
from backend.db import make_engine, make_session_factory, transaction, utcnow  # noqa: E402
from backend.events import service as event_service  # noqa: E402
from backend.events.schemas import EventCreate  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.outbox.models import Notification  # noqa: E402
from backend.pages.models import Page  # noqa: E402
from backend.runtime import session_info  # noqa: E402
from backend.trace.models import TraceEntry  # noqa: E402
from backend.trace.service import Actor  # noqa: E402
from bench.world import build  # noqa: E402


def reset(url: str) -> str:
    if url == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="vigie-bench-")) / "bench.db"
        url = f"sqlite:///{path}"
    else:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    return url


def create_pages(factory, pages: int) -> None:
    world = build(factory)
    actor = Actor("system", None, "bench")
    batch = 500
    for start in range(0, pages, batch):
        with transaction(factory) as session:
            for n in range(start, min(start + batch, pages)):
                event_service.create(db_session=session, org_ids=frozenset({world["commune_id"]}), actor=actor, user_id=None,
                    draft=EventCreate(organization_id=world["commune_id"], procedure_id=world["procedure_id"], severity=2, title=f"Bench {n}"))


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def save_setup(url: str, cache: Path, pages: int) -> None:
    """Keep the freshly created database (no worker has run yet) for later runs."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        source = sqlite3.connect(url.split("///", 1)[1])
        target = sqlite3.connect(cache)
        source.backup(target)
        target.close()
        source.close()
    else:
        subprocess.run(["pg_dump", "-Fc", "--no-owner", "-f", str(cache), _libpq_url(url)], check=True)
    Path(f"{cache}.json").write_text(json.dumps({"pages": pages}))


def restore_setup(url: str, cache: Path, pages: int) -> None:
    """Put back a database saved by `save_setup` into the freshly reset `url`."""
    saved = json.loads(Path(f"{cache}.json").read_text())
    if saved["pages"] != pages:
        raise SystemExit(f"{cache} holds {saved['pages']} pages, not {pages}: use another --setup-cache")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        for leftover in (f"{path}-wal", f"{path}-shm"):
            Path(leftover).unlink(missing_ok=True)
        shutil.copyfile(cache, path)
    else:
        engine = create_engine(url)
        with engine.begin() as conn:  # reset() ran the migrations: the dump brings its own schema
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "-d", _libpq_url(url), str(cache)],
                       check=True)


def schedule(factory, window_s: float, lead_s: float) -> dict[int, object]:
    """Give every page one due time in [now + lead, now + lead + window]."""
    base = utcnow() + timedelta(seconds=lead_s)
    due = {}
    with transaction(factory) as session:
        ids = list(session.scalars(select(Page.id)))
        for page_id in ids:
            due[page_id] = base + timedelta(seconds=random.uniform(0, window_s))
        session.execute(update(Page), [{"id": pid, "due_at": at} for pid, at in due.items()])
    return due


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a postgresql:// URL (reset!)")
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--window", type=float, default=300.0,
                        help="seconds over which the steps fall due (default: the severity-3 ack timeout)")
    parser.add_argument("--setup-cache", type=Path, default=None,
                        help="file keeping the created pages between runs (see the docstring)")
    parser.add_argument("--setup-only", action="store_true",
                        help="with --setup-cache: create and save the pages, start no worker")
    args = parser.parse_args()
    if args.setup_only and args.setup_cache is None:
        parser.error("--setup-only needs --setup-cache")

    url = reset(args.db)
    t0 = time.monotonic()
    if args.setup_cache is not None and args.setup_cache.exists():
        restore_setup(url, args.setup_cache, args.pages)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            # Until the schedule below, no step is due (as right after a fresh setup, whose
            # first timeouts are an hour away), however old the saved database is.
            session.execute(update(Page).where(Page.status == "active")
                            .values(due_at=utcnow() + timedelta(hours=1)))
            restored = session.scalar(select(func.count(Page.id)).where(Page.status == "active"))
        print(f"restored {restored} pages from {args.setup_cache} in {time.monotonic() - t0:.1f}s", flush=True)
    else:
        engine = make_engine(url)
        factory = make_session_factory(engine)
        factory.configure(info=session_info(Settings(DATABASE_URL=url, var_dir=Path(tempfile.mkdtemp()))))
        create_pages(factory, args.pages)
        print(f"created {args.pages} pages in {time.monotonic() - t0:.1f}s", flush=True)
        if args.setup_cache is not None:
            engine.dispose()
            save_setup(url, args.setup_cache, args.pages)
            print(f"saved the setup to {args.setup_cache}", flush=True)
    if args.setup_only:
        engine.dispose()
        return

    env = {**os.environ, "DATABASE_URL": url, "VIGIE_LEASE_SECONDS": "30", "VIGIE_SMS_FLOOD_LIMIT": "1000000000"}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the `finally` below: no orphan workers
    workers = [subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(args.workers)]
    try:
        due = run_workers(factory, engine, url, args)
        peaks = [peak_rss_mb(w.pid) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            try:
                w.wait(30)
            except subprocess.TimeoutExpired:
                w.kill()
    report(factory, args, url, due, peaks)
    engine.dispose()


def run_workers(factory, engine, url: str, args) -> dict[int, object]:
    """With the workers running: drain the first burst, schedule the steps, wait for them."""
    # Let them start and drain the first solicitations: the bench measures the steps, not that burst.
    while True:
        with transaction(factory) as session:
            queued = session.scalar(select(func.count(Notification.id)).where(Notification.status == "queued"))
        if not queued:
            break
        time.sleep(1)
    due = schedule(factory, args.window, lead_s=3.0)
    # The schedule change is not a NOTIFY: wake the workers the way a commit would.
    if not url.startswith("sqlite"):
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_notify('vigie_wake', '')"))
    deadline = time.monotonic() + 3.0 + args.window + 60
    while time.monotonic() < deadline:
        with transaction(factory) as session:
            fired = session.scalar(select(func.count(TraceEntry.id)).where(
                TraceEntry.kind == "page.notify", TraceEntry.data["reason"].as_string() == "timeout"))
        if fired >= len(due):
            break
        time.sleep(0.5)
    return due


def report(factory, args, url: str, due: dict[int, object], peaks: list[float]) -> None:
    with transaction(factory) as session:
        rows = session.execute(
            select(TraceEntry.at, Page.id).join(Page, Page.event_id == TraceEntry.event_id)
            .where(TraceEntry.kind == "page.notify", TraceEntry.data["reason"].as_string() == "timeout")).all()
    per_page = Counter(page_id for _, page_id in rows)
    first_fire = {}
    for at, page_id in rows:
        first_fire[page_id] = min(at, first_fire.get(page_id, at))
    lateness_ms = [(first_fire[p] - due[p]).total_seconds() * 1000 for p in first_fire]
    duplicates = sum(c - 1 for c in per_page.values() if c > 1)
    backend = "sqlite" if url.startswith("sqlite") else "postgresql"
    print(f"{backend} pages={args.pages} workers={args.workers} window={args.window:.0f}s "
          f"fired={len(first_fire)}/{len(due)}")
    if lateness_ms:
        print(f"  lateness ms: p50={statistics.median(lateness_ms):.1f} p99={percentile(lateness_ms, 0.99):.1f} "
              f"max={max(lateness_ms):.1f}")
    print(f"  duplicate steps: {duplicates}")
    print(f"  worker peak RSS MB: {', '.join(f'{p:.0f}' for p in peaks)}")


if __name__ == "__main__":
    main()
