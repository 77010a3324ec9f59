"""Answering by SMS: signed callbacks, `1`/`2`/`3`/`4` with or without a page code, refusals."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from backend.inbound.models import InboundSms
from backend.inbound.router import signature_of, signed_headers
from backend.outbox.models import Notification
from backend.responses.models import Response
from backend.trace.models import TraceEntry
from tests.conftest import INBOUND_SECRET
from tests.factories import login

TECH1, TECH2 = "+33639980101", "+33639980102"


def post_sms(client, sender: str, text: str, *, secret: str = INBOUND_SECRET, form: bool = False, raw=None):
    if raw is not None:
        body, ctype = raw, "application/json"
    elif form:
        from urllib.parse import urlencode

        body, ctype = urlencode({"from": sender, "text": text}).encode(), "application/x-www-form-urlencoded"
    else:
        body, ctype = json.dumps({"from": sender, "text": text}).encode(), "application/json"
    headers = {"content-type": ctype, **signed_headers(secret, body)}
    return client.post("/api/v1/sms/inbound", content=body, headers=headers)


def open_event(client, world, operator, title="Chute d'arbre", severity=3):
    response = client.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": severity,
        "title": title, "place": "av. Roland Carraz"})
    assert response.status_code == 201, response.text
    return response.json()


def counts(runtime):
    with runtime.session_factory() as s:
        return (s.scalar(select(func.count(Response.id))), s.scalar(select(func.count(TraceEntry.id))),
                s.scalar(select(func.count(InboundSms.id))))


def sms_back_to(runtime, number):
    with runtime.session_factory() as s:
        return [n.text for n in s.scalars(select(Notification).where(
            Notification.address == number, Notification.purpose == "confirm").order_by(Notification.id))]


@pytest.fixture
def operator(client, world):
    return login(client, world.users["operator"])


def test_reply_1_acknowledges_and_is_confirmed(client, world, runtime, operator):
    event = open_event(client, world, operator)
    assert post_sms(client, TECH1, "1").json() == {"status": "received"}
    detail = client.get(f"/api/v1/events/{event['id']}", headers=operator).json()
    assert detail["status"] == "acknowledged"
    assert detail["pages"][0]["acknowledged_by_person_id"] == world.techs[0]
    trace = client.get(f"/api/v1/events/{event['id']}/trace", headers=operator).json()
    ack = next(e for e in trace if e["kind"] == "response.ack")
    assert ack["data"]["via"] == "sms" and ack["actor_type"] == "person" and ack["actor_id"] == world.techs[0]
    confirmations = sms_back_to(runtime, TECH1)
    assert len(confirmations) == 1 and "Recu : je prends" in confirmations[0]


def test_reply_2_with_a_reason_declines_and_the_next_technician_is_asked(client, world, runtime, operator):
    event = open_event(client, world, operator)
    post_sms(client, TECH1, "NON malade", form=True)
    detail = client.get(f"/api/v1/events/{event['id']}", headers=operator).json()
    assert detail["pages"][0]["current_person_id"] == world.techs[1]
    trace = client.get(f"/api/v1/events/{event['id']}/trace", headers=operator).json()
    decline = next(e for e in trace if e["kind"] == "response.decline")
    assert decline["data"]["text"] == "malade"


def test_on_site_done_and_notes_after_taking_it(client, world, runtime, operator):
    event = open_event(client, world, operator)
    for text in ("1", "3", "Arbre tronçonné, voie rouverte", "4"):
        post_sms(client, TECH1, text)
    trace = client.get(f"/api/v1/events/{event['id']}/trace", headers=operator).json()
    kinds = [e["kind"] for e in trace if e["kind"].startswith("response.")]
    assert kinds == ["response.ack", "response.on_site", "response.note", "response.done"]
    note = next(e for e in trace if e["kind"] == "response.note")
    assert note["data"]["text"] == "Arbre tronçonné, voie rouverte"


def test_several_open_pages_without_a_code_get_the_list_of_codes(client, world, runtime, operator):
    first = open_event(client, world, operator, "Chute d'arbre")
    second = open_event(client, world, operator, "Inondation cave")
    before = counts(runtime)[0]
    post_sms(client, TECH1, "1")
    assert counts(runtime)[0] == before, "an ambiguous reply records nothing"
    listing = sms_back_to(runtime, TECH1)[-1]
    codes = [client.get(f"/api/v1/events/{e['id']}", headers=operator).json()["pages"][0]["reply_code"]
             for e in (first, second)]
    assert all(code in listing for code in codes)
    post_sms(client, TECH1, f"1 {codes[1]}")
    assert client.get(f"/api/v1/events/{second['id']}", headers=operator).json()["status"] == "acknowledged"
    assert client.get(f"/api/v1/events/{first['id']}", headers=operator).json()["status"] == "open"


def test_the_solicitation_sms_names_its_code_only_when_needed(client, world, runtime, operator):
    open_event(client, world, operator, "Chute d'arbre")
    second = open_event(client, world, operator, "Inondation cave")
    code = client.get(f"/api/v1/events/{second['id']}", headers=operator).json()["pages"][0]["reply_code"]
    with runtime.session_factory() as s:
        texts = [n.text for n in s.scalars(select(Notification).where(
            Notification.address == TECH1, Notification.purpose == "solicit").order_by(Notification.id))]
    assert texts[0].endswith("Rep 1=je prends 2=indispo")
    assert texts[1].endswith(f"Rep 1 {code}=je prends 2 {code}=indispo")


def test_an_ack_after_someone_else_took_it_is_refused_in_french(client, world, runtime, operator):
    event = open_event(client, world, operator)
    tech2 = login(client, world.users["oncall2"])
    post_sms(client, TECH1, "2")  # tech 1 declines: tech 2 is asked
    assert client.post(f"/api/v1/events/{event['id']}/responses", headers=tech2, json={"kind": "ack"}).status_code == 201
    post_sms(client, TECH1, "1")
    assert sms_back_to(runtime, TECH1)[-1].endswith("Non enregistre : deja pris en charge par Tech Deux.")
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count(Response.id)).where(Response.kind == "ack")) == 1


def test_an_unknown_number_learns_nothing_and_is_logged(client, world, runtime, operator):
    open_event(client, world, operator)
    responses_before, trace_before, _ = counts(runtime)
    reply = post_sms(client, "+33639989999", "1")
    assert reply.status_code == 200 and reply.json() == {"status": "received"}
    responses, trace, inbound = counts(runtime)
    assert (responses, trace) == (responses_before, trace_before)
    assert sms_back_to(runtime, "+33639989999") == []
    with runtime.session_factory() as s:
        assert s.scalar(select(InboundSms.outcome).order_by(InboundSms.id.desc())) == "unknown_sender"


def test_a_national_format_sender_is_matched(client, world, runtime, operator):
    event = open_event(client, world, operator)
    post_sms(client, "06 39 98 01 01", "ok")
    assert client.get(f"/api/v1/events/{event['id']}", headers=operator).json()["status"] == "acknowledged"


@pytest.mark.parametrize("case", ["forged", "missing", "other_secret"])
def test_a_forged_or_missing_signature_is_401_and_records_nothing(client, world, runtime, operator, case):
    open_event(client, world, operator)
    before = counts(runtime)
    body = json.dumps({"from": TECH1, "text": "1"}).encode()
    headers = {"content-type": "application/json", "x-vigie-timestamp": str(int(time.time()))}
    if case == "forged":
        headers["x-vigie-signature"] = "sha256=" + "0" * 64
    elif case == "other_secret":
        headers["x-vigie-signature"] = signature_of("not-the-secret", headers["x-vigie-timestamp"], body)
    reply = client.post("/api/v1/sms/inbound", content=body, headers=headers)
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "invalid_signature"
    assert counts(runtime) == before


@pytest.mark.parametrize("raw, code", [
    (b"{not json", "invalid_json"),
    (b"[1, 2]", "invalid_body"),
    (b'{"text": "1"}', "invalid_body"),
    (json.dumps({"from": TECH1, "text": "x" * 2000}).encode(), "text_too_long"),
])
def test_malformed_bodies_are_clear_refusals(client, world, runtime, operator, raw, code):
    open_event(client, world, operator)
    before = counts(runtime)
    reply = post_sms(client, TECH1, "", raw=raw)
    assert reply.status_code in (400, 413, 422) and reply.json()["error"]["code"] == code
    assert counts(runtime) == before


def test_a_captured_callback_replayed_counts_once(client, world, runtime, operator):
    event = open_event(client, world, operator)
    body = json.dumps({"from": TECH1, "text": "1"}).encode()
    headers = {"content-type": "application/json", **signed_headers(INBOUND_SECRET, body)}
    for _ in range(3):
        reply = client.post("/api/v1/sms/inbound", content=body, headers=headers)
        assert reply.status_code == 200 and reply.json() == {"status": "received"}
    assert client.get(f"/api/v1/events/{event['id']}", headers=operator).json()["status"] == "acknowledged"
    assert counts(runtime)[0] == 1 and counts(runtime)[2] == 1
    assert len(sms_back_to(runtime, TECH1)) == 1, "one confirmation SMS, not three"


def test_a_provider_resending_its_message_id_counts_once(client, world, runtime, operator):
    open_event(client, world, operator)
    for at in (time.time() - 30, time.time()):  # the provider's retry, signed anew
        body = json.dumps({"from": TECH1, "text": "Note: arbre dégagé", "message_id": "prov-42"}).encode()
        reply = client.post("/api/v1/sms/inbound", content=body,
                            headers={"content-type": "application/json", **signed_headers(INBOUND_SECRET, body, at=at)})
        assert reply.status_code == 200
    assert counts(runtime)[2] == 1


@pytest.mark.parametrize("age_s", [330, -330])  # 30 s outside the 300 s window: a loaded machine takes seconds
def test_a_callback_signed_outside_the_window_is_refused(client, world, runtime, operator, age_s):
    open_event(client, world, operator)
    before = counts(runtime)
    body = json.dumps({"from": TECH1, "text": "1"}).encode()
    headers = {"content-type": "application/json", **signed_headers(INBOUND_SECRET, body, at=time.time() - age_s)}
    reply = client.post("/api/v1/sms/inbound", content=body, headers=headers)
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "stale_signature"
    assert counts(runtime) == before


def test_a_signature_over_the_body_alone_is_refused(client, world, runtime, operator):
    """The former scheme (no timestamp) would let a captured request be replayed for ever."""
    import hashlib
    import hmac

    body = json.dumps({"from": TECH1, "text": "1"}).encode()
    old = hmac.new(INBOUND_SECRET.encode(), body, hashlib.sha256).hexdigest()
    reply = client.post("/api/v1/sms/inbound", content=body,
                        headers={"content-type": "application/json", "x-vigie-signature": "sha256=" + old})
    assert reply.status_code == 401
