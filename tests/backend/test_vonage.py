"""Vonage's SMS API both ways, against a local Vonage speaking its documented API and signed webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

import pytest
from sqlalchemy import select

from backend.channels import build_registry
from backend.outbox.models import Notification
from backend.responses.models import Response
from notifications.base import ChannelKind, OutboundMessage
from notifications.sms import SmsChannel
from notifications.sms_vonage import signature
from tests.factories import build_world, login
from tests.peers.vonage import FakeVonage, form
from tests.smoke.harness import wait_until

TECH1 = "+33639980101"
PUBLIC = "http://testserver"


def test_the_signature_is_vonages_scheme():
    # Fields sorted by name, `&` and `=` in values replaced by `_`, `sig` left out; MD5 of the text and the
    # secret for md5hash, an HMAC under the secret otherwise.
    fields = {"text": "a=b&c", "msisdn": "33639980101", "sig": "ignored", "timestamp": "1764896700"}
    text = "&msisdn=33639980101&text=a_b_c&timestamp=1764896700"
    assert signature("s3cret", "md5hash", fields) == hashlib.md5((text + "s3cret").encode()).hexdigest()
    assert signature("s3cret", "sha256", fields) == hmac.new(b"s3cret", text.encode(), "sha256").hexdigest()


def sms(to=TECH1):
    return OutboundMessage(notification_id=1, channel=ChannelKind.SMS, address=to, subject="", text="Vigie: arbre")


def test_the_channel_sends_through_vonage_and_keeps_the_message_id():
    with FakeVonage() as vonage:
        channel = SmsChannel([vonage.provider_url()], status_callbacks={"vonage": f"{PUBLIC}/api/v1/sms/vonage/status"})
        result = asyncio.run(channel.send(sms()))
    (message,) = vonage.messages
    assert result.outcome.value == "sent" and result.provider_message_id == message.message_id
    assert (message.to, message.sender, message.callback) == ("33639980101", "Vigie", f"{PUBLIC}/api/v1/sms/vonage/status")


def test_bad_credentials_fail_over_to_the_next_provider():
    with FakeVonage() as vonage, FakeVonage() as backup:
        result = asyncio.run(SmsChannel([vonage.provider_url(secret="wrong"), backup.provider_url()]).send(sms()))
    assert vonage.refused == 1 and len(backup.messages) == 1
    assert result.outcome.value == "sent" and "Vonage status 4: Bad Credentials" in result.detail


@pytest.fixture
def vonage():
    with FakeVonage() as fake:
        yield fake


@pytest.fixture
def settings(settings, vonage):
    settings.sms_providers = [vonage.provider_url()]
    settings.public_url = PUBLIC
    return settings


@pytest.fixture
def paged(make_client, settings, vonage):
    client = make_client(worker=True, channels=build_registry(settings))
    factory = client.app.state.runtime.session_factory
    world = build_world(factory, ack_timeout_s=300)
    operator = login(client, world.users["operator"])
    event = client.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3, "title": "Arbre"})
    assert event.status_code == 201, event.text
    wait_until(lambda: any(m.to == TECH1[1:] for m in vonage.messages), timeout=15)
    message = next(m for m in vonage.messages if m.to == TECH1[1:])
    wait_until(lambda: status_of(factory, message.message_id) is not None, timeout=15)
    return client, factory, operator, event.json()["id"], message


def status_of(factory, message_id):
    with factory() as s:
        return s.scalar(select(Notification.status).where(Notification.provider_message_id == message_id))


def test_a_receipt_by_get_or_post_marks_the_message_delivered_once(paged, vonage):
    client, factory, operator, event_id, message = paged
    assert client.get("/api/v1/sms/vonage/status", params=vonage.receipt(message, "accepted")).status_code == 200
    assert status_of(factory, message.message_id) == "sent"
    fields = vonage.receipt(message, "delivered")
    for _ in range(2):  # Vonage retries a webhook it thinks was lost
        body, headers = form(fields)
        assert client.post("/api/v1/sms/vonage/status", content=body, headers=headers).status_code == 200
    assert status_of(factory, message.message_id) == "delivered"
    trace = client.get(f"/api/v1/events/{event_id}/trace", headers=operator).json()
    assert [e["data"]["detail"] for e in trace if e["kind"] == "notification.delivered"
            and e["data"]["channel"] == "sms"] == ["distribué (Vonage)"]


def test_a_failed_receipt_sends_the_next_road(paged, vonage):
    client, factory, operator, event_id, message = paged
    answer = client.post("/api/v1/sms/vonage/status", json=vonage.receipt(message, "failed", err_code="6"))
    assert answer.status_code == 200 and status_of(factory, message.message_id) == "failed"
    trace = client.get(f"/api/v1/events/{event_id}/trace", headers=operator).json()
    assert any(e["kind"] == "notification.fallback" and e["data"]["to_channel"] == "email" for e in trace)


def test_forged_or_stale_webhooks_change_nothing(paged, vonage):
    client, factory, _, _, message = paged
    forged = {**vonage.receipt(message, "delivered"), "status": "failed"}  # changed after signing
    assert client.get("/api/v1/sms/vonage/status", params=forged).status_code == 403
    stale = vonage.receipt(message, "delivered", at=time.time() - 3600)
    answer = client.get("/api/v1/sms/vonage/status", params=stale)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "stale_signature"
    unsigned = {k: v for k, v in vonage.receipt(message, "delivered").items() if k != "sig"}
    assert client.get("/api/v1/sms/vonage/status", params=unsigned).status_code == 403
    assert status_of(factory, message.message_id) == "sent"


def test_a_vonage_reply_acknowledges_once(paged, vonage):
    client, factory, operator, event_id, _ = paged
    fields = vonage.incoming(TECH1, "1")
    for _ in range(2):
        assert client.get("/api/v1/sms/vonage/inbound", params=fields).json() == {"status": "received"}
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] == "acknowledged"
    with factory() as s:
        assert len(s.scalars(select(Response).where(Response.kind == "ack")).all()) == 1
