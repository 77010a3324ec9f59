"""Twilio both ways, against a local Twilio speaking its documented API and callbacks: a page leaves
by Twilio with its SID kept, the delivery receipt marks it « distribué » or sends the person's next
road, a reply signed by Twilio answers the page, and a forged or replayed callback does nothing."""

from __future__ import annotations

import asyncio

import pytest
from limits import parse_many
from sqlalchemy import func, select

from backend.channels import build_registry
from backend.inbound.models import InboundReceipt
from backend.outbox.models import Notification
from backend.responses.models import Response
from notifications.base import ChannelKind, OutboundMessage
from notifications.sms import SmsChannel
from notifications.sms_twilio import signature
from tests.factories import build_world, login
from tests.peers.twilio import FakeTwilio
from tests.smoke.harness import wait_until

TECH1 = "+33639980101"
PUBLIC = "http://testserver"


def test_the_signature_is_twilios_own():
    # Twilio's documented example (docs "Validating requests", auth token 12345).
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675310"), ("Digits", "1234"),
              ("From", "+14158675310"), ("To", "+18005551212")]
    assert signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def sms(text="Vigie: arbre tombé", to=TECH1):
    return OutboundMessage(notification_id=1, channel=ChannelKind.SMS, address=to, subject="", text=text)


def test_the_channel_sends_through_twilio_and_keeps_the_sid():
    with FakeTwilio() as twilio:
        channel = SmsChannel([twilio.provider_url()], status_callbacks={"twilio": f"{PUBLIC}/api/v1/sms/twilio/status"})
        result = asyncio.run(channel.send(sms()))
    (message,) = twilio.messages
    assert result.outcome.value == "sent" and result.provider_message_id == message.sid
    assert (message.to, message.sender, message.body) == (TECH1, "+33100000000", "Vigie: arbre tombé")
    assert message.status_callback == f"{PUBLIC}/api/v1/sms/twilio/status"


def test_a_refused_twilio_account_fails_over_to_the_next_provider():
    with FakeTwilio() as twilio, FakeTwilio() as backup:
        channel = SmsChannel([twilio.provider_url(token="wrong-token-0123456789"), backup.provider_url()])
        result = asyncio.run(channel.send(sms()))
    assert twilio.refused == 1 and not twilio.messages and len(backup.messages) == 1
    assert result.outcome.value == "sent" and "Twilio 401 20003" in result.detail


@pytest.fixture
def twilio():
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def settings(settings, twilio):
    settings.sms_providers = [twilio.provider_url()]
    settings.public_url = PUBLIC
    return settings


@pytest.fixture
def paged(make_client, settings, twilio):
    """A severity-3 event whose first page left by Twilio to the first technician."""
    client = make_client(worker=True, channels=build_registry(settings))
    factory = client.app.state.runtime.session_factory
    world = build_world(factory, ack_timeout_s=300)
    operator = login(client, world.users["operator"])
    event = client.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Chute d'arbre"})
    assert event.status_code == 201, event.text
    wait_until(lambda: any(m.to == TECH1 for m in twilio.messages), timeout=15)
    message = next(m for m in twilio.messages if m.to == TECH1)
    wait_until(lambda: notification_of(factory, message.sid) is not None, timeout=15)  # recorded after the send
    return client, factory, operator, event.json()["id"], message


def notification_of(factory, sid):
    with factory() as s:
        return s.scalar(select(Notification).where(Notification.provider_message_id == sid))


def post(client, url, body, headers):
    return client.post(url.removeprefix(PUBLIC), content=body, headers=headers)


def test_a_delivery_receipt_marks_the_message_delivered_once(paged, twilio):
    client, factory, operator, event_id, message = paged
    assert notification_of(factory, message.sid).status == "sent"
    for status in ("sent", "delivered", "delivered"):  # Twilio reports each step; a copy comes twice
        answer = post(client, *twilio.status_callback(message, status))
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")
    assert notification_of(factory, message.sid).status == "delivered"
    trace = client.get(f"/api/v1/events/{event_id}/trace", headers=operator).json()
    delivered = [e for e in trace if e["kind"] == "notification.delivered"
                 and e["data"]["notification_id"] == notification_of(factory, message.sid).id]
    assert len(delivered) == 1 and delivered[0]["data"]["detail"] == "distribué (Twilio)"


