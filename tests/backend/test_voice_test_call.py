"""« Tester mes alertes » calls the person's mobile too, when calls are configured: the call says it is a
test, key 1 marks that road « reçu » on the phone's screen, a machine taking it says « messagerie ».
No event, no page, no trace: nothing is counted and nothing moves. Without calls, no call road at all."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from backend.db import transaction
from backend.outbox.models import Notification
from backend.pages.models import Page
from backend.people.models import ContactMethod
from backend.responses.models import Response
from backend.trace.models import TraceEntry
from notifications.voice_twilio import VoiceChannel
from tests.backend.test_alert_tests import enrol
from tests.factories import build_world
from tests.peers.twilio_voice import FakeTwilioVoice
from tests.smoke.harness import wait_until

TECH1 = "+33639980101"
PUBLIC = "http://testserver"


@pytest.fixture
def twilio():
    with FakeTwilioVoice() as fake:
        yield fake


@pytest.fixture
def calling(make_client, settings, recording_channels, twilio):
    """A running Vigie (worker included) that places calls through the local Twilio."""
    settings.voice_providers = [twilio.provider_url()]
    settings.public_url = PUBLIC
    recording_channels.register(VoiceChannel(settings.voice_providers, public_url=PUBLIC))
    client = make_client(worker=True, channels=recording_channels)
    runtime = client.app.state.runtime
    return client, runtime, build_world(runtime.session_factory)


def post(client, url, body, headers):
    return client.post(url.removeprefix(PUBLIC), content=body, headers=headers)


def roads(client, phone, test_id) -> dict[str, dict]:
    answer = client.get(f"/api/v1/me/test-alert/{test_id}", headers=phone)
    assert answer.status_code == 200, answer.text
    return {road["channel"]: road for road in answer.json()["roads"]}


def placed_call(twilio, client, phone, test_id, count=1):
    call = wait_until(lambda: len(twilio.calls) >= count and twilio.calls[count - 1], timeout=15, what="the test call")
    wait_until(lambda: roads(client, phone, test_id)["voice"]["status"] == "sent", timeout=15, what="the call recorded")
    return call


def gather_action(twiml: str) -> str:
    return re.findall(r'action="([^"]+)"', twiml)[0].replace("&amp;", "&")


def test_the_test_calls_the_mobile_says_it_is_a_test_and_key_1_shows_recu(calling, twilio):
    client, runtime, world = calling
    phone = enrol(client, runtime, world)
    sent = client.post("/api/v1/me/test-alert", headers=phone)
    assert sent.status_code == 201, sent.text
    test_id = sent.json()["id"]
    voice = next(r for r in sent.json()["roads"] if r["channel"] == "voice")
    assert voice["label"] == TECH1

    call = placed_call(twilio, client, phone, test_id)
    assert call.to == TECH1 and call.machine_detection == "Enable"
    said = post(client, *twilio.pick_up(call)).text
    assert ('<Say language="fr-FR">Vigie. Ceci est un appel de test, demandé depuis l\'application d\'astreinte. '
            "Aucune intervention n'est attendue. Tapez 1 pour confirmer que vous entendez.</Say>") in said
    assert "prendre" not in said and "indisponible" not in said  # nothing to take, nobody to decline

    # Another key reads it again; 1 says « je vous entends ».
    again = post(client, *twilio.press(call, gather_action(said), "2")).text
    assert "Touche non reconnue." in again and "appel de test" in again
    assert roads(client, phone, test_id)["voice"]["status"] == "sent"
    heard = post(client, *twilio.press(call, gather_action(again), "1"))
    assert heard.status_code == 200 and "les appels de Vigie vous parviennent" in heard.text
    assert roads(client, phone, test_id)["voice"]["status"] == "received"
    assert post(client, *twilio.status(call, "completed", 14)).status_code == 200
    assert roads(client, phone, test_id)["voice"]["status"] == "received"

    # Never an event: nothing in any trace (no KPI, report or pay rule can count it), no page, no answer.
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(TraceEntry)) == 0
        assert s.scalar(select(func.count()).select_from(Page)) == 0
        assert s.scalar(select(func.count()).select_from(Response)) == 0


def test_an_answering_machine_taking_the_test_call_shows_messagerie(calling, twilio):
    client, runtime, world = calling
    phone = enrol(client, runtime, world)
    test_id = client.post("/api/v1/me/test-alert", headers=phone).json()["id"]
    call = placed_call(twilio, client, phone, test_id)
    hung_up = post(client, *twilio.pick_up(call, answered_by="machine_start"))
    assert "<Say" not in hung_up.text and "<Hangup/>" in hung_up.text
    road = roads(client, phone, test_id)["voice"]
    assert road["status"] == "voicemail" and road["error"] is None
    assert post(client, *twilio.status(call, "completed", 3)).status_code == 200
    assert roads(client, phone, test_id)["voice"]["status"] == "voicemail"


def test_a_test_call_not_picked_up_fails_and_says_why(calling, twilio):
    client, runtime, world = calling
    phone = enrol(client, runtime, world)
    test_id = client.post("/api/v1/me/test-alert", headers=phone).json()["id"]
    call = placed_call(twilio, client, phone, test_id)
    assert post(client, *twilio.status(call, "no-answer")).status_code == 200
    road = roads(client, phone, test_id)["voice"]
    assert (road["status"], road["error"]) == ("failed", "Twilio: no-answer")


def test_test_calls_count_within_three_tests_per_ten_minutes_and_only_for_their_person(calling, twilio):
    client, runtime, world = calling
    mine, theirs = enrol(client, runtime, world, 0), enrol(client, runtime, world, 1)
    answers = [client.post("/api/v1/me/test-alert", headers=mine) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    wait_until(lambda: len(twilio.calls) == 3, timeout=15, what="three test calls")
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(
            Notification.purpose == "test_alert", Notification.channel == "voice")) == 3
    other = client.get(f"/api/v1/me/test-alert/{answers[0].json()['id']}", headers=theirs)
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"


def test_a_person_without_a_mobile_gets_no_test_call(calling, twilio):
    client, runtime, world = calling
    phone = enrol(client, runtime, world)
    with transaction(runtime.session_factory) as s:
        for contact in s.scalars(select(ContactMethod).where(ContactMethod.person_id == world.techs[0],
                                                             ContactMethod.kind == "sms")):
            contact.enabled = False
    sent = client.post("/api/v1/me/test-alert", headers=phone)
    assert sent.status_code == 201, sent.text
    assert "voice" not in {r["channel"] for r in sent.json()["roads"]}


def test_without_calls_configured_the_test_has_no_call_road(make_client, settings):
    settings.voice_providers = []
    client = make_client(worker=True)
    runtime = client.app.state.runtime
    world = build_world(runtime.session_factory)
    phone = enrol(client, runtime, world)
    sent = client.post("/api/v1/me/test-alert", headers=phone)
    assert sent.status_code == 201
    assert sorted(r["channel"] for r in sent.json()["roads"]) == ["email", "sms"]
