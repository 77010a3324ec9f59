"""Which roads a solicitation takes, and what happens when one fails (recording channels, real worker)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from backend.db import transaction
from backend.outbox.models import Notification
from backend.people.models import ContactMethod, Person
from notifications.base import ChannelKind, SendResult
from notifications.recording import RecordingChannel
from notifications.registry import ChannelRegistry
from tests.factories import build_world, login
from tests.smoke.harness import wait_until

TECH1, TECH2 = "+33639980101", "+33639980102"
SUBSCRIPTION = json.dumps({"endpoint": "https://push.example.org/sub/tech1",
                           "keys": {"p256dh": "BNc...", "auth": "au"}}, separators=(",", ":"))


def registry(push_script=None):
    channels = ChannelRegistry()
    for kind in ChannelKind:
        channels.register(RecordingChannel(kind, push_script if kind is ChannelKind.PUSH else None))
    return channels


@pytest.fixture
def setup(make_client, settings):
    def _setup(*, push_script=None, fallback_s=60.0, severity=2, with_push=True, email_copies=False):
        settings.push_fallback_seconds = fallback_s
        channels = registry(push_script)
        client = make_client(worker=True, channels=channels)
        factory = client.app.state.runtime.session_factory
        world = build_world(factory, ack_timeout_s=300)
        with transaction(factory) as s:
            tech1 = s.get(Person, world.techs[0])
            tech1.email_copies = email_copies
            if with_push:
                s.add(ContactMethod(person_id=tech1.id, kind="push", address=SUBSCRIPTION))
        operator = login(client, world.users["operator"])
        event = client.post("/api/v1/events", headers=operator, json={
            "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": severity,
            "title": "Candélabre tombé", "place": "rue Paul Bert"}).json()
        return client, channels, world, operator, event

    return _setup


def sent(channels, kind, address=None):
    return [m for m in channels.get(kind).sent if address is None or m.address == address]


def trace_kinds(client, operator, event):
    return [e["kind"] for e in client.get(f"/api/v1/events/{event['id']}/trace", headers=operator).json()]


def test_severity_2_goes_by_push_and_holds_the_sms_back(setup):
    client, channels, world, operator, event = setup(fallback_s=60)
    wait_until(lambda: sent(channels, ChannelKind.PUSH), what="the push")
    with client.app.state.runtime.session_factory() as s:
        held = s.scalar(select(Notification).where(Notification.address == TECH1))
    assert held.status == "queued" and held.data["fallback"] is True
    assert not sent(channels, ChannelKind.SMS, TECH1)


def test_severity_2_sends_the_sms_when_the_push_is_not_acknowledged_in_time(setup):
    client, channels, world, operator, event = setup(fallback_s=1)
    wait_until(lambda: sent(channels, ChannelKind.SMS, TECH1), timeout=5, what="the fallback SMS")
    assert sent(channels, ChannelKind.PUSH)


def test_an_ack_before_the_fallback_delay_cancels_the_sms(setup):
    client, channels, world, operator, event = setup(fallback_s=1.5)
    tech1 = login(client, world.users["oncall"])
    wait_until(lambda: sent(channels, ChannelKind.PUSH), what="the push")
    assert client.post(f"/api/v1/events/{event['id']}/responses", headers=tech1,
                       json={"kind": "ack"}).status_code == 201
    import time

    time.sleep(2.5)
    assert not sent(channels, ChannelKind.SMS, TECH1)


def test_a_dead_subscription_is_removed_and_the_sms_goes_at_once(setup):
    client, channels, world, operator, event = setup(
        push_script=lambda m: SendResult.failed("410 Gone", gone=True), fallback_s=600)
    wait_until(lambda: sent(channels, ChannelKind.SMS, TECH1), timeout=5, what="the SMS after the 410")
    kinds = trace_kinds(client, operator, event)
    assert {"notification.failed", "contact.removed", "notification.fallback"} <= set(kinds)
    with client.app.state.runtime.session_factory() as s:
        assert s.scalar(select(ContactMethod).where(ContactMethod.kind == "push")) is None


def test_a_basic_phone_gets_the_sms_at_once(setup):
    client, channels, world, operator, event = setup(with_push=False, fallback_s=600)
    wait_until(lambda: sent(channels, ChannelKind.SMS, TECH1), timeout=5, what="the SMS")
    assert not sent(channels, ChannelKind.PUSH)


def test_severity_3_sends_push_and_sms_together_and_email_copies_on_request(setup):
    client, channels, world, operator, event = setup(severity=3, fallback_s=600, email_copies=True)
    wait_until(lambda: sent(channels, ChannelKind.SMS, TECH1) and sent(channels, ChannelKind.PUSH)
               and sent(channels, ChannelKind.EMAIL, "tech.un@example.org"), timeout=5, what="three roads")


def test_information_never_wakes_anybody(setup):
    client, channels, world, operator, event = setup(severity=1, fallback_s=600)
    assert event["pages"] == []
    client.get("/healthz")
    import time

    time.sleep(1)
    assert not sent(channels, ChannelKind.PUSH) and not sent(channels, ChannelKind.SMS)


def test_the_others_reached_learn_who_took_it_on_the_road_that_reached_them(setup):
    client, channels, world, operator, event = setup(severity=3, fallback_s=600)
    tech1 = login(client, world.users["oncall"])
    wait_until(lambda: sent(channels, ChannelKind.SMS, TECH1), what="the solicitation")
    assert client.post(f"/api/v1/events/{event['id']}/responses", headers=tech1,
                       json={"kind": "decline", "text": "malade"}).status_code == 201
    wait_until(lambda: sent(channels, ChannelKind.SMS, TECH2), what="technician 2 asked")
    tech2 = login(client, world.users["oncall2"])
    assert client.post(f"/api/v1/events/{event['id']}/responses", headers=tech2,
                       json={"kind": "ack"}).status_code == 201
    wait_until(lambda: any(m.data.get("purpose") == "closing" for m in sent(channels, ChannelKind.SMS, TECH1)),
               what="'pris en charge' to technician 1")
    closing_sms = [m for m in sent(channels, ChannelKind.SMS, TECH1) if m.data.get("purpose") == "closing"]
    closing_push = [m for m in sent(channels, ChannelKind.PUSH) if m.data.get("purpose") == "closing"]
    assert "Pris en charge par Tech Deux" in closing_sms[0].text and len(closing_sms) == 1
    assert len(closing_push) == 1
    assert not [m for m in sent(channels, ChannelKind.SMS, TECH2) if m.data.get("purpose") == "closing"]


def test_a_flood_of_sms_to_one_number_is_merged_into_one_message(make_client, settings):
    settings.sms_flood_limit = 3
    channels = registry()
    client = make_client(worker=True, channels=channels)
    factory = client.app.state.runtime.session_factory
    world = build_world(factory, ack_timeout_s=300)
    operator = login(client, world.users["operator"])
    numbers = []
    for n in range(5):
        event = client.post("/api/v1/events", headers=operator, json={
            "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
            "title": f"Arbre {n}"}).json()
        numbers.append(event["number"])

    def settled():
        with factory() as s:
            rows = s.scalars(select(Notification).where(Notification.address == TECH1)).all()
            return rows if all(r.status != "queued" or r.purpose == "digest" for r in rows) else None

    rows = wait_until(settled, timeout=10, what="the SMS of technician 1 to settle")
    assert len(sent(channels, ChannelKind.SMS, TECH1)) == 3, "three SMS in the quarter hour, no more"
    merged = [r for r in rows if r.status == "merged"]
    digest = [r for r in rows if r.purpose == "digest"]
    assert len(merged) == 2 and len(digest) == 1 and digest[0].status == "queued"
    assert digest[0].text.startswith("[VIGIE] 2 messages regroupes :")
    assert all(number in digest[0].text for number in numbers[3:])
    first_handoff = min(r.handed_off_at for r in rows if r.handed_off_at)
    assert abs((digest[0].due_at - first_handoff).total_seconds() - 900) < 2
    kinds = trace_kinds(client, operator, {"id": merged[0].event_id})
    assert "notification.merged" in kinds
