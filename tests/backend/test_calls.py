"""The call log: one click in the console or the telephony's API, events opened from a call, alerts
that bypassed the PC — every route scoped to the caller's communes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from backend.db import utcnow

API = "/api/v1"


def test_one_click_logs_an_answered_call_and_an_event_is_opened_from_it(client, world, h):
    call = client.post(f"{API}/calls", headers=h("operator"), json={
        "organization_id": world.commune_id, "answered": True, "caller_category": "police",
        "caller_number": "0639980199"})
    assert call.status_code == 201, call.text
    call = call.json()
    # One click is ring and answer at once: the wait is not known (and not zero).
    assert call["answered"] and call["source"] == "console" and call["wait_s"] is None
    event = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "title": "Arbre tombé",
        "call_id": call["id"]})
    assert event.status_code == 201, event.text
    linked = client.get(f"{API}/calls/{call['id']}", headers=h("operator")).json()
    assert (linked["event_id"], linked["event_number"]) == (event.json()["id"], event.json()["number"])
    assert client.get(f"{API}/calls", headers=h("operator")).json()[0]["event_number"] == event.json()["number"]
    created = client.get(f"{API}/events/{event.json()['id']}/trace", headers=h("operator")).json()[0]
    assert created["kind"] == "event.created" and created["data"]["call_id"] == call["id"]
    again = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "title": "Doublon",
        "call_id": call["id"]})
    assert again.status_code == 409 and again.json()["error"]["code"] == "call_has_event"


def test_the_telephony_sends_missed_calls_with_their_wait_and_a_resend_counts_once(client, world, h):
    rang = utcnow() - timedelta(minutes=3)
    body = {"organization_id": world.commune_id, "answered": False, "received_at": rang.isoformat(),
            "external_id": "pbx-2026-000123", "caller_number": "+33639980188"}
    first = client.post(f"{API}/calls", headers=h("operator"), json=body)
    second = client.post(f"{API}/calls", headers=h("operator"), json=body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["answered_at"] is None and first.json()["source"] == "telephony"
    answered = client.post(f"{API}/calls", headers=h("operator"), json={
        "organization_id": world.commune_id, "answered": True, "received_at": rang.isoformat(),
        "answered_at": (rang + timedelta(seconds=42)).isoformat(), "external_id": "pbx-2026-000124"})
    assert answered.json()["wait_s"] == 42
    listed = client.get(f"{API}/calls", headers=h("referent")).json()
    assert {c["external_id"] for c in listed} == {"pbx-2026-000123", "pbx-2026-000124"}


@pytest.mark.parametrize("body, code", [
    ({"answered": True, "received_at": "2026-12-01T10:00:00+00:00", "answered_at": "2026-12-01T09:59:00+00:00"},
     "answered_before_received"),
    ({"answered": False, "received_at": "2099-01-01T00:00:00+00:00"}, "call_in_future"),
    ({"answered": True, "caller_category": "martian"}, "invalid_input"),
    ({"answered": True, "received_at": "2026-12-01T10:00:00"}, "invalid_input"),
])
def test_bad_calls_are_refused_and_nothing_is_logged(client, world, h, body, code):
    response = client.post(f"{API}/calls", headers=h("operator"), json={"organization_id": world.commune_id, **body})
    assert response.status_code == 422 and response.json()["error"]["code"] == code
    assert client.get(f"{API}/calls", headers=h("operator")).json() == []


def test_calls_are_scoped_to_the_callers_communes(client, world, h):
    mine = client.post(f"{API}/calls", headers=h("operator"), json={
        "organization_id": world.commune_id, "answered": True}).json()
    foreign = client.post(f"{API}/calls", headers=h("operator"), json={
        "organization_id": world.foreign_commune_id, "answered": True})
    assert foreign.status_code == 404
    assert client.get(f"{API}/calls/{mine['id']}", headers=h("foreign_operator")).status_code == 404
    assert client.get(f"{API}/calls", headers=h("foreign_operator")).json() == []
    assert client.post(f"{API}/calls", headers=h("referent"), json={
        "organization_id": world.commune_id, "answered": True}).status_code == 403
    assert client.get(f"{API}/calls", headers=h("oncall")).status_code == 403
    event = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.other_commune_id, "title": "Ailleurs", "category": "Voirie",
        "call_id": mine["id"]})
    assert event.status_code == 404  # a call of Chenôve cannot open an event of Longvic


def test_alerts_that_bypassed_the_pc_are_recorded_by_the_commune(client, world, h):
    recorded = client.post(f"{API}/bypassed-alerts", headers=h("referent"), json={
        "organization_id": world.commune_id, "occurred_at": "2026-11-14T22:10:00+01:00",
        "category": "Éclairage public", "count": 3, "description": "appels directs au DST"})
    assert recorded.status_code == 201, recorded.text
    assert client.post(f"{API}/bypassed-alerts", headers=h("referent"), json={
        "organization_id": world.other_commune_id, "occurred_at": "2026-11-14T22:10:00+01:00",
        "category": "Voirie"}).status_code in (403, 404)
    assert client.post(f"{API}/bypassed-alerts", headers=h("foreign_operator"), json={
        "organization_id": world.commune_id, "occurred_at": "2026-11-14T22:10:00+01:00",
        "category": "Voirie"}).status_code == 404
    listed = client.get(f"{API}/bypassed-alerts", headers=h("operator")).json()
    assert [(a["category"], a["count"]) for a in listed] == [("Éclairage public", 3)]
    assert client.get(f"{API}/bypassed-alerts", headers=h("foreign_operator")).json() == []


def test_a_call_logged_wrong_is_corrected_and_the_change_is_kept(client, world, h):
    call = client.post(f"{API}/calls", headers=h("operator"), json={
        "organization_id": world.commune_id, "answered": True}).json()
    rang = call["answered_at"]
    fixed = client.patch(f"{API}/calls/{call['id']}", headers=h("operator"), json={
        "caller_category": "sdis", "note": "pompiers, feu de poubelle"})
    assert fixed.status_code == 200, fixed.text
    fixed = fixed.json()
    assert (fixed["caller_category"], fixed["note"], fixed["wait_s"]) == ("sdis", "pompiers, feu de poubelle", None)
    (correction,) = fixed["corrections"]
    assert correction["by"] == "Operator" and correction["changes"] == {
        "caller_category": ["citizen", "sdis"], "note": ["", "pompiers, feu de poubelle"]}

    # It was in fact missed: no answer time any more, and the pick-up rate follows.
    missed = client.patch(f"{API}/calls/{call['id']}", headers=h("operator"), json={"answered": False}).json()
    assert (missed["answered"], missed["answered_at"]) == (False, None)
    was, now = missed["corrections"][-1]["changes"]["answered_at"]
    assert (datetime.fromisoformat(was), now) == (datetime.fromisoformat(rang), None)
    # The operator gives the ring time afterwards: the wait is measured from then on.
    received = (utcnow() - timedelta(seconds=90)).isoformat()
    timed = client.patch(f"{API}/calls/{call['id']}", headers=h("operator"), json={
        "answered": True, "received_at": received, "answered_at": (utcnow() - timedelta(seconds=60)).isoformat()})
    assert timed.status_code == 200 and round(timed.json()["wait_s"]) == 30

    for body, code in (({"answered_at": (utcnow() - timedelta(hours=1)).isoformat()}, "answered_before_received"),
                       ({"received_at": "2099-01-01T00:00:00+00:00", "answered": False}, "call_in_future"),
                       ({"answered_at": None}, "answered_at_required"),
                       ({"caller_category": "martian"}, "invalid_input"),
                       ({"source": "telephony"}, "invalid_input")):
        refused = client.patch(f"{API}/calls/{call['id']}", headers=h("operator"), json=body)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == code, (body, refused.text)
    assert len(client.get(f"{API}/calls/{call['id']}", headers=h("operator")).json()["corrections"]) == 3
    assert client.patch(f"{API}/calls/{call['id']}", headers=h("foreign_operator"), json={"note": "x"}).status_code == 404
    assert client.patch(f"{API}/calls/{call['id']}", headers=h("referent"), json={"note": "x"}).status_code == 403


def test_a_call_logged_by_mistake_is_voided_kept_and_counted_nowhere(client, world, h):
    day = {"organization_id": world.commune_id, "start": (utcnow() - timedelta(hours=1)).isoformat()}
    rang = utcnow() - timedelta(seconds=20)
    answered = client.post(f"{API}/calls", headers=h("operator"), json={
        "organization_id": world.commune_id, "answered": True, "received_at": rang.isoformat(),
        "answered_at": (rang + timedelta(seconds=10)).isoformat()}).json()
    twice = client.post(f"{API}/calls", headers=h("operator"), json={
        "organization_id": world.commune_id, "answered": False}).json()
    client.post(f"{API}/calls", headers=h("operator"), json={"organization_id": world.commune_id, "answered": True})
    kpis = f"{API}/dashboard"
    before = client.get(kpis, headers=h("operator"), params=day).json()["calls"]
    assert (before["total"], before["answered"], before["median_wait_s"]) == (3, 2, 10)  # the one-click wait is out

    assert client.request("DELETE", f"{API}/calls/{twice['id']}", headers=h("foreign_operator")).status_code == 404
    voided = client.request("DELETE", f"{API}/calls/{twice['id']}", headers=h("operator"),
                            json={"reason": "enregistré deux fois"})
    assert voided.status_code == 200, voided.text
    assert (voided.json()["void_reason"], voided.json()["voided_by"]) == ("enregistré deux fois", "Operator")
    assert {c["id"] for c in client.get(f"{API}/calls", headers=h("operator")).json()} == {
        answered["id"], answered["id"] + 2}
    kept = client.get(f"{API}/calls", headers=h("operator"), params={"include_voided": "true"}).json()
    assert len(kept) == 3
    after = client.get(kpis, headers=h("operator"), params=day).json()["calls"]
    assert (after["total"], after["answered"], after["pickup_rate"]) == (2, 2, 1.0)
    again = client.request("DELETE", f"{API}/calls/{twice['id']}", headers=h("operator"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "call_voided"
    assert client.patch(f"{API}/calls/{twice['id']}", headers=h("operator"), json={"note": "x"}).status_code == 409
    event = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "title": "Arbre",
        "call_id": answered["id"]})
    assert event.status_code == 201
    real = client.request("DELETE", f"{API}/calls/{answered['id']}", headers=h("operator"))
    assert real.status_code == 409 and real.json()["error"]["code"] == "call_has_event"
    reopened = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "title": "Arbre",
        "call_id": twice["id"]})
    assert reopened.status_code == 409 and reopened.json()["error"]["code"] == "call_voided"
