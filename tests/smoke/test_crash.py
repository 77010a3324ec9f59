"""A worker killed with SIGKILL mid-escalation and restarted: every due step still happens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

from sqlalchemy import func, select

from backend.db import transaction
from backend.events import service as event_service
from backend.events.schemas import EventCreate
from backend.outbox.models import Notification
from backend.pages.models import Page
from backend.trace import service as trace_service
from backend.trace.models import TraceEntry
from backend.trace.service import Actor
from tests.factories import build_world
from tests.smoke.harness import wait_until

PAGES = 20
TIMEOUT_S = 1


def start_worker(database_url: str, log_path) -> subprocess.Popen:
    # Every page texts the same five people: flood protection would merge most SMS (not what is tested).
    env = {**os.environ, "DATABASE_URL": database_url, "VIGIE_LEASE_SECONDS": "2", "VIGIE_SMS_FLOOD_LIMIT": "1000000",
           "VIGIE_VAR_DIR": str(log_path.parent / "var")}
    return subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=env,
                            stdout=open(log_path, "ab"), stderr=subprocess.STDOUT)


def test_killed_worker_loses_no_step(runtime, settings, tmp_path):
    factory = runtime.session_factory
    world = build_world(factory, ack_timeout_s=TIMEOUT_S)
    for n in range(PAGES):
        with transaction(factory) as session:
            event_service.create(db_session=session, org_ids=frozenset({world.commune_id}), actor=Actor("system", None, "test"), user_id=None,
                draft=EventCreate(organization_id=world.commune_id, procedure_id=world.procedure_id, severity=3, title=f"Arbre {n}"))
    # tech 1-3 then cadre 1-2, twice: 10 solicitations per page, then "unreached".
    expected = (world.techs + world.cadres) * 2

    log = tmp_path / "worker.log"
    worker = start_worker(settings.database_url, log)
    time.sleep(3.5)  # mid-escalation: some pages have advanced, none has finished
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    with transaction(factory) as session:
        unreached = session.scalar(select(func.count(Page.id)).where(Page.status == "unreached"))
    assert unreached == 0, "the kill must happen in the middle of the escalations"

    worker = start_worker(settings.database_url, log)
    try:
        def all_unreached():
            with transaction(factory) as session:
                return session.scalar(select(func.count(Page.id)).where(Page.status == "unreached")) == PAGES

        wait_until(all_unreached, timeout=60, interval=0.5, what="every page to run its whole chain")
        wait_until(lambda: _queued(factory) == 0, timeout=20, interval=0.2, what="the outbox to drain")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)

    with transaction(factory) as session:
        for page in session.scalars(select(Page)):
            entries = session.scalars(select(TraceEntry).where(TraceEntry.event_id == page.event_id)
                                      .order_by(TraceEntry.seq)).all()
            notified = [e.data["person_id"] for e in entries if e.kind == "page.notify"]
            assert notified == expected, f"page {page.id}: a step was lost or repeated"
            assert Counter(e.kind for e in entries)["page.unreached"] == 1
            assert trace_service.verify(db_session=session, event=page_event(session, page)).intact
        statuses = Counter(session.scalars(select(Notification.status)))
        assert set(statuses) <= {"delivered", "sent"}, statuses


def _queued(factory) -> int:
    with transaction(factory) as session:
        return session.scalar(select(func.count(Notification.id)).where(Notification.status == "queued"))


def page_event(session, page):
    from backend.events.models import Event

    return session.get(Event, page.event_id)
