"""Calls that wake people, against a local Twilio Programmable Voice: a grave page rings the person's
mobile, the call reads the page in French and takes 1 (je prends) or 2 (indisponible), an unanswered
call lets the page go on, the commune chooses which severities call, and a page still unanswered
after its SMS gets a call. Every callback is signed and taken once."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.db import transaction
from backend.outbox.models import Notification
from backend.pages.models import Page
from backend.responses.models import Response
from escalation.voice import call_after_sms_s, calls_at_once
from notifications import voice_twiml
from notifications.base import ChannelKind, OutboundMessage, SendResult
from notifications.recording import RecordingChannel
from notifications.sms_twilio import signature
from notifications.voice_twilio import VoiceChannel, call_length_s
from tests.factories import build_world, login
from tests.peers.twilio_voice import FakeTwilioVoice
from tests.smoke.harness import wait_until

TECH1, TECH2 = "+33639980101", "+33639980102"
PUBLIC = "http://testserver"


def test_the_communes_choice_of_calls():
    assert calls_at_once(3, "solicit", from_severity=3) and calls_at_once(4, "solicit", from_severity=3)
    assert not calls_at_once(2, "solicit", from_severity=3) and not calls_at_once(3, "solicit", from_severity=4)
    assert not calls_at_once(4, "solicit", from_severity=None) and not calls_at_once(4, "closing", from_severity=3)
    assert call_after_sms_s(2, "solicit", from_severity=3, after_sms_minutes=5) == 300
    assert call_after_sms_s(3, "solicit", from_severity=3, after_sms_minutes=5) is None  # already called at once
    assert call_after_sms_s(1, "solicit", from_severity=None, after_sms_minutes=5) is None
    assert call_after_sms_s(3, "inform", from_severity=None, after_sms_minutes=5) is None


def test_what_a_call_says_is_escaped_and_bounded_to_three_readings():
    said = voice_twiml.ask('Fuite <gaz> & "odeur"', lambda n: f"{PUBLIC}/g?round={n}&x=1")
    assert "Fuite &lt;gaz&gt; &amp; \"odeur\"" in said and "<gaz>" not in said
    assert said.count("<Gather") == 3 and 'action="http://testserver/g?round=3&amp;x=1"' in said
    assert voice_twiml.ask("x", str, first_round=3).count("<Gather") == 1


def call(to=TECH1, notification_id=7):
    return OutboundMessage(notification_id=notification_id, channel=ChannelKind.VOICE, address=to, subject="", text="")


def test_the_channel_places_a_call_through_twilio_with_vigies_urls_only():
    with FakeTwilioVoice() as twilio:
        channel = VoiceChannel([twilio.provider_url()], public_url=PUBLIC + "/")
        result = asyncio.run(channel.send(call()))
        refused = asyncio.run(channel.send(call(to="+0")))
        channel.close()
    (placed,) = twilio.calls
    assert result.outcome.value == "sent" and result.provider_message_id == placed.sid
    assert (placed.to, placed.sender, placed.method, placed.timeout) == (TECH1, "+33100000000", "POST", "30")
    assert placed.url == f"{PUBLIC}/api/v1/voice/twilio/7/twiml"  # an id, no words, no secret
    assert placed.status_callback == f"{PUBLIC}/api/v1/voice/twilio/7/status"
    assert placed.status_events == ["answered", "completed"]
    # Synchronous detection: the words are fetched once Twilio knows a person answered, within 10 s.
    assert (placed.machine_detection, placed.machine_detection_timeout) == ("Enable", "10")
    assert refused.outcome.value == "failed"


def test_the_ring_time_is_twilios_timeout_and_a_calls_length_follows_it():
    with FakeTwilioVoice() as twilio:
        channel = VoiceChannel([twilio.provider_url()], public_url=PUBLIC, ring_s=20)
        assert asyncio.run(channel.send(call())).outcome.value == "sent"
        channel.close()
    assert twilio.calls[0].timeout == "20"
    text = "Vigie. Astreinte Ville de Chenôve, grave : Chute d'arbre, avenue Roland Carraz."
    # Ringing (and Twilio's margin), the detection, then three readings each waiting 8 s for a key.
    reading = voice_twiml.reading_s(text)
    assert 3 * 8 + 3 * len(text) / 16 < reading < 3 * 8 + 3 * (len(text) + 80) / 10
    assert call_length_s(20, text, "solicit") == 20 + 5 + 10 + reading
    assert call_length_s(45, text, "solicit") - call_length_s(20, text, "solicit") == 25
    longer = text + " Fuite de gaz signalée par les riverains, périmètre de sécurité en place."
    assert call_length_s(20, longer, "solicit") > call_length_s(20, text, "solicit")


def test_a_refused_account_is_retried_and_an_impossible_number_fails_at_once():
    with FakeTwilioVoice() as twilio, FakeTwilioVoice() as backup:
        wrong = VoiceChannel([twilio.provider_url(token="wrong-token-0123456789")], public_url=PUBLIC)
        assert asyncio.run(wrong.send(call())).outcome.value == "retry"
        failover = VoiceChannel([twilio.provider_url(token="wrong-token-0123456789"), backup.provider_url()],
                                public_url=PUBLIC)
        assert asyncio.run(failover.send(call())).outcome.value == "sent" and len(backup.calls) == 1
        twilio_refuses = VoiceChannel([twilio.provider_url()], public_url=PUBLIC)
        # Twilio's 400 code 21211: calling again would be refused again.
        assert asyncio.run(twilio_refuses.send(call(to="+33"))).outcome.value == "failed"


def test_only_twilio_urls_place_calls():
    with pytest.raises(ValueError):
        VoiceChannel(["json://voice.example.org/{to}"], public_url=PUBLIC)


@pytest.fixture
def twilio():
    with FakeTwilioVoice() as fake:
        yield fake


@pytest.fixture
def settings(settings, twilio):
    settings.voice_providers = [twilio.provider_url()]
    settings.public_url = PUBLIC
    return settings


@pytest.fixture
def commune(make_client, settings, recording_channels, twilio):
    """A running Vigie (worker included) whose commune chose its calls, and a way to open an event."""

    def _commune(*, ack_timeout_s=300, ring_s=30, **choice):
        settings.voice_ring_s = ring_s
        recording_channels.register(VoiceChannel(settings.voice_providers, public_url=PUBLIC, ring_s=ring_s))
        client = make_client(worker=True, channels=recording_channels)
        factory = client.app.state.runtime.session_factory
        world = build_world(factory, ack_timeout_s=ack_timeout_s)
        admin, operator = login(client, world.users["admin"]), login(client, world.users["operator"])
        answer = client.patch(f"/api/v1/organizations/{world.commune_id}", headers=admin, json=choice)
        assert answer.status_code == 200, answer.text
        for name, value in choice.items():
            assert answer.json()[name] == value

        def open_event(severity=3):
            event = client.post("/api/v1/events", headers=operator, json={
                "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": severity,
                "title": "Chute d'arbre", "place": "avenue Roland Carraz"})
            assert event.status_code == 201, event.text
            return event.json()["id"]

        return client, factory, world, operator, open_event

    return _commune


def row_of(factory, sid):
    return first(factory, select(Notification).where(Notification.provider_message_id == sid))


def first(factory, statement):
    with factory() as s:  # a session of its own each time: a new snapshot of what the worker wrote
        return s.scalar(statement)


def ringing(twilio, factory, to=TECH1):
    placed = wait_until(lambda: next((c for c in twilio.calls if c.to == to), None), timeout=15, what=f"a call to {to}")
    wait_until(lambda: row_of(factory, placed.sid) is not None, timeout=15, what="the call recorded")
    return placed


def post(client, url, body, headers):
    return client.post(url.removeprefix(PUBLIC), content=body, headers=headers)


def trace_of(client, operator, event_id, kind=None):
    entries = client.get(f"/api/v1/events/{event_id}/trace", headers=operator).json()
    return [e for e in entries if kind is None or e["kind"] == kind]


def gather_action(twiml: str, index: int = 0) -> str:
    """The `index`-th `<Gather>`'s action in a TwiML document."""
    return re.findall(r'action="([^"]+)"', twiml)[index].replace("&amp;", "&")


