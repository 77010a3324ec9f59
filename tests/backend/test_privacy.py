"""RGPD: who read or changed a person's data is logged for the commune's referent, and everything
Vigie holds on a person comes out as one JSON document."""

from __future__ import annotations

API = "/api/v1"


def test_reads_and_changes_of_a_person_are_logged_for_the_referent(client, world, h):
    person = world.techs[0]
    assert client.get(f"{API}/people/{person}", headers=h("operator")).status_code == 200
    assert client.get(f"{API}/people/{person}/contact-methods", headers=h("operator")).status_code == 200
    assert client.patch(f"{API}/people/{person}", headers=h("referent"),
                        json={"job_title": "Chef d'équipe"}).status_code == 200
    log = client.get(f"{API}/people/{person}/access-log", headers=h("referent"))
    assert log.status_code == 200
    assert [(a["action"], a["what"], a["user"]) for a in log.json()] == [
        ("change", "job_title", "Referent (referent)"), ("read", "contacts", "Operator (operator)"),
        ("read", "", "Operator (operator)")]
    assert client.get(f"{API}/people/{world.techs[1]}/access-log", headers=h("referent")).json() == []


def test_the_export_holds_what_vigie_keeps_on_the_person(client, world, h):
    person = world.techs[0]
    event = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3, "title": "Arbre"})
    client.post(f"{API}/events/{event.json()['id']}/responses", headers=h("oncall"),
                json={"kind": "ack", "text": "j'y vais"})
    answer = client.get(f"{API}/people/{person}/export", headers=h("referent"))
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == f'attachment; filename="vigie-personne-{person}.json"'
    held = answer.json()
    assert held["person"]["last_name"] == "Un"
    assert {c["kind"] for c in held["contact_methods"]} >= {"sms"}
    assert [a["email"] for a in held["accounts"]] == [world.users["oncall"]]
    assert held["on_call_groups"] and held["messages_sent"][0]["address"]
    assert [(r["kind"], r["text"]) for r in held["answers"]] == [("ack", "j'y vais")]
    assert any(e["kind"] == "response.ack" for e in held["trace_entries"])
    assert held["access_log"][0]["action"] == "export"


def test_only_the_communes_referent_and_admins_see_the_log_and_the_export(client, world, h):
    person = world.techs[0]
    for path in ("access-log", "export"):
        assert client.get(f"{API}/people/{person}/{path}", headers=h("operator")).status_code == 403
        assert client.get(f"{API}/people/{person}/{path}", headers=h("foreign_operator")).status_code in (403, 404)
        assert client.get(f"{API}/people/{person}/{path}", headers=h("admin")).status_code == 200
        assert client.get(f"{API}/people/{world.foreign_person_id}/{path}", headers=h("admin")).status_code == 404
