"""Octopush both ways, against a local Octopush speaking its documented API and callbacks: a page leaves
by Octopush with its ticket kept, the receipt marks it « distribué » or sends the person's next road, a
reply answers the page, and a callback without the key, replayed or oversized does nothing."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from backend.channels import build_registry
from backend.config import Settings
from backend.inbound.dependencies import MAX_BODY
from backend.inbound.models import InboundSms
from backend.outbox.models import Notification
from backend.responses.models import Response
from notifications.base import ChannelKind, OutboundMessage
from notifications.sms import SmsChannel
from notifications.sms_octopush import account_of
from tests.factories import build_world, login
from tests.peers.octopush import API_KEY, API_LOGIN, FakeOctopush
from tests.smoke.harness import wait_until

TECH1 = "+33639980101"
FOREIGN = "+33639980150"  # the agent of a commune another métropole serves
KEY = "octopush-callback-key-0123456789abcdefXYZ"
STATUS, INBOUND = f"/api/v1/sms/octopush/status?key={KEY}", f"/api/v1/sms/octopush/inbound?key={KEY}"


def sms(text="Vigie: arbre tombé", to=TECH1):
    return OutboundMessage(notification_id=1, channel=ChannelKind.SMS, address=to, subject="", text=text)


def test_the_channel_sends_through_octopush_with_its_headers_and_keeps_the_ticket():
    with FakeOctopush() as octopush:
        channel = SmsChannel([octopush.provider_url()])
        first = asyncio.run(channel.send(sms()))
        second = asyncio.run(channel.send(sms("Vigie: encore", to="+33639980102")))
    one, two = octopush.messages
    assert first.outcome.value == "sent" and first.provider_message_id == one.ticket
    assert second.provider_message_id == two.ticket != one.ticket
    assert (one.headers["api-login"], one.headers["api-key"]) == (API_LOGIN, API_KEY)
    assert one.body == {"recipients": [{"phone_number": TECH1}], "text": "Vigie: arbre tombé", "type": "sms_premium",
                        "purpose": "alert", "sender": "Vigie", "with_replies": True}
    assert one.client_port == two.client_port  # one kept client and connection, not one per message


def test_the_provider_url_reads_like_the_other_direct_providers():
    account = account_of("octopush://pc%40example.org:k3y@Mairie%2021/{to}?type=sms_low_cost&replies=no")
    assert (account.api_login, account.api_key, account.sender) == ("pc@example.org", "k3y", "Mairie 21")
    assert (account.sms_type, account.with_replies, account.base) == ("sms_low_cost", False, "https://api.octopush.com")
    assert account_of("octopush://pc@example.org:k3y@Vigie/{to}").api_login == "pc@example.org"
    assert account_of("twilio://AC1:t@%2B33100000000/{to}") is None
    for bad in ("octopush://k3y@Vigie/{to}", "octopush://a:b@Vigie-PC-de-nuit/{to}", "octopush://a:b@Vigie/{to}?type=x"):
        with pytest.raises(ValueError):
            SmsChannel([bad])


def test_a_refused_octopush_account_fails_over_to_the_next_provider():
    with FakeOctopush() as octopush, FakeOctopush() as backup:
        channel = SmsChannel([octopush.provider_url(key="wrong-key"), backup.provider_url()])
        result = asyncio.run(channel.send(sms()))
    assert octopush.refused == 1 and not octopush.messages and len(backup.messages) == 1
    assert result.outcome.value == "sent" and result.provider_message_id == backup.messages[0].ticket
    assert "Octopush 401: 100 Invalid credentials" in result.detail and "wrong-key" not in result.detail


def test_the_callback_key_must_be_long_and_random():
    for weak in ("secret", "x" * 31, "é" * 40):
        with pytest.raises(ValidationError):
            Settings(octopush_callback_key=weak)
    assert Settings(octopush_callback_key=KEY).octopush_callback_key == KEY


@pytest.fixture
def octopush():
    with FakeOctopush() as fake:
        yield fake


@pytest.fixture
def settings(settings, octopush):
    settings.sms_providers = [octopush.provider_url()]
    settings.octopush_callback_key = KEY
    return settings


@pytest.fixture
def paged(make_client, settings, octopush):
    """A severity-3 event whose first page left by Octopush to the first technician."""
    client = make_client(worker=True, channels=build_registry(settings))
    factory = client.app.state.runtime.session_factory
    world = build_world(factory, ack_timeout_s=300)
    operator = login(client, world.users["operator"])
    event = client.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Chute d'arbre"})
    assert event.status_code == 201, event.text
    wait_until(lambda: any(m.to == TECH1 for m in octopush.messages), timeout=15)
    message = next(m for m in octopush.messages if m.to == TECH1)
    wait_until(lambda: notification_of(factory, message.ticket) is not None, timeout=15)  # recorded after the send
    return client, factory, operator, event.json()["id"], message


def notification_of(factory, ticket):
    with factory() as s:
        return s.scalar(select(Notification).where(Notification.provider_message_id == ticket))


def test_a_delivered_receipt_marks_the_sms_distribue_once(paged, octopush):
    client, factory, operator, event_id, message = paged
    for status in ("ACK", "DELIVERED", "DELIVERED"):  # the carrier's acknowledgement, then delivery, sent twice
        answer = client.post(STATUS, json=octopush.receipt(message, status))
        assert answer.status_code == 200 and answer.content == b""  # Octopush wants nothing displayed
    row = notification_of(factory, message.ticket)
    assert row.status == "delivered"
    trace = client.get(f"/api/v1/events/{event_id}/trace", headers=operator).json()
    delivered = [e for e in trace if e["kind"] == "notification.delivered" and e["data"]["notification_id"] == row.id]
    assert [e["data"]["detail"] for e in delivered] == ["distribué (Octopush)"]


def test_a_not_delivered_sms_takes_the_persons_next_road(paged, octopush):
    client, factory, operator, event_id, message = paged
    assert client.post(STATUS, json=octopush.receipt(message, "NOT_DELIVERED")).status_code == 200
    row = notification_of(factory, message.ticket)
    assert row.status == "failed" and row.last_error == "Octopush: not_delivered"
    trace = client.get(f"/api/v1/events/{event_id}/trace", headers=operator).json()
    failed = next(e for e in trace if e["kind"] == "notification.failed" and e["data"]["notification_id"] == row.id)
    assert failed["data"]["detail"] == "non distribué (Octopush : not_delivered)"
    fallback = [e for e in trace if e["kind"] == "notification.fallback" and e["data"]["failed_notification_id"] == row.id]
    assert len(fallback) == 1 and fallback[0]["data"]["to_channel"] == "email"
    # A late DELIVERED for a message already settled changes nothing.
    assert client.post(STATUS, json=octopush.receipt(message, "DELIVERED")).status_code == 200
    assert notification_of(factory, message.ticket).status == "failed"


def test_an_octopush_reply_acknowledges_the_page_and_a_replay_does_nothing(paged, octopush):
    client, factory, operator, event_id, message = paged
    reply = octopush.incoming(TECH1, "1", ticket=message.ticket)
    for _ in range(2):  # Octopush's retry, or a replay
        answer = client.post(INBOUND, json=reply)
        assert answer.status_code == 200 and answer.content == b""
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] == "acknowledged"
    with factory() as s:
        assert len(s.scalars(select(Response).where(Response.kind == "ack")).all()) == 1
    # The person's next reply (same SMS answered, other words) is a reply of its own: « 3 », on site.
    assert client.post(INBOUND, json=octopush.incoming(TECH1, "3", ticket=message.ticket)).status_code == 200
    with factory() as s:
        assert [r.kind for r in s.scalars(select(Response).order_by(Response.id))][-2:] == ["ack", "on_site"]
    # The confirmations go back by SMS, through Octopush.
    wait_until(lambda: len([m for m in octopush.messages if m.to == TECH1]) >= 3, timeout=15)


def test_a_reply_from_another_metropoles_agent_answers_no_page_here(paged, octopush):
    client, factory, operator, event_id, _ = paged
    assert client.post(INBOUND, json=octopush.incoming(FOREIGN, "1")).status_code == 200
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] != "acknowledged"
    with factory() as s:
        (logged,) = s.scalars(select(InboundSms).where(InboundSms.sender == FOREIGN)).all()
        assert logged.outcome == "no_page" and logged.page_id is None


def test_a_callback_without_the_key_does_nothing_and_the_key_stays_out_of_the_logs(paged, octopush, caplog):
    client, factory, operator, event_id, message = paged
    with caplog.at_level(logging.DEBUG):
        for url in ("/api/v1/sms/octopush/status", "/api/v1/sms/octopush/status?key=wrong",
                    f"/api/v1/sms/octopush/status?key={KEY[:-1]}", f"/api/v1/sms/octopush/status?other={KEY}"):
            answer = client.post(url, json=octopush.receipt(message, "NOT_DELIVERED"))
            assert answer.status_code == 403 and answer.json()["error"]["code"] == "invalid_signature"
        forged = client.post("/api/v1/sms/octopush/inbound?key=nope", json=octopush.incoming(TECH1, "1"))
        assert forged.status_code == 403
        assert client.post(STATUS, json=octopush.receipt(message, "DELIVERED")).status_code == 200
        assert client.post(INBOUND, json=octopush.incoming(TECH1, "1")).status_code == 200
        assert client.post(STATUS, content=b"{not json").status_code == 400
        # What uvicorn logs for each request (its access line), through the filter the app installs.
        logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "203.0.113.9:443", "POST", STATUS, "1.1", 200)
    assert notification_of(factory, message.ticket).status == "delivered"
    ours = [r for r in caplog.records if not r.name.startswith("httpx")]  # httpx logs are the test client's own
    assert any(r.name == "uvicorn.access" for r in ours)
    assert ours and not [r for r in ours if KEY in r.getMessage()]


def test_an_oversized_or_malformed_callback_is_refused(paged, octopush):
    client, factory, _, _, message = paged
    huge = {**octopush.receipt(message, "NOT_DELIVERED"), "meta_data": "x" * MAX_BODY}
    answer = client.post(STATUS, json=huge)
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "body_too_large"
    assert client.post(STATUS, json={"message_id": message.ticket}).json()["error"]["code"] == "invalid_body"
    assert client.post(STATUS, json=[octopush.receipt(message, "NOT_DELIVERED")]).status_code == 400
    too_long = client.post(INBOUND, json=octopush.incoming(TECH1, "1" * 1601))
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "text_too_long"
    assert notification_of(factory, message.ticket).status == "sent"


def test_the_callbacks_are_rate_limited_per_provider(make_client, settings, octopush):
    settings.rate_limits = {"inbound-provider": "3/minute"}
    client = make_client()
    answers = [client.post(INBOUND, json=octopush.incoming("+33600000009", f"note {n}")) for n in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429] and "Retry-After" in answers[-1].headers


def test_the_callbacks_are_closed_until_a_key_is_set(make_client, settings, octopush, caplog):
    settings.octopush_callback_key = None
    with caplog.at_level(logging.WARNING, logger="vigie.channels"):
        build_registry(settings)
    assert any("VIGIE_OCTOPUSH_CALLBACK_KEY" in r.getMessage() for r in caplog.records)
    answer = make_client().post(f"/api/v1/sms/octopush/inbound?key={KEY}", json=octopush.incoming(TECH1, "1"))
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "inbound_sms_not_configured"