def test_a_grave_page_calls_reads_the_page_in_french_and_1_takes_it(commune, twilio):
    client, factory, _, operator, open_event = commune(voice_from_severity=3)
    event_id = open_event(3)
    placed = ringing(twilio, factory)
    row = row_of(factory, placed.sid)
    assert placed.url == f"{PUBLIC}/api/v1/voice/twilio/{row.id}/twiml" and row.channel == "voice"
    assert row.status == "sent" and row.address == TECH1

    twiml = post(client, *twilio.pick_up(placed))
    assert twiml.status_code == 200 and twiml.headers["content-type"].startswith("text/xml")
    said = twiml.text
    assert said.count("<Gather") == 3 and said.endswith("<Hangup/></Response>")
    assert ('<Say language="fr-FR">Vigie. Astreinte Ville de Chenôve, grave : Chute d\'arbre, avenue Roland Carraz. '
            "Tapez 1 pour prendre, 2 si vous êtes indisponible.</Say>") in said
    assert 'numDigits="1"' in said and 'timeout="8"' in said
    action = gather_action(said)
    assert action == f"{PUBLIC}/api/v1/voice/twilio/{row.id}/gather?round=1"

    pressed = post(client, *twilio.press(placed, action, "1"))
    assert pressed.status_code == 200 and "vous prenez l'alerte" in pressed.text and "<Hangup/>" in pressed.text
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] == "acknowledged"
    assert row_of(factory, placed.sid).status == "delivered"
    assert post(client, *twilio.status(placed, "completed", 21)).status_code == 200

    placed_entry = [e for e in trace_of(client, operator, event_id, "notification.sent")
                    if e["data"]["notification_id"] == row.id]
    assert placed_entry[0]["data"]["channel"] == "voice" and "appel lancé" in placed_entry[0]["data"]["detail"]
    kinds = [e["kind"] for e in trace_of(client, operator, event_id)]
    for kind in ("voice.answered", "voice.key", "response.ack", "page.acknowledged",
                 "voice.ended"):
        assert kind in kinds, kind
    assert kinds.index("voice.answered") < kinds.index("voice.key") < kinds.index("response.ack")
    (ack,) = trace_of(client, operator, event_id, "response.ack")
    assert ack["data"]["via"] == "voice" and ack["data"]["person"] == "Tech Un"
    (key,) = trace_of(client, operator, event_id, "voice.key")
    assert (key["data"]["digits"], key["data"]["answer"], key["data"]["notification_id"]) == ("1", "ack", row.id)
    (ended,) = trace_of(client, operator, event_id, "voice.ended")
    assert ended["data"]["taken"] is True and ended["data"]["duration_s"] == 21
    assert row_of(factory, placed.sid).status == "delivered"  # the end of a call taken changes nothing


