"""Whom the PC phones about an event (GET /events/{id}/contacts), and the answer it records for someone
who phoned back: anyone on call in the commune, chain or not, even after nobody answered in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from backend.auth import service as auth_service
from backend.db import transaction
from backend.pages.models import Page
from backend.people.models import ContactMethod, Person
from backend.privacy.models import PersonalDataAccess
from tests.factories import PASSWORD, login

API = "/api/v1"


@pytest.fixture
def as_role(client, world, runtime):
    with transaction(runtime.session_factory) as s:
        auth_service.create_user(db_session=s, email="referent_other@example.org", full_name="Referent Longvic",
                                 role="referent", organization_id=world.other_commune_id, password=PASSWORD)
    world.users["referent_other"] = "referent_other@example.org"
    cache: dict[str, dict] = {}

    def headers(role: str) -> dict:
        if role not in cache:
            cache[role] = login(client, world.users[role])
        return cache[role]
    return headers


def open_event(client, world, headers) -> dict:
    response = client.post(f"{API}/events", headers=headers, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Arbre tombé", "place": "Rue de la Paix"})
    assert response.status_code == 201, response.text
    return response.json()


def test_the_pc_gets_who_to_phone_with_their_mobile(client, world, as_role):
    event = open_event(client, world, as_role("operator"))
    response = client.get(f"{API}/events/{event['id']}/contacts", headers=as_role("operator"))
    assert response.status_code == 200, response.text
    people = {c["person_id"]: c for c in response.json()}
    # The one solicited first, then the chain, then whoever else is on call in the commune (the élu).
    assert [c["person_id"] for c in response.json()] == [*world.techs, *world.cadres, *world.elus]
    first = people[world.techs[0]]
    assert (first["display_name"], first["mobile"], first["groups"], first["solicited"], first["in_chain"]) == (
        "Tech Un", "+33639980101", ["Astreinte technique"], True, True)
    assert (people[world.techs[1]]["solicited"], people[world.techs[1]]["mobile"]) == (False, "+33639980102")
    elu = people[world.elus[0]]
    assert (elu["in_chain"], elu["groups"], elu["mobile"]) == (False, ["Astreinte élu"], "+33639980120")


def test_numbers_only_for_the_staff_of_that_commune(client, world, as_role):
    event = open_event(client, world, as_role("operator"))
    path = f"{API}/events/{event['id']}/contacts"
    assert client.get(path, headers=as_role("referent")).status_code == 200
    other = client.get(path, headers=as_role("referent_other"))
    assert (other.status_code, other.json()["error"]["code"]) == (404, "not_found")
    foreign = client.get(path, headers=as_role("foreign_operator"))
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (404, "not_found")
    phone = client.get(path, headers=as_role("oncall"))  # even a person solicited for it
    assert (phone.status_code, phone.json()["error"]["code"]) == (403, "role_forbidden")
    assert client.get(f"{API}/events/{10**6}/contacts", headers=as_role("operator")).status_code == 404
    assert client.get(f"{API}/events/{2**63}/contacts", headers=as_role("operator")).status_code == 422


def test_reading_the_numbers_is_logged_once_per_reader_and_event(client, world, as_role, runtime):
    event = open_event(client, world, as_role("operator"))
    for _ in range(3):
        assert client.get(f"{API}/events/{event['id']}/contacts", headers=as_role("operator")).status_code == 200
    with transaction(runtime.session_factory) as s:
        rows = s.execute(select(PersonalDataAccess.person_id, PersonalDataAccess.user_label, PersonalDataAccess.what)
                         .where(PersonalDataAccess.person_id == world.techs[0])).all()
    assert rows == [(world.techs[0], "Operator (operator)", f"mobile, event {event['number']}")]


def test_the_pc_records_the_answer_of_someone_on_call_outside_the_chain(client, world, as_role):
    event = open_event(client, world, as_role("operator"))
    response = client.post(f"{API}/events/{event['id']}/responses", headers=as_role("operator"), json={
        "kind": "ack", "person_id": world.elus[0], "reason": "A appelé le PC, se rend sur place"})
    assert response.status_code == 201, response.text
    detail = client.get(f"{API}/events/{event['id']}", headers=as_role("operator")).json()
    assert (detail["status"], detail["pages"][0]["status"], detail["pages"][0]["acknowledged_by_person_id"]) == (
        "acknowledged", "acknowledged", world.elus[0])
    trace = client.get(f"{API}/events/{event['id']}/trace", headers=as_role("operator")).json()
    ack = next(e for e in trace if e["kind"] == "response.ack")
    assert (ack["actor_label"], ack["data"]["person"], ack["data"]["on_behalf"], ack["data"]["reason"]) == (
        "Operator", "Elu Un", True, "A appelé le PC, se rend sur place")


def test_after_the_alarm_the_pc_records_who_takes_it(client, world, as_role, runtime):
    event = open_event(client, world, as_role("operator"))
    with transaction(runtime.session_factory) as s:  # as the worker leaves a page nobody answered
        s.execute(update(Page).where(Page.event_id == event["id"]).values(status="unreached", due_at=None))
    response = client.post(f"{API}/events/{event['id']}/responses", headers=as_role("operator"), json={
        "kind": "ack", "person_id": world.cadres[1], "reason": "Joint sur son mobile après l'alarme"})
    assert response.status_code == 201, response.text
    detail = client.get(f"{API}/events/{event['id']}", headers=as_role("operator")).json()
    assert (detail["status"], detail["pages"][0]["status"], detail["pages"][0]["acknowledged_by_person_id"]) == (
        "acknowledged", "acknowledged", world.cadres[1])
    kinds = [e["kind"] for e in client.get(f"{API}/events/{event['id']}/trace", headers=as_role("operator")).json()]
    assert kinds[-2:] == ["response.ack", "page.acknowledged"]
    # Taken: a second answer is refused, as for any page acknowledged.
    again = client.post(f"{API}/events/{event['id']}/responses", headers=as_role("operator"), json={
        "kind": "ack", "person_id": world.techs[0], "reason": "Appel"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_acknowledged")


def test_the_holder_of_the_turn_is_marked_and_first(client, world, as_role):
    """With a rotation, the holder of the technicians' turn is the one solicited, and says so; the rest of the
    group follows in its roster's order (as the chain does)."""
    un, deux, trois = world.techs
    start = datetime.now(UTC) - timedelta(days=1)
    rotation = client.put(f"{API}/groups/{world.tech_group_id}/rotation", headers=as_role("admin"), json={
        "member_ids": [deux, trois, un], "anchor_local": start.strftime("%Y-%m-%dT%H:%M:00"), "turn_days": 7,
        "effective_from": start.isoformat()})
    assert rotation.status_code == 200, rotation.text
    event = open_event(client, world, as_role("operator"))
    found = client.get(f"{API}/events/{event['id']}/contacts", headers=as_role("operator")).json()
    assert [(c["person_id"], c["solicited"], c["holds_turn"]) for c in found[:3]] == [
        (deux, True, True), (un, False, False), (trois, False, False)]


def test_no_number_says_so_and_someone_deactivated_is_not_on_call(client, world, as_role, runtime):
    with transaction(runtime.session_factory) as s:
        s.execute(delete(ContactMethod).where(ContactMethod.person_id == world.techs[2], ContactMethod.kind == "sms"))
        s.execute(update(Person).where(Person.id == world.elus[0]).values(active=False))
    event = open_event(client, world, as_role("operator"))
    found = {c["person_id"]: c for c in client.get(f"{API}/events/{event['id']}/contacts",
                                                   headers=as_role("operator")).json()}
    assert found[world.techs[2]]["mobile"] is None
    assert world.elus[0] not in found  # on call on paper, but no longer with the commune
    refused = client.post(f"{API}/events/{event['id']}/responses", headers=as_role("operator"), json={
        "kind": "ack", "person_id": world.elus[0], "reason": "Appel"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "not_solicited")
