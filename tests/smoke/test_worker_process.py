"""`vigie serve` runs its worker as a child process: woken across processes by each commit, started
again when it is killed, gone when its parent is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select

from backend.bus import LocalBus, bus_directory
from backend.db import transaction
from backend.outbox.models import Notification
from backend.runtime import Runtime
from backend.signals import Signals
from tests.conftest import ON_POSTGRES
from tests.factories import build_world, open_events
from tests.smoke.harness import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _sent(factory, event_ids: list[int]) -> int:
    with transaction(factory) as s:
        return s.scalar(select(func.count(Notification.id)).where(
            Notification.event_id.in_(event_ids), Notification.handed_off_at.is_not(None)))


def _worker_children(server: subprocess.Popen) -> list[psutil.Process]:
    children = []
    for child in psutil.Process(server.pid).children():
        try:
            if "worker" in child.cmdline():
                children.append(child)
        except psutil.ZombieProcess:  # killed, not yet reaped by the supervisor
            pass
    return children


@pytest.mark.skipif(ON_POSTGRES, reason="the local bus carries SQLite's signals; PostgreSQL has LISTEN/NOTIFY")
def test_a_commit_in_one_process_wakes_the_loops_and_the_live_feed_of_another(settings):
    """Two runtimes on one file stand for two processes: only the local bus links them."""
    writer, other = Runtime.build(settings), Runtime.build(settings)
    woken, traced, steps = [], [], []
    try:
        writer.start_listener()
        other.start_listener()
        other.signals.on_wake(lambda: woken.append(True))
        other.signals.on_trace(traced.append)
        other.signals.on_steps_due(steps.append)
        woken.clear(), traced.clear(), steps.clear()  # what each says on joining the bus
        world = build_world(writer.session_factory)
        [event_id] = open_events(writer.session_factory, world, 1)
        wait_until(lambda: woken and traced and steps, timeout=5, what="the other process hears the commit")
        with transaction(writer.session_factory) as s:
            first_due = s.scalar(select(func.min(Notification.due_at)).where(Notification.event_id == event_id))
        assert first_due is not None  # the commit made work: the other process's outbox was woken
        assert any(ids for ids in traced), "the new trace entries reach the other process's live feed"
    finally:
        writer.close(), other.close()


@pytest.mark.skipif(ON_POSTGRES, reason="the local bus is SQLite's")
def test_a_bus_that_cannot_open_leaves_the_process_running_on_its_own(tmp_path):
    """Someone else's file where the bus's directory goes: the server still starts (and polls)."""
    database = tmp_path / "vigie.db"
    blocker = bus_directory(str(database))
    blocker.write_text("not a directory")
    try:
        bus = LocalBus(blocker, Signals(use_pg_notify=False))
        bus.start()
        bus.publish({"wake": True})  # nowhere to send: nothing happens, nothing raises
        bus.stop()
    finally:
        blocker.unlink()


def test_serve_runs_its_worker_in_a_child_restarted_when_killed_and_gone_with_its_parent(runtime, settings, tmp_path):
    factory = runtime.session_factory
    world = build_world(factory)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_") and k != "DATABASE_URL"}
    # Every message to the same few people: flood protection would merge SMS (not what is tested).
    environ.update({"DATABASE_URL": settings.database_url, "VIGIE_VAR_DIR": str(tmp_path / "var"),
                    "VIGIE_SMS_FLOOD_LIMIT": "1000"})
    log = open(tmp_path / "serve.log", "ab")
    server = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", "0"], cwd=ROOT, env=environ,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _worker_children(server), timeout=30, what="the worker process")
        [first] = _worker_children(server)
        events = open_events(factory, world, 3)
        wait_until(lambda: _sent(factory, events) >= 3, timeout=15, what="the child worker sends")

        first.send_signal(signal.SIGKILL)
        wait_until(lambda: [p for p in _worker_children(server) if p.pid != first.pid], timeout=15,
                   what="a new worker process")
        events = open_events(factory, world, 3)
        wait_until(lambda: _sent(factory, events) >= 3, timeout=15, what="the new worker sends")

        [second] = _worker_children(server)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        second.wait(15)  # psutil: raises TimeoutExpired if the orphan stayed
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        log.close()
    assert "worker process ended" in (tmp_path / "serve.log").read_text()
