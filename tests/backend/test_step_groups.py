"""Due steps fire a few per transaction; one that fails holds back none of the others."""

from __future__ import annotations

import time

from sqlalchemy import select, update

from backend.db import transaction
from backend.pages import service as page_service
from backend.pages.models import Page
from backend.trace.models import TraceEntry
from backend.worker.engine import Worker
from tests.factories import build_world, open_events


def test_a_failing_step_leaves_the_others_of_its_group_fired(runtime, recording_channels, monkeypatch):
    factory = runtime.session_factory
    world = build_world(factory)
    events = open_events(factory, world, 6)
    with transaction(factory) as session:
        pages = dict(session.execute(select(Page.event_id, Page.id).where(Page.event_id.in_(events))).all())
        session.execute(update(Page).where(Page.id.in_(pages.values()))
                        .values(due_at=Page.started_at))  # every first technician's time is up
    broken = pages[events[3]]
    real_step = page_service.step_due_page

    def step_due_page(**kwargs):
        fired = real_step(**kwargs)
        if kwargs["page_id"] == broken:
            raise RuntimeError("a step that fails after writing")
        return fired

    monkeypatch.setattr(page_service, "step_due_page", step_due_page)
    worker = Worker(session_factory=factory, channels=recording_channels, lease_seconds=30)
    assert worker._fire_due_pages() == 6

    with transaction(factory) as session:
        rows = {page.event_id: page for page in session.scalars(select(Page).where(Page.event_id.in_(events)))}
        second_notices = set(session.scalars(select(TraceEntry.event_id).where(
            TraceEntry.kind == "page.notify", TraceEntry.data["person_id"].as_integer() == world.techs[1])))
    fired = [event for event in events if event != events[3]]
    assert all(rows[event].current_person_id == world.techs[1] for event in fired)
    assert second_notices == set(fired)
    # The failing step wrote nothing and keeps its lease: another worker takes it once the lease ends.
    assert rows[events[3]].current_person_id == world.techs[0]
    assert rows[events[3]].claimed_by == worker.worker_id


def test_steps_of_one_group_are_stamped_with_the_time_each_fired(runtime, recording_channels, monkeypatch):
    factory = runtime.session_factory
    world = build_world(factory)
    events = open_events(factory, world, 3)
    with transaction(factory) as session:
        session.execute(update(Page).where(Page.event_id.in_(events)).values(due_at=Page.started_at))
    real_step = page_service.step_due_page

    def slow_step(**kwargs):
        time.sleep(0.015)
        return real_step(**kwargs)

    monkeypatch.setattr(page_service, "step_due_page", slow_step)
    Worker(session_factory=factory, channels=recording_channels)._fire_due_pages()
    with transaction(factory) as session:
        stamps = sorted(session.scalars(select(TraceEntry.at).where(
            TraceEntry.kind == "page.notify", TraceEntry.event_id.in_(events),
            TraceEntry.data["person_id"].as_integer() == world.techs[1])))
    assert len(stamps) == 3
    assert all((later - earlier).total_seconds() >= 0.01 for earlier, later in zip(stamps, stamps[1:]))