def test_a_replayed_key_or_pick_up_does_nothing_more(commune, twilio):
    client, factory, _, operator, open_event = commune(voice_from_severity=3)
    event_id = open_event(3)
    placed = ringing(twilio, factory)
    pick_up = twilio.pick_up(placed)
    action = gather_action(post(client, *pick_up).text)
    key = twilio.press(placed, action, "1")
    assert "vous prenez" in post(client, *key).text
    again = post(client, *key)
    assert again.status_code == 200 and "déjà enregistrée" in again.text
    assert "déjà prise en charge par Tech Un" in post(client, *pick_up).text  # the words again, no new entry
    with factory() as s:
        assert len(s.scalars(select(Response).where(Response.kind == "ack")).all()) == 1
    assert len(trace_of(client, operator, event_id, "voice.key")) == 1
    assert len(trace_of(client, operator, event_id, "voice.answered")) == 1


def test_2_declines_and_the_next_person_is_called(commune, twilio):
    client, factory, world, operator, open_event = commune(voice_from_severity=3)
    event_id = open_event(3)
    placed = ringing(twilio, factory)
    action = gather_action(post(client, *twilio.pick_up(placed)).text)
    declined = post(client, *twilio.press(placed, action, "2"))
    assert "indisponible" in declined.text and "personne suivante" in declined.text
    ringing(twilio, factory, to=TECH2)
    (decline,) = trace_of(client, operator, event_id, "response.decline")
    assert decline["data"]["via"] == "voice" and decline["data"]["person_id"] == world.techs[0]
    notified = [e["data"].get("person_id") for e in trace_of(client, operator, event_id, "page.notify")]
    assert world.techs[1] in notified


