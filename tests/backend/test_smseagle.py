"""SMSEagle, the gateway a PC hosts: sending through Apprise's `smseagle://` to a local gateway that
speaks its JSON-RPC API, and its « Callback URL » answering pages — once per message id."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from backend.responses.models import Response
from notifications.base import ChannelKind, OutboundMessage
from notifications.sms import SmsChannel
from tests.factories import login
from tests.peers.smseagle import FakeSmsEagle

TECH1 = "+33639980101"
KEY = "eagle-callback-key-0123456789"


def test_the_channel_sends_through_the_gateway_and_fails_over_on_a_wrong_token():
    with FakeSmsEagle() as eagle, FakeSmsEagle() as backup:
        channel = SmsChannel([eagle.provider_url(token="wrong-token"), backup.provider_url()])
        result = asyncio.run(channel.send(OutboundMessage(
            notification_id=1, channel=ChannelKind.SMS, address=TECH1, subject="", text="Vigie: arbre tombé")))
    assert eagle.refused == 1 and result.outcome.value == "sent"
    (params,) = backup.sent
    assert params["to"] == TECH1 and params["message"] == "Vigie: arbre tombé"


@pytest.fixture
def settings(settings):
    settings.smseagle_callback_key = KEY
    return settings


@pytest.fixture
def event(client, world):
    operator = login(client, world.users["operator"])
    answer = client.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3, "title": "Arbre"})
    assert answer.status_code == 201, answer.text
    return operator, answer.json()["id"]


@pytest.mark.parametrize("sender", ["33639980101", "+33639980101", "0639980101"])
def test_the_gateways_callback_acknowledges_once_by_get_or_post(client, runtime, event, sender):
    operator, event_id = event
    fields = FakeSmsEagle.callback(sender, "1", "431", KEY)
    assert client.get("/api/v1/sms/smseagle/inbound", params=fields).json() == {"status": "received"}
    assert client.post("/api/v1/sms/smseagle/inbound", data=fields).status_code == 200  # its 24-hour retry
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] == "acknowledged"
    with runtime.session_factory() as s:
        assert len(s.scalars(select(Response).where(Response.kind == "ack")).all()) == 1


def test_a_callback_without_the_key_does_nothing(client, event):
    operator, event_id = event
    for apikey in ("wrong-key", None):
        answer = client.get("/api/v1/sms/smseagle/inbound", params=FakeSmsEagle.callback(TECH1, "1", "432", apikey))
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "invalid_signature"
    answer = client.get("/api/v1/sms/smseagle/inbound", params={"apikey": KEY, "sender": TECH1})
    assert answer.status_code == 400
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] != "acknowledged"


def test_the_callback_is_closed_until_a_key_is_set(make_client, settings):
    settings.smseagle_callback_key = None
    answer = make_client().get("/api/v1/sms/smseagle/inbound", params=FakeSmsEagle.callback(TECH1, "1", "1", "x"))
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "inbound_sms_not_configured"
