"""An SMS provider that hangs: it is cut off, the next one takes the messages, and the steps keep time.

Before, the worker waited for the whole batch of sends before firing any due step, and the
dispatcher's deadline (10 s) was shorter than one provider's (15 s): the second provider was never
tried and every step fired late by the provider's delay.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.db import transaction
from backend.outbox.models import Notification
from backend.pages.models import Page
from backend.trace.models import TraceEntry
from backend.worker.dispatcher import DEFAULT_LIMITS
from notifications.base import ChannelKind
from notifications.recording import RecordingChannel
from notifications.registry import ChannelRegistry
from notifications.sms import SmsChannel
from tests.factories import build_world, open_events
from tests.peers.sms_gateway import SmsGateway
from tests.smoke.harness import wait_until

EVENTS = 6
ACK_TIMEOUT_S = 3
SLOW_S = 8


def test_a_hanging_provider_is_cut_off_the_next_one_sends_and_steps_fire_on_time(make_client, settings):
    with SmsGateway(delay_s=SLOW_S) as slow, SmsGateway() as healthy:
        channels = ChannelRegistry({kind: RecordingChannel(kind) for kind in ChannelKind})
        sms = SmsChannel([slow.apprise_url(), healthy.apprise_url()], deadline_s=settings.send_deadline_s)
        channels.register(sms)
        client = make_client(worker=True, channels=channels)
        factory = client.app.state.runtime.session_factory
        world = build_world(factory, ack_timeout_s=ACK_TIMEOUT_S)
        open_events(factory, world, EVENTS, severity=3)

        def second_step_everywhere():
            with transaction(factory) as session:
                return all(p.member_index >= 1 for p in session.scalars(select(Page)))

        wait_until(second_step_everywhere, timeout=ACK_TIMEOUT_S + 10, what="every page's second step")
        wait_until(lambda: _queued_sms(factory) == 0, timeout=20, what="the SMS to be handed off")

        with transaction(factory) as session:
            steps = session.scalars(select(TraceEntry).where(TraceEntry.kind == "page.notify")).all()
            created = {e.event_id: e.at for e in session.scalars(select(TraceEntry).where(
                TraceEntry.kind == "event.created"))}
            late = [e.at - created[e.event_id] - timedelta(seconds=ACK_TIMEOUT_S) for e in steps
                    if e.data["person_id"] == world.techs[1]]
            assert len(late) == EVENTS
            # While the slow provider held its messages for 8 s, each step fired at its time.
            assert max(late) < timedelta(seconds=2), late
            sms_rows = session.scalars(select(Notification).where(Notification.channel == "sms",
                                                                  Notification.handed_off_at.is_not(None))).all()
        # Every SMS was handed off, each by the healthy provider, within its send deadline.
        assert sms_rows and {row.provider_ref for row in sms_rows} == {sms.provider_names[1]}
        assert all(row.status == "sent" for row in sms_rows)
        assert len(healthy.accepted) == len(sms_rows)
        assert all(row.handed_off_at - row.created_at < timedelta(seconds=settings.send_deadline_s + 1)
                   for row in sms_rows)
        # Once it hung, the slow provider was tried last: only the messages already on their way (as many
        # as the SMS in flight at once) met it; the second technicians' SMS went straight to the healthy one.
        assert len(sms_rows) == 3 * EVENTS  # the first technician, the élu informed, the second technician
        assert slow.arrived <= DEFAULT_LIMITS[ChannelKind.SMS]


def _queued_sms(factory) -> int:
    with transaction(factory) as session:
        return len(session.scalars(select(Notification.id).where(Notification.channel == "sms",
                                                                 Notification.status == "queued")).all())