def test_another_key_reads_the_page_again_within_three_rounds(commune, twilio):
    client, factory, _, operator, open_event = commune(voice_from_severity=3)
    event_id = open_event(3)
    placed = ringing(twilio, factory)
    first = gather_action(post(client, *twilio.pick_up(placed)).text)
    again = post(client, *twilio.press(placed, first, "9")).text
    assert "Touche non reconnue." in again and again.count("<Gather") == 2
    # Silent during the second reading, '#' during the third and last.
    last = post(client, *twilio.press(placed, gather_action(again, 1), "#")).text
    assert "Touche non reconnue." in last and "<Gather" not in last and "<Hangup/>" in last
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] == "open"
    assert [e["data"]["digits"] for e in trace_of(client, operator, event_id, "voice.key")] == ["9", "#"]
    out_of_rounds = twilio.press(placed, first.replace("round=1", "round=4"), "1")
    assert post(client, *out_of_rounds).status_code == 422


def test_a_call_not_taken_fails_and_the_page_goes_on_to_the_next_person(commune, twilio):
    client, factory, world, operator, open_event = commune(voice_from_severity=3, ack_timeout_s=3)
    event_id = open_event(3)
    placed = ringing(twilio, factory)
    assert post(client, *twilio.status(placed, "ringing")).status_code == 200  # progress: nothing to do
    assert row_of(factory, placed.sid).status == "sent"
    assert post(client, *twilio.status(placed, "no-answer")).status_code == 200
    row = row_of(factory, placed.sid)
    assert row.status == "failed" and row.last_error == "Twilio: no-answer"
    (ended,) = trace_of(client, operator, event_id, "voice.ended")
    assert ended["data"]["taken"] is False and ended["data"]["status"] == "no-answer"
    failed = [e for e in trace_of(client, operator, event_id, "notification.failed")
              if e["data"]["notification_id"] == row.id]
    assert failed[0]["data"]["detail"] == "appel non pris (Twilio : no-answer)"
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] == "open"
    ringing(twilio, factory, to=TECH2)  # the step's timeout moved the page on, calling the next person


def test_a_call_picked_up_and_hung_up_without_a_key_is_not_taken(commune, twilio):
    client, factory, _, operator, open_event = commune(voice_from_severity=4)
    event_id = open_event(4)
    placed = ringing(twilio, factory)
    assert "<Gather" in post(client, *twilio.pick_up(placed)).text
    assert post(client, *twilio.status(placed, "completed", 12)).status_code == 200
    row = row_of(factory, placed.sid)
    assert row.status == "failed"
    failed = [e for e in trace_of(client, operator, event_id, "notification.failed")
              if e["data"]["notification_id"] == row.id]
    assert failed[0]["data"]["detail"] == "appel non pris (Twilio : décroché sans touche)"
    (ended,) = trace_of(client, operator, event_id, "voice.ended")
    assert ended["data"]["taken"] is False and ended["data"]["duration_s"] == 12
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] == "open"