def test_an_undelivered_sms_takes_the_persons_next_road(paged, twilio):
    client, factory, operator, event_id, message = paged
    answer = post(client, *twilio.status_callback(message, "undelivered", error_code="30003"))
    assert answer.status_code == 200
    row = notification_of(factory, message.sid)
    assert row.status == "failed" and "30003" in row.last_error
    trace = client.get(f"/api/v1/events/{event_id}/trace", headers=operator).json()
    failed = next(e for e in trace if e["kind"] == "notification.failed" and e["data"]["notification_id"] == row.id)
    assert "non distribué (Twilio : undelivered, code 30003)" == failed["data"]["detail"]
    fallback = [e for e in trace if e["kind"] == "notification.fallback" and e["data"]["failed_notification_id"] == row.id]
    assert len(fallback) == 1 and fallback[0]["data"]["to_channel"] == "email"


def test_a_forged_or_misaddressed_callback_changes_nothing(paged, twilio):
    client, factory, _, _, message = paged
    url, body, headers = twilio.status_callback(message, "delivered")
    forged = {**headers, "x-twilio-signature": signature("not-the-token", url, [])}
    assert post(client, url, body, forged).status_code == 403
    assert post(client, url, body.replace(b"delivered", b"failed"), headers).status_code == 403  # body changed
    assert post(client, url, body, {"content-type": headers["content-type"]}).status_code == 403
    assert post(client, url + "?x=1", body, headers).json()["error"]["code"] == "invalid_signature"  # other URL
    assert notification_of(factory, message.sid).status == "sent"


def test_a_twilio_reply_acknowledges_and_a_replay_does_nothing(paged, twilio):
    client, factory, operator, event_id, _ = paged
    _, (body, headers) = twilio.incoming(f"{PUBLIC}/api/v1/sms/twilio/inbound", TECH1, "1")
    for _ in range(2):
        answer = client.post("/api/v1/sms/twilio/inbound", content=body, headers=headers)
        assert answer.status_code == 200 and "<Response></Response>" in answer.text
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] == "acknowledged"
    with factory() as s:
        assert len(s.scalars(select(Response).where(Response.kind == "ack")).all()) == 1


def test_twilio_callbacks_answer_503_when_no_twilio_provider_is_configured(make_client, settings):
    settings.sms_providers = []
    client = make_client()
    answer = client.post("/api/v1/sms/twilio/status", content=b"MessageSid=SM1&MessageStatus=delivered",
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "inbound_sms_not_configured"


def test_a_storm_of_signed_receipts_is_taken_whole_and_forgers_are_cut_off(paged, twilio, settings):
    """Twilio calls from few addresses and does not send a refused callback again: signed receipts
    are not held to a per-address limit (a storm's would be lost); unsigned ones are, and then that
    address is refused altogether."""
    client, factory, _, _, message = paged
    limits = client.app.state.runtime.rate_limits
    limits.overrides["inbound-failures-address"] = tuple(parse_many("3/minute"))
    limits.overrides["inbound-provider"] = tuple(parse_many("1000/minute"))
    answers = [post(client, *twilio.status_callback(message, "sent")).status_code for _ in range(40)]
    assert answers == [200] * 40  # ten times what one address may send unsigned
    with factory() as s:  # a `sent` settles nothing: nothing written for it
        assert s.scalar(select(func.count()).select_from(InboundReceipt)) == 0
    url, body, headers = twilio.status_callback(message, "delivered")
    forged = {**headers, "x-twilio-signature": signature("not-the-token", url, [])}
    assert [post(client, url, body, forged).status_code for _ in range(4)] == [403, 403, 403, 429]
    assert post(client, url, body, headers).status_code == 429
    assert notification_of(factory, message.sid).status == "sent"
