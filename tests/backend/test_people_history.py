"""Phone numbers stored in E.164 whatever way they are typed, refused in French when wrong; and the
change history of a person: made, edited, deactivated, by whom."""

from __future__ import annotations

import pytest

API = "/api/v1"


@pytest.mark.parametrize("typed", ["06 39 98 01 05", "06.39.98.01.05", "+33 6 39 98 01 05", "0033639980105",
                                   "+33 (0)6 39 98 01 05"])
def test_a_french_mobile_typed_any_way_is_stored_in_e164(client, world, h, typed):
    reply = client.post(f"{API}/people/{world.techs[0]}/contact-methods", headers=h("referent"),
                        json={"kind": "sms", "address": typed, "label": "pro"})
    assert reply.status_code == 201, reply.text
    assert reply.json()["address"] == "+33639980105"


def test_a_foreign_mobile_is_kept_with_its_country_code(client, world, h):
    reply = client.post(f"{API}/people/{world.techs[0]}/contact-methods", headers=h("referent"),
                        json={"kind": "sms", "address": "+32 470 12 34 56"})
    assert reply.status_code == 201 and reply.json()["address"] == "+32470123456"


@pytest.mark.parametrize(("typed", "code", "words"), [
    ("06 39 98 01", "invalid_phone", "n'est pas un numéro de téléphone valide"),
    ("bonjour", "invalid_phone", "n'est pas un numéro de téléphone valide"),
    ("03 80 00 00 00", "not_a_mobile_number", "ne peut pas recevoir de SMS"),
])
def test_a_wrong_number_is_refused_with_a_french_message_naming_it(client, world, h, typed, code, words):
    reply = client.post(f"{API}/people/{world.techs[0]}/contact-methods", headers=h("referent"),
                        json={"kind": "sms", "address": typed})
    assert reply.status_code == 422
    error = reply.json()["error"]
    assert error["code"] == code and words in error["message"] and f"« {typed} »" in error["message"]


def test_a_long_wrong_value_is_not_echoed_whole(client, world, h):
    reply = client.post(f"{API}/people/{world.techs[0]}/contact-methods", headers=h("referent"),
                        json={"kind": "email", "address": "x" * 5000})
    assert reply.status_code == 422 and len(reply.json()["error"]["message"]) < 200


def test_the_history_says_who_made_changed_and_deactivated_a_person(client, world, h):
    made = client.post(f"{API}/people", headers=h("referent"), json={
        "organization_id": world.commune_id, "first_name": "Nina", "last_name": "Roux", "employee_number": "R-9",
        "contact_methods": [{"kind": "sms", "address": "06 39 98 03 01"}]})
    assert made.status_code == 201, made.text
    person_id = made.json()["id"]
    assert made.json()["contact_methods"][0]["address"] == "+33639980301"
    client.patch(f"{API}/people/{person_id}", headers=h("admin"), json={"job_title": "Cadre", "employee_number": "R-10"})
    client.get(f"{API}/people/{person_id}", headers=h("admin"))  # a read is in the access log, not the history
    client.delete(f"{API}/people/{person_id}", headers=h("referent"))
    history = client.get(f"{API}/people/{person_id}/history", headers=h("referent"))
    assert history.status_code == 200
    assert [(e["action"], e["what"], e["user"].split(" (")[0]) for e in history.json()] == [
        ("deactivate", "", "Referent"), ("change", "employee_number,job_title", "Admin"), ("create", "", "Referent")]


def test_the_history_stays_in_the_commune(client, world, h):
    assert client.get(f"{API}/people/{world.foreign_person_id}/history", headers=h("admin")).status_code == 404
    assert client.get(f"{API}/people/{world.techs[0]}/history", headers=h("operator")).status_code == 403
    assert client.get(f"{API}/people/{world.techs[0]}/history", headers=h("foreign_operator")).status_code == 403


def test_joining_or_leaving_a_group_is_in_the_history_of_those_who_moved_only(client, world, h):
    roster = [world.techs[0], world.techs[2], world.cadres[0]]  # Tech Deux leaves, Cadre Un joins
    assert client.put(f"{API}/groups/{world.tech_group_id}/roster", headers=h("referent"),
                      json={"person_ids": roster}).status_code == 200
    listed = client.get(f"{API}/distribution-lists?organization_id={world.commune_id}", headers=h("admin")).json()
    assert client.put(f"{API}/distribution-lists/{listed[0]['id']}/members", headers=h("admin"),
                      json={"person_ids": [world.cadres[0], world.elus[0]]}).status_code == 200

    def history(person_id):
        return [(e["action"], e["what"]) for e in client.get(f"{API}/people/{person_id}/history",
                                                              headers=h("admin")).json()]

    assert history(world.techs[1]) == [("change", "groups")]
    assert history(world.cadres[0]) == [("change", "groups")]  # joined the roster; already on the list
    assert history(world.elus[0]) == [("change", "groups")]
    assert history(world.techs[0]) == [] and history(world.techs[2]) == []