def test_a_second_page_waits_for_the_call_in_progress_its_ring_time_and_readings(commune, twilio):
    client, factory, _, _, open_event = commune(voice_from_severity=3, ring_s=20)
    open_event(3)
    in_progress = row_of(factory, ringing(twilio, factory).sid)
    assert twilio.calls[0].timeout == "20"  # VIGIE_VOICE_RING_S is Twilio's ring time
    second = open_event(3)
    held = wait_until(lambda: first(factory, select(Notification).where(Notification.event_id == second,
                                                                         Notification.channel == "voice")), timeout=15)
    assert held.status == "queued" and held.data["fallback"]
    # Until the first call has rung, been detected and read three times, at the latest: not a fixed 90 s.
    length = timedelta(seconds=call_length_s(20, in_progress.text, "solicit"))
    assert abs(held.due_at - (in_progress.handed_off_at + length)) < timedelta(milliseconds=1)
    assert timedelta(seconds=20 + 5 + 10 + 24) < length < timedelta(seconds=150)
    assert len([c for c in twilio.calls if c.to == TECH1]) == 1


def test_a_call_whose_end_was_never_heard_of_stops_holding_the_phone_after_its_length(commune, twilio):
    client, factory, _, _, open_event = commune(voice_from_severity=3)
    open_event(3)
    in_progress = row_of(factory, ringing(twilio, factory).sid)
    length = timedelta(seconds=call_length_s(30, in_progress.text, "solicit"))
    with transaction(factory) as s:  # Twilio's « completed » was lost, and the call's time has passed
        s.execute(update(Notification).where(Notification.id == in_progress.id)
                  .values(handed_off_at=in_progress.handed_off_at - length - timedelta(seconds=1)))
    second = open_event(3)
    # Nothing to wait for: the second page rings at once.
    wait_until(lambda: len([c for c in twilio.calls if c.to == TECH1]) == 2, timeout=15, what="a second call")
    held = first(factory, select(Notification).where(Notification.event_id == second, Notification.channel == "voice"))
    assert not held.data.get("fallback")


def test_forged_misaddressed_or_unknown_callbacks_are_refused(commune, twilio):
    client, factory, _, _, open_event = commune(voice_from_severity=3)
    open_event(3)
    placed = ringing(twilio, factory)
    url, body, headers = twilio.status(placed, "no-answer")
    forged = {**headers, "x-twilio-signature": signature("not-the-token", url, [])}
    assert post(client, url, body, forged).json()["error"]["code"] == "invalid_signature"
    assert post(client, url, body, forged).status_code == 403
    assert post(client, url, body.replace(b"no-answer", b"busy"), headers).status_code == 403
    assert post(client, url, body, {"content-type": headers["content-type"]}).status_code == 403
    other = url.replace(f"/{row_of(factory, placed.sid).id}/", "/999999/")
    assert post(client, other, body, headers).status_code == 403  # signed for another call
    unknown = twilio.signed(f"{PUBLIC}/api/v1/voice/twilio/999999/twiml", {"CallSid": placed.sid})
    answer = post(client, f"{PUBLIC}/api/v1/voice/twilio/999999/twiml", *unknown)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    no_sid = twilio.signed(placed.url, {"CallStatus": "in-progress"})
    assert post(client, placed.url, *no_sid).json()["error"]["code"] == "invalid_body"
    huge = post(client, placed.url, b"x" * 20_000, {"content-type": headers["content-type"]})
    assert huge.status_code == 413


