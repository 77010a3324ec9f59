"""A worker on a host whose clock is an hour off fires nothing early and nothing late.

The worker runs in its own process with its Python clock moved (time-machine: `datetime.now`,
`time.time`); the database keeps the true time. What is due, and the trace's timestamps, come
from the database's clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.db import db_now, transaction
from backend.events import service as event_service
from backend.events.schemas import EventCreate
from backend.outbox.models import Notification
from backend.pages.models import Page
from backend.trace.models import TraceEntry
from backend.trace.service import Actor
from tests.factories import build_world
from tests.smoke.harness import wait_until

TIMEOUT_S = 4
SKEWED_WORKER = """
import sys, time_machine
from datetime import datetime, timedelta, timezone
time_machine.travel(datetime.now(timezone.utc) + timedelta(seconds=float(sys.argv[1])), tick=True).start()
from backend.cli import main
sys.exit(main(["worker"]))
"""


@pytest.mark.parametrize("offset_s", [3600, -3600], ids=["an hour ahead", "an hour behind"])
def test_a_worker_with_a_wrong_clock_fires_on_the_database_time(runtime, settings, tmp_path, offset_s):
    factory = runtime.session_factory
    world = build_world(factory, ack_timeout_s=TIMEOUT_S)
    with transaction(factory) as session:
        event = event_service.create(db_session=session, org_ids=frozenset({world.commune_id}), actor=Actor("system", None, "test"), user_id=None,
                    draft=EventCreate(organization_id=world.commune_id, procedure_id=world.procedure_id, severity=3, title="Arbre"))
        page = session.scalar(select(Page).where(Page.event_id == event.id))
        first_due = page.due_at
    env = {**os.environ, "DATABASE_URL": settings.database_url, "VIGIE_VAR_DIR": str(tmp_path / "var"),
           "VIGIE_SMS_FLOOD_LIMIT": "1000"}
    worker = subprocess.Popen([sys.executable, "-c", SKEWED_WORKER, str(offset_s)], env=env,
                              stdout=open(tmp_path / "worker.log", "wb"), stderr=subprocess.STDOUT)
    try:
        # Nothing late: the first messages (due now) leave although the host thinks it is an hour before.
        wait_until(lambda: _handed_off(factory, event.id) > 0, timeout=15, what="the first messages to leave")
        # Nothing early: the next step waits for its due time, although the host thinks it is an hour later.
        with transaction(factory) as session:
            assert db_now(session) < first_due, "the test machine is too slow for this test"
        assert _member_index(factory, page.id) == 0
        wait_until(lambda: _member_index(factory, page.id) == 1, timeout=TIMEOUT_S + 10,
                   what="the second technician to be paged")
    finally:
        worker.terminate()
        worker.wait(10)
    with transaction(factory) as session:
        entries = session.scalars(select(TraceEntry).where(TraceEntry.event_id == event.id)).all()
        stepped = next(e for e in entries if e.kind == "page.notify" and e.data["person_id"] == world.techs[1])
        assert first_due <= stepped.at < first_due + timedelta(seconds=5)
        now = db_now(session)
        # Every entry written by the skewed worker carries the database's time, not its own.
        assert all(abs((e.at - now).total_seconds()) < 60 for e in entries)
        handed = session.scalars(select(Notification.handed_off_at).where(
            Notification.event_id == event.id, Notification.handed_off_at.is_not(None))).all()
        assert handed and all(abs((at - now).total_seconds()) < 60 for at in handed)


def _handed_off(factory, event_id: int) -> int:
    with transaction(factory) as session:
        return len(session.scalars(select(Notification.id).where(
            Notification.event_id == event_id, Notification.handed_off_at.is_not(None))).all())


def _member_index(factory, page_id: int) -> int:
    with transaction(factory) as session:
        return session.scalar(select(Page.member_index).where(Page.id == page_id))

