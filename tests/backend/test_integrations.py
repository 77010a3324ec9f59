"""Integrations: API keys (hashed, shown once, scoped, revocable, expiring, tenant-bound), the alarms they
post (mapping, deduplication, end of alarm, idempotency), and the telephony's calls with a key."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import func, select

from backend.auth.security import token_digest
from backend.db import transaction, utcnow
from backend.events.models import Event
from backend.integrations.models import IdempotentRequest, Integration
from backend.outbox.models import Notification

API = "/api/v1"


def _key(client, h, org_id, scopes=("events:write",), role="admin", **extra):
    answer = client.post(f"{API}/integrations", headers=h(role), json={
        "organization_id": org_id, "name": "Hyperviseur", "scopes": list(scopes), **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _alarm(client, key, *, header="bearer", idem=None, **fields):
    body = {"source": "GTC", "alarm_key": "PR-12/niveau-haut", "severity": "MAJOR", "category": "voirie",
            "title": "Niveau haut au poste de relevage 12", **fields}
    headers = {"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-Api-Key": key}
    if idem:
        headers["Idempotency-Key"] = idem
    return client.post(f"{API}/ingest/alarms", headers=headers, json=body)


def _map(client, h, integration_id, **mapping):
    answer = client.put(f"{API}/integrations/{integration_id}/mapping", headers=h("admin"), json=mapping)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _events(runtime):
    with transaction(runtime.session_factory) as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


def _notifications(runtime, event_id):
    with transaction(runtime.session_factory) as s:
        return s.scalar(select(func.count(Notification.id)).where(Notification.event_id == event_id))


def test_the_key_is_shown_once_and_only_its_digest_is_kept(client, world, h, runtime):
    created = _key(client, h, world.commune_id)
    key = created["key"]
    assert key.startswith("vigie_") and len(key) > 40 and created["key_prefix"] == key[:14]
    assert created["state"] == "active" and created["last_used_at"] is None
    with transaction(runtime.session_factory) as s:
        row = s.get(Integration, created["id"])
        assert row.key_hash == token_digest(key)
        assert key not in str({c.name: getattr(row, c.name) for c in Integration.__table__.columns})
    listed = client.get(f"{API}/integrations", headers=h("admin"))
    assert listed.status_code == 200 and key not in listed.text
    assert "key" not in client.get(f"{API}/integrations/{created['id']}", headers=h("admin")).json()
    # Last use: when and from where, recorded once however many requests follow.
    assert _alarm(client, key).status_code == 201
    used = client.get(f"{API}/integrations/{created['id']}", headers=h("admin")).json()
    assert used["last_used_at"] is not None and used["last_used_from"]
    assert _alarm(client, key, alarm_key="other").status_code == 201
    assert client.get(f"{API}/integrations/{created['id']}", headers=h("admin")).json()["last_used_at"] == \
        used["last_used_at"]


def test_a_revoked_or_expired_or_unknown_key_is_refused_with_the_stable_body(client, world, h, runtime):
    created = _key(client, h, world.commune_id)
    assert _alarm(client, created["key"], header="x-api-key").status_code == 201
    revoked = client.post(f"{API}/integrations/{created['id']}/revoke", headers=h("admin"))
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    refused = _alarm(client, created["key"], alarm_key="again")
    assert refused.status_code == 401
    assert refused.json() == {"error": {"code": "invalid_api_key", "message": refused.json()["error"]["message"],
                                        "details": None}}
    assert client.post(f"{API}/integrations/{created['id']}/revoke", headers=h("admin")).status_code == 409

    expiring = _key(client, h, world.commune_id, expires_at=(utcnow() + timedelta(hours=1)).isoformat())
    with transaction(runtime.session_factory) as s:
        s.get(Integration, expiring["id"]).expires_at = utcnow() - timedelta(seconds=1)
    assert _alarm(client, expiring["key"]).json()["error"]["code"] == "invalid_api_key"
    assert client.get(f"{API}/integrations/{expiring['id']}", headers=h("admin")).json()["state"] == "expired"
    assert _alarm(client, "vigie_" + "x" * 43).status_code == 401
    missing = client.post(f"{API}/ingest/alarms", json={"source": "GTC", "alarm_key": "k"})
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "api_key_required"
    past = client.post(f"{API}/integrations", headers=h("admin"), json={
        "organization_id": world.commune_id, "name": "x", "scopes": ["events:write"],
        "expires_at": (utcnow() - timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and past.json()["error"]["code"] == "expiry_in_past"


def test_a_key_does_what_its_scopes_allow_and_nothing_else(client, world, h):
    calls_only = _key(client, h, world.commune_id, scopes=["calls:write"])["key"]
    refused = _alarm(client, calls_only)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "scope_forbidden"
    events_only = _key(client, h, world.commune_id)["key"]
    call = client.post(f"{API}/calls", headers={"X-Api-Key": events_only}, json={
        "organization_id": world.commune_id, "answered": False, "external_id": "pbx-1"})
    assert call.status_code == 403
    # A key is no session: it opens nothing else.
    assert client.get(f"{API}/events", headers={"Authorization": f"Bearer {events_only}"}).status_code == 401


def test_a_communes_key_cannot_open_an_event_elsewhere_and_keys_are_managed_within_ones_communes(client, world, h):
    key = _key(client, h, world.commune_id)["key"]
    elsewhere = _alarm(client, key, organization_id=world.other_commune_id)
    assert elsewhere.status_code == 404
    foreign = _alarm(client, key, organization_id=world.foreign_commune_id)
    assert foreign.status_code == 404
    # A métropole's key acts for every commune it serves, and says which.
    metro = _key(client, h, world.metropole_id)["key"]
    unsaid = _alarm(client, metro)
    assert unsaid.status_code == 422 and unsaid.json()["error"]["code"] == "organization_required"
    assert _alarm(client, metro, organization_id=world.other_commune_id).status_code == 201
    assert _alarm(client, metro, alarm_key="x", organization_id=world.foreign_commune_id).status_code == 404
    # The referent manages their commune's keys only; the foreign PC sees none of ours.
    assert client.post(f"{API}/integrations", headers=h("referent"), json={
        "organization_id": world.other_commune_id, "name": "x", "scopes": ["events:write"]}).status_code == 404
    mine = _key(client, h, world.commune_id, role="referent")
    assert {i["organization_id"] for i in client.get(f"{API}/integrations", headers=h("referent")).json()} == \
        {world.commune_id}
    assert client.get(f"{API}/integrations/{mine['id']}", headers=h("foreign_operator")).status_code in (403, 404)
    assert client.post(f"{API}/integrations/{mine['id']}/revoke", headers=h("operator")).status_code == 403
    assert client.get(f"{API}/integrations", headers=h("oncall")).status_code == 403
    longvic = _key(client, h, world.other_commune_id)
    for method, url, body in (("GET", f"{API}/integrations/{longvic['id']}", None),
                              ("POST", f"{API}/integrations/{longvic['id']}/revoke", None),
                              ("PUT", f"{API}/integrations/{longvic['id']}/mapping", {"on_cleared": "note"})):
        answer = client.request(method, url, headers=h("referent"), json=body)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", (method, url)
    assert client.get(f"{API}/integrations/{longvic['id']}", headers=h("admin")).json()["state"] == "active"
    # A rule may not send a commune's alarms to another commune's procedure.
    assert client.put(f"{API}/integrations/{longvic['id']}/mapping", headers=h("admin"), json={
        "rules": [{"category": "*", "procedure_id": world.procedure_id}]}).json()["error"]["code"] == \
        "unknown_procedure"


def test_the_mapping_picks_the_severity_and_the_procedure_and_a_repeat_pages_nobody_again(client, world, h, runtime):
    created = _key(client, h, world.commune_id)
    _map(client, h, created["id"], severities={"MAJOR": 2, "critical": 4},
         rules=[{"category": "voirie", "procedure_id": world.procedure_id},
                {"category": "*", "group_ids": [world.cadre_group_id]}])
    first = _alarm(client, created["key"])
    assert first.status_code == 201, first.text
    opened = first.json()
    assert opened["outcome"] == "opened" and opened["severity"] == 2 and opened["occurrences"] == 1
    event = client.get(f"{API}/events/{opened['event_id']}", headers=h("operator")).json()
    assert event["procedure_id"] == world.procedure_id and event["source"] == "sensor"
    assert event["pages"], "the procedure's chain is solicited"
    sent = _notifications(runtime, opened["event_id"])
    trace = client.get(f"{API}/events/{opened['event_id']}/trace", headers=h("operator")).json()
    assert trace[0]["data"]["alarm_key"] == "PR-12/niveau-haut" and trace[0]["data"]["integration"] == "Hyperviseur"
    assert trace[0]["data"]["source_severity"] == "MAJOR" and trace[0]["actor_label"] == "Intégration « Hyperviseur »"

    for n in (2, 3):
        again = _alarm(client, created["key"], title="Niveau haut (toujours)")
        assert again.status_code == 200 and again.json()["outcome"] == "repeated"
        assert again.json()["event_id"] == opened["event_id"] and again.json()["occurrences"] == n
    assert len(_events(runtime)) == 1
    assert _notifications(runtime, opened["event_id"]) == sent
    repeats = [e for e in client.get(f"{API}/events/{opened['event_id']}/trace", headers=h("operator")).json()
               if e["kind"] == "alarm.repeated"]
    assert [e["data"]["occurrences"] for e in repeats] == [2, 3]

    # Another category: the default rule (groups « sans procédure »); an unknown severity is 3.
    other = _alarm(client, created["key"], alarm_key="porte-7", category="intrusion", severity="weird").json()
    ad_hoc = client.get(f"{API}/events/{other['event_id']}", headers=h("operator")).json()
    assert ad_hoc["procedure_id"] is None and ad_hoc["severity"] == 3 and ad_hoc["category"] == "intrusion"
    assert ad_hoc["pages"][0]["policy"]


def test_an_end_of_alarm_closes_an_event_nobody_took_and_only_notes_one_taken(client, world, h, runtime):
    created = _key(client, h, world.commune_id)
    _map(client, h, created["id"], rules=[{"category": "voirie", "procedure_id": world.procedure_id}])
    first = _alarm(client, created["key"]).json()
    cleared = _alarm(client, created["key"], state="cleared")
    assert cleared.status_code == 200 and cleared.json()["outcome"] == "cleared_closed"
    event = client.get(f"{API}/events/{first['event_id']}", headers=h("operator")).json()
    assert event["status"] == "closed" and "Fin d'alarme" in event["closure_reason"]
    kinds = [e["kind"] for e in client.get(f"{API}/events/{first['event_id']}/trace", headers=h("operator")).json()]
    assert "alarm.cleared" in kinds and kinds.index("alarm.cleared") < kinds.index("event.closed")
    # Closed by its source, nobody acted on it: the convention's « first action » is still missing.
    start, end = (utcnow() - timedelta(days=1)).isoformat(), (utcnow() + timedelta(days=1)).isoformat()
    figures = client.get(f"{API}/dashboard", headers=h("operator"), params={
        "organization_id": world.commune_id, "start": start, "end": end}).json()
    assert figures["first_action"]["without_action"] == 1
    # Raised again once closed: a new event.
    second = _alarm(client, created["key"]).json()
    assert second["outcome"] == "opened" and second["event_id"] != first["event_id"]
    # Someone took it: the end of alarm is only noted.
    taken = client.post(f"{API}/events/{second['event_id']}/responses", headers=h("oncall"), json={"kind": "ack"})
    assert taken.status_code == 201, taken.text
    noted = _alarm(client, created["key"], state="cleared").json()
    assert noted["outcome"] == "cleared_noted"
    assert client.get(f"{API}/events/{second['event_id']}", headers=h("operator")).json()["status"] != "closed"
    assert _alarm(client, created["key"], alarm_key="never-raised", state="cleared").json()["outcome"] == \
        "cleared_unknown"
    # The integration may choose to only note it.
    _map(client, h, created["id"], on_cleared="note")
    third = _alarm(client, created["key"], alarm_key="autre").json()
    assert _alarm(client, created["key"], alarm_key="autre", state="cleared").json()["outcome"] == "cleared_noted"
    assert client.get(f"{API}/events/{third['event_id']}", headers=h("operator")).json()["status"] == "open"


def test_an_idempotency_key_gives_the_first_answer_again_and_refuses_another_body(client, world, h, runtime):
    key = _key(client, h, world.commune_id)["key"]
    first = _alarm(client, key, idem="req-1")
    again = _alarm(client, key, idem="req-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert len(_events(runtime)) == 1
    with transaction(runtime.session_factory) as s:
        event = s.get(Event, first.json()["event_id"])
        assert event.trace_seq == s.scalar(select(func.max(Event.trace_seq)))
    repeats = [e for e in client.get(f"{API}/events/{first.json()['event_id']}/trace", headers=h("operator")).json()
               if e["kind"] == "alarm.repeated"]
    assert repeats == []
    reused = _alarm(client, key, idem="req-1", title="Autre chose")
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    # Another key is another request: a repeat.
    assert _alarm(client, key, idem="req-2").json()["outcome"] == "repeated"
    # After a day the key is forgotten: the same key is a new request.
    with transaction(runtime.session_factory) as s:
        for row in s.scalars(select(IdempotentRequest)):
            row.created_at = utcnow() - timedelta(hours=25)
    later = _alarm(client, key, idem="req-1", title="Autre chose")
    assert later.status_code == 200 and later.json()["outcome"] == "repeated"
    with transaction(runtime.session_factory) as s:
        assert s.scalars(select(IdempotentRequest.key)).all() == ["req-1"]  # the day-old req-2 dropped


def test_concurrent_duplicates_open_one_event(client, world, h, runtime):
    key = _key(client, h, world.commune_id)["key"]
    answers, start = [], threading.Barrier(6)

    def post(idem):
        start.wait()
        answers.append((idem, _alarm(client, key, idem=idem, alarm_key="storm")))

    threads = [threading.Thread(target=post, args=("same" if i < 3 else None,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a.status_code in (200, 201) for _, a in answers), [a.text for _, a in answers]
    assert len({a.json()["event_id"] for _, a in answers}) == 1
    assert len(_events(runtime)) == 1
    # One request opened it (whichever came first); the others are repeats; the three with the same
    # Idempotency-Key all got the first of them's answer.
    same = [a.json()["outcome"] for idem, a in answers if idem == "same"]
    others = [a.json()["outcome"] for idem, a in answers if idem is None]
    assert len(set(same)) == 1
    assert (same + others).count("opened") == (3 if same[0] == "opened" else 1)


def test_bodies_are_bounded_and_bad_input_is_a_clear_4xx(client, world, h):
    key = _key(client, h, world.commune_id)["key"]
    huge = client.post(f"{API}/ingest/alarms", headers={"X-Api-Key": key}, content=b"{" + b" " * 70_000 + b"}")
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"
    bad = _alarm(client, key, state="maybe")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    long_key = _alarm(client, key, idem="k" * 101)
    assert long_key.status_code == 422
    integration = client.get(f"{API}/integrations", headers=h("admin")).json()[0]
    wrong = client.put(f"{API}/integrations/{integration['id']}/mapping", headers=h("admin"),
                       json={"rules": [{"category": "x", "procedure_id": world.foreign_procedure_id}]})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unknown_procedure"
    both = client.put(f"{API}/integrations/{integration['id']}/mapping", headers=h("admin"),
                      json={"rules": [{"category": "x"}]})
    assert both.status_code == 422 and both.json()["error"]["code"] == "rule_target"
    severity = client.put(f"{API}/integrations/{integration['id']}/mapping", headers=h("admin"),
                          json={"severities": {"MAJOR": 7}})
    assert severity.status_code == 422


def test_the_telephony_logs_calls_with_its_key_and_a_resend_counts_once(client, world, h):
    key = _key(client, h, world.commune_id, scopes=["calls:write"])["key"]
    rang = (utcnow() - timedelta(minutes=2)).isoformat()
    body = {"organization_id": world.commune_id, "answered": False, "received_at": rang, "external_id": "pbx-77"}
    first = client.post(f"{API}/calls", headers={"Authorization": f"Bearer {key}"}, json=body)
    second = client.post(f"{API}/calls", headers={"X-Api-Key": key}, json=body)
    assert (first.status_code, second.status_code) == (201, 200), first.text
    assert first.json()["id"] == second.json()["id"] and first.json()["source"] == "telephony"
    no_id = client.post(f"{API}/calls", headers={"X-Api-Key": key}, json={**body, "external_id": None})
    assert no_id.status_code == 422 and no_id.json()["error"]["code"] == "external_id_required"
    elsewhere = client.post(f"{API}/calls", headers={"X-Api-Key": key},
                            json={**body, "external_id": "pbx-78", "organization_id": world.other_commune_id})
    assert elsewhere.status_code == 404
    # The operator's one click still works; the referent still may not.
    assert client.post(f"{API}/calls", headers=h("operator"), json={
        "organization_id": world.commune_id, "answered": True}).status_code == 201
    assert client.post(f"{API}/calls", headers=h("referent"), json={
        "organization_id": world.commune_id, "answered": True}).status_code == 403


def test_a_key_never_reaches_the_logs(client, world, h, caplog):
    from backend.log_redaction import redact_path

    key = _key(client, h, world.commune_id)["key"]
    with caplog.at_level(logging.DEBUG):
        _alarm(client, key)
        _alarm(client, key, header="x-api-key", alarm_key="b", idem="i-1")
        client.post(f"{API}/integrations/1/revoke", headers=h("admin"))
        _alarm(client, key)
    assert caplog.records and not [r for r in caplog.records if key in r.getMessage()]
    assert key not in redact_path(f"/api/v1/ingest/{key}/alarms?api_key={key}")
    assert redact_path(f"/x/{key}") == "/x/vigie_…"


def test_the_same_call_sent_at_once_by_the_telephony_is_logged_once(client, world, h, runtime):
    from backend.calls.models import Call

    key = _key(client, h, world.commune_id, scopes=["calls:write"])["key"]
    body = {"organization_id": world.commune_id, "answered": True, "external_id": "pbx-race"}
    answers, start = [], threading.Barrier(4)

    def post():
        start.wait()
        answers.append(client.post(f"{API}/calls", headers={"X-Api-Key": key}, json=body))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    with transaction(runtime.session_factory) as s:
        assert s.scalar(select(func.count(Call.id)).where(Call.external_id == "pbx-race")) == 1


def test_a_key_in_a_loop_is_slowed_to_its_limit_and_another_key_goes_on(make_client, world, h, settings):
    settings.rate_limits = {"integration-key": "5/minute"}
    client = make_client()
    looping, other = _key(client, h, world.commune_id)["key"], _key(client, h, world.commune_id)["key"]
    answers = [_alarm(client, looping, alarm_key=f"boucle-{n}").status_code for n in range(6)]
    assert answers == [201] * 5 + [429]
    refused = _alarm(client, looping, alarm_key="boucle-7")
    assert refused.json()["error"]["code"] == "rate_limited" and int(refused.headers["retry-after"]) >= 1
    assert _alarm(client, other, alarm_key="ailleurs").status_code == 201


def test_an_address_trying_keys_is_refused_before_any_lookup(make_client, world, h, settings):
    settings.rate_limits = {"api-key-failures-address": "3/minute"}
    client = make_client()
    good = _key(client, h, world.commune_id)["key"]
    assert [_alarm(client, "vigie_" + "x" * 40).status_code for _ in range(3)] == [401] * 3
    blocked = _alarm(client, "vigie_" + "y" * 40)
    assert blocked.status_code == 429 and blocked.json()["error"]["code"] == "rate_limited"
    # The same address with the right key waits too: guessing does not learn when it found one.
    assert _alarm(client, good).status_code == 429