def test_the_routes_answer_503_when_no_voice_provider_is_configured(make_client, settings):
    settings.voice_providers = []
    answer = make_client().post("/api/v1/voice/twilio/1/twiml", content=b"CallSid=CA1",
                                headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "voice_not_configured"


def test_a_moderate_page_does_not_call_when_the_commune_chose_grave(commune, twilio):
    client, factory, _, _, open_event = commune(voice_from_severity=3)
    event_id = open_event(2)
    wait_until(lambda: first(factory, select(Notification.id).where(Notification.event_id == event_id,
                                                                     Notification.channel == "sms")), timeout=15)
    assert first(factory, select(Notification.id).where(Notification.channel == "voice")) is None
    assert twilio.calls == []


def test_a_commune_that_chose_no_calls_is_not_called(commune, twilio):
    client, factory, _, _, open_event = commune()
    event_id = open_event(4)
    wait_until(lambda: first(factory, select(Notification.id).where(Notification.event_id == event_id,
                                                                     Notification.status == "delivered")), timeout=15)
    assert first(factory, select(Notification.id).where(Notification.channel == "voice")) is None
    assert twilio.calls == []


def test_the_choice_is_bounded(commune):
    client, _, world, _, _ = commune()
    admin = login(client, world.users["admin"])
    for choice in ({"voice_from_severity": 2}, {"voice_after_sms_minutes": 0}, {"voice_after_sms_minutes": 10_000}):
        answer = client.patch(f"/api/v1/organizations/{world.commune_id}", headers=admin, json=choice)
        assert answer.status_code == 422, choice
    cleared = client.patch(f"/api/v1/organizations/{world.commune_id}", headers=admin,
                           json={"voice_from_severity": None, "voice_after_sms_minutes": None})
    assert cleared.status_code == 200 and cleared.json()["voice_from_severity"] is None


def test_a_page_unanswered_after_its_sms_gets_a_call(commune, twilio):
    client, factory, _, operator, open_event = commune(voice_after_sms_minutes=5)
    event_id = open_event(3)
    held = wait_until(lambda: first(factory, select(Notification).where(Notification.event_id == event_id,
                                                                         Notification.channel == "voice")), timeout=15)
    sms = first(factory, select(Notification).where(Notification.event_id == event_id, Notification.channel == "sms",
                                                    Notification.address == TECH1))
    assert held.status == "queued" and held.address == TECH1 and held.data["after_sms"]
    assert held.due_at - sms.due_at == timedelta(minutes=5)  # a row with its due time, nothing asleep
    assert twilio.calls == []
    with transaction(factory) as s:  # five minutes later
        s.execute(update(Notification).where(Notification.id == held.id)
                  .values(due_at=held.due_at - timedelta(minutes=5)))
    placed = ringing(twilio, factory)
    assert row_of(factory, placed.sid).id == held.id


def test_a_failed_sms_brings_the_held_call_forward(commune, twilio, recording_channels):
    client, factory, _, operator, open_event = commune(voice_after_sms_minutes=5)
    recording_channels.register(RecordingChannel(ChannelKind.SMS, lambda message: SendResult.failed("refusé")))
    event_id = open_event(3)
    placed = ringing(twilio, factory)
    row = row_of(factory, placed.sid)
    assert row.data["after_sms"]
    fallback = [e for e in trace_of(client, operator, event_id, "notification.fallback")
                if e["data"]["notification_id"] == row.id]
    assert fallback[0]["data"]["from_channel"] == "sms" and fallback[0]["data"]["to_channel"] == "voice"


def test_an_answer_before_the_delay_cancels_the_held_call(commune, twilio):
    client, factory, world, operator, open_event = commune(voice_after_sms_minutes=5)
    event_id = open_event(3)
    wait_until(lambda: first(factory, select(Notification.id).where(Notification.event_id == event_id,
                                                                     Notification.channel == "voice")), timeout=15)
    tech = login(client, world.users["oncall"])
    assert client.post(f"/api/v1/events/{event_id}/responses", headers=tech, json={"kind": "ack"}).status_code == 201
    with factory() as s:
        call_row = s.scalar(select(Notification).where(Notification.channel == "voice"))
        page = s.scalar(select(Page).where(Page.event_id == event_id))
        assert page.status == "acknowledged" and call_row.status == "cancelled"
    assert twilio.calls == []


def test_a_call_taken_by_an_answering_machine_says_nothing_and_the_next_person_is_called_at_once(commune, twilio):
    client, factory, world, operator, open_event = commune(voice_from_severity=3, ack_timeout_s=300)
    event_id = open_event(3)
    placed = ringing(twilio, factory)
    row = row_of(factory, placed.sid)

    hung_up = post(client, *twilio.pick_up(placed, answered_by="machine_start"))
    assert hung_up.status_code == 200
    assert hung_up.text == '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>'  # not a word
    failed = row_of(factory, placed.sid)
    assert failed.status == "failed" and failed.last_error == "Twilio: messagerie (machine_start)"
    # The step's timeout is five minutes away: the next person is called now.
    ringing(twilio, factory, to=TECH2)
    notify = [e["data"] for e in trace_of(client, operator, event_id, "page.notify")]
    assert [(n["person_id"], n["reason"]) for n in notify] == [(world.techs[0], "start"), (world.techs[1], "voicemail")]

    (ended,) = trace_of(client, operator, event_id, "voice.ended")
    assert (ended["data"]["reason"], ended["data"]["answered_by"], ended["data"]["taken"]) == (
        "voicemail", "machine_start", False)
    assert ended["data"]["notification_id"] == row.id
    assert trace_of(client, operator, event_id, "voice.answered") == []  # nobody picked up
    detail = [e["data"]["detail"] for e in trace_of(client, operator, event_id, "notification.failed")
              if e["data"]["notification_id"] == row.id]
    assert detail == ["appel non pris (Twilio : messagerie)"]

    # Twilio then reports the call completed (by the same machine): it has already ended, once.
    assert post(client, *twilio.status(placed, "completed", 4)).status_code == 200
    assert len(trace_of(client, operator, event_id, "voice.ended")) == 1
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] == "open"
    # Tech Un's SMS still carries the page: their answer still counts.
    tech = login(client, world.users["oncall"])
    assert client.post(f"/api/v1/events/{event_id}/responses", headers=tech, json={"kind": "ack"}).status_code == 201


