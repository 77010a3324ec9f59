"""Who wakes the worker's loops: a new step wakes the steps loop sleeping past it; an answer,
which makes no step, does not (it only wakes the outbox, which looks before leasing)."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from backend.db import db_now, transaction
from backend.events.models import Event
from backend.pages.models import Page
from backend.responses import service as response_service
from backend.trace.models import TraceEntry
from backend.trace.service import Actor
from tests.factories import build_world, open_events
from tests.smoke.harness import wait_until


def _sleepy_worker(runtime):
    """The real wiring of `vigie serve`, with a loop that would sleep a minute if nobody woke it."""
    runtime.settings = runtime.settings.model_copy(update={"max_sleep_seconds": 60.0})
    worker = runtime.start_worker()
    worker.start()
    time.sleep(0.3)  # nothing due: both loops asleep
    return worker


def _notifies(factory, event_id: int) -> int:
    with transaction(factory) as s:
        return s.scalar(select(func.count(TraceEntry.id)).where(TraceEntry.event_id == event_id,
                                                               TraceEntry.kind == "page.notify"))


def test_a_new_page_wakes_the_steps_loop_sleeping_past_its_first_timeout(runtime):
    world = build_world(runtime.session_factory, ack_timeout_s=1)
    worker = _sleepy_worker(runtime)
    try:
        [event_id] = open_events(runtime.session_factory, world, 1)
        assert _notifies(runtime.session_factory, event_id) == 1
        # The next person is asked one second later, not when the loop's minute of sleep ends.
        wait_until(lambda: _notifies(runtime.session_factory, event_id) >= 2, timeout=8,
                   what="the step after the first timeout")
    finally:
        worker.stop()


def test_answers_do_not_wake_the_steps_loop(runtime):
    world = build_world(runtime.session_factory, ack_timeout_s=600)
    worker = _sleepy_worker(runtime)
    try:
        event_ids = open_events(runtime.session_factory, world, 10)
        time.sleep(0.5)
        cycles = worker.cycles
        for event_id in event_ids:
            with transaction(runtime.session_factory) as s:
                event = s.get(Event, event_id)
                asked = s.scalar(select(Page.current_person_id).where(Page.event_id == event_id))
                response_service.record(db_session=s, event=event, kind="ack", person_id=asked,
                                        actor=Actor("person", asked, "test"), via="app")
        time.sleep(0.5)
        assert worker.cycles - cycles <= 1
        with transaction(runtime.session_factory) as s:
            assert s.scalar(select(func.count(Page.id)).where(Page.status == "acknowledged")) == 10
    finally:
        worker.stop()


def test_new_messages_wake_the_messages_outbox_not_the_webhooks_one(runtime):
    # Every event makes messages; a métropole without webhooks must not pay a webhooks look for each.
    world = build_world(runtime.session_factory, ack_timeout_s=600)
    worker = _sleepy_worker(runtime)
    try:
        looks, cycles = worker.webhooks.looks, worker.dispatcher.cycles
        open_events(runtime.session_factory, world, 5)
        wait_until(lambda: worker.dispatcher.sent >= 5, timeout=5, what="the five first messages")
        assert worker.dispatcher.cycles > cycles
        assert worker.webhooks.looks == looks
    finally:
        worker.stop()


def test_a_message_queued_by_any_writer_leaves_a_sleeping_outbox_at_once(runtime, recording_channels):
    # An enrolment link is queued outside the alerting loop; the flush that inserts it wakes the outbox.
    from backend.enrolment import service as enrolment_service
    from backend.people.models import Person
    from notifications.base import ChannelKind

    world = build_world(runtime.session_factory)
    worker = _sleepy_worker(runtime)
    try:
        with transaction(runtime.session_factory) as s:
            enrolment_service.send_link(db_session=s, person=s.get(Person, world.techs[0]), channel="sms",
                                        public_url="https://vigie.example.org", by_user_id=None, now=db_now(s))
        # Within 5 s, where the outbox would have slept a minute unwoken.
        wait_until(lambda: recording_channels.get(ChannelKind.SMS).sent, timeout=5, what="the link's SMS")
    finally:
        worker.stop()