def test_a_fax_or_a_machine_heard_only_at_the_end_also_ends_the_call_not_taken(commune, twilio):
    client, factory, world, operator, open_event = commune(voice_from_severity=3, ack_timeout_s=300)
    event_id = open_event(3)
    placed = ringing(twilio, factory)
    placed.answered_by = "fax"  # Twilio's words on the call's end carry what its detection found
    assert post(client, *twilio.status(placed, "completed", 3)).status_code == 200
    row = row_of(factory, placed.sid)
    assert row.status == "failed" and row.last_error == "Twilio: fax (fax)"
    (ended,) = trace_of(client, operator, event_id, "voice.ended")
    assert (ended["data"]["reason"], ended["data"]["answered_by"]) == ("fax", "fax")
    ringing(twilio, factory, to=TECH2)


def test_an_undecided_detection_or_a_person_hears_the_page(commune, twilio):
    client, factory, _, operator, open_event = commune(voice_from_severity=3)
    event_id = open_event(3)
    placed = ringing(twilio, factory)
    said = post(client, *twilio.pick_up(placed, answered_by="unknown")).text  # fail safe: read it
    assert "<Gather" in said and "Chute d'arbre" in said
    (answered,) = trace_of(client, operator, event_id, "voice.answered")
    assert answered["data"]["answered_by"] == "unknown"
    assert row_of(factory, placed.sid).status == "sent"


def test_a_machine_on_an_earlier_call_does_not_move_a_page_already_taken(commune, twilio):
    client, factory, world, operator, open_event = commune(voice_from_severity=3, ack_timeout_s=300)
    event_id = open_event(3)
    placed = ringing(twilio, factory)
    tech = login(client, world.users["oncall"])
    assert client.post(f"/api/v1/events/{event_id}/responses", headers=tech, json={"kind": "ack"}).status_code == 201
    assert post(client, *twilio.pick_up(placed, answered_by="machine_end_beep")).status_code == 200
    assert [e["data"]["person_id"] for e in trace_of(client, operator, event_id, "page.notify")] == [world.techs[0]]
    assert client.get(f"/api/v1/events/{event_id}", headers=operator).json()["status"] == "acknowledged"
    assert not [c for c in twilio.calls if c.to == TECH2]


def test_the_ring_time_setting_is_bounded():
    from pydantic import ValidationError

    from backend.config import Settings

    assert Settings(voice_ring_s=45).voice_ring_s == 45
    for wrong in (0, 4, 121):
        with pytest.raises(ValidationError):
            Settings(voice_ring_s=wrong)
