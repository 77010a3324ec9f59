"""The directory API: organizations, people and contact methods, groups, lists, procedures, users."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from backend.auth import service as auth_service
from backend.auth.models import User
from backend.db import transaction
from backend.groups.models import DistributionList, OnCallGroup
from backend.people.models import ContactMethod
from tests.factories import login

API = "/api/v1"
DIRECTORY_TAGS = {"organizations", "people", "groups", "procedures", "users"}
MISSING = 10**6
PUSH = {"endpoint": "https://push.example.org/send/abc", "expirationTime": None,
        "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                 "auth": "tBHItJI5svbpez7KI4CCXg"}}


def code_of(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def headers(client, world, runtime):
    """Log a role in once per test; `foreign_admin` is the other métropole's administrator."""
    with transaction(runtime.session_factory) as s:
        auth_service.create_user(db_session=s, email="foreign_admin@example.org", full_name="Foreign Admin",
                                 role="admin", organization_id=world.foreign_metropole_id,
                                 password="correct horse battery")
    world.users["foreign_admin"] = "foreign_admin@example.org"
    cache: dict[str, dict] = {}

    def _headers(role: str) -> dict:
        if role not in cache:
            cache[role] = login(client, world.users[role])
        return cache[role]

    return _headers


@pytest.fixture
def ids(world, runtime, headers):
    """One id of every directory noun, in the world's commune and in the foreign tenant."""
    with transaction(runtime.session_factory) as s:
        foreign_list = DistributionList(organization_id=world.foreign_commune_id, name="Ailleurs")
        s.add(foreign_list)
        s.flush()

        def one(model, **where):
            query = select(model.id).order_by(model.id).limit(1)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return s.scalar(query)

        local = {
            "organization_id": world.commune_id, "person_id": world.techs[0],
            "contact_method_id": one(ContactMethod, person_id=world.techs[0]), "group_id": world.tech_group_id,
            "list_id": one(DistributionList, organization_id=world.commune_id), "procedure_id": world.procedure_id,
            "user_id": one(User, email=world.users["referent"]), "number": 1,
        }
        foreign = {
            "organization_id": world.foreign_commune_id, "person_id": world.foreign_person_id,
            "contact_method_id": one(ContactMethod, person_id=world.foreign_person_id),
            "group_id": one(OnCallGroup, organization_id=world.foreign_commune_id), "list_id": foreign_list.id,
            "procedure_id": world.foreign_procedure_id, "user_id": one(User, email=world.users["foreign_operator"]),
            "number": 1,
        }
    return {"world": local, "foreign": foreign, "missing": {name: MISSING for name in local}}


# --- organizations ---------------------------------------------------------------------------------------------


def test_staff_list_the_organizations_they_see(client, world, headers):
    served = {world.metropole_id, world.commune_id, world.other_commune_id}
    for role in ("admin", "operator"):
        listed = {o["id"] for o in client.get(f"{API}/organizations", headers=headers(role)).json()}
        assert listed == served
    referent = client.get(f"{API}/organizations", headers=headers("referent")).json()
    assert [o["code"] for o in referent] == ["CHENOVE"]


def test_admin_creates_a_commune_served_by_its_metropole(client, world, headers):
    body = {"name": "Ville de Fontaine", "code": " fontaine2 ", "pc_phone": "03 80 00 00 00"}
    response = client.post(f"{API}/organizations", json=body, headers=headers("admin"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["code"], created["kind"], created["served_by_id"]) == ("FONTAINE2", "commune", world.metropole_id)
    assert created["pc_phone"] == "+33380000000"
    assert client.get(f"{API}/organizations/{created['id']}", headers=headers("operator")).status_code == 200
    assert client.get(f"{API}/organizations/{created['id']}", headers=headers("foreign_admin")).status_code == 404


ORGANIZATION_REFUSALS = [
    ({"name": "Doublon", "code": "chenove"}, 409, "code_taken"),
    ({"name": "Tiret", "code": "CHEN-OVE"}, 422, "invalid_input"),
    ({"name": "Accent", "code": "CHENÔVE"}, 422, "invalid_input"),
    ({"name": "", "code": "VIDE"}, 422, "invalid_input"),
    ({"name": "Fuseau", "code": "FUSEAU", "timezone": "Europe/Nowhere"}, 422, "invalid_input"),
    ({"name": "Tel", "code": "TEL", "pc_phone": "12"}, 422, "invalid_phone"),
    ({"name": "Extra", "code": "EXTRA", "kind": "metropole"}, 422, "invalid_input"),
]


def test_organization_input_is_checked(client, headers):
    outcomes = {}
    for body, _status, _code in ORGANIZATION_REFUSALS:
        response = client.post(f"{API}/organizations", json=body, headers=headers("admin"))
        outcomes[repr(body)] = (response.status_code, code_of(response))
    assert outcomes == {repr(body): (status, code) for body, status, code in ORGANIZATION_REFUSALS}


def test_only_admins_create_or_edit_organizations(client, world, headers):
    for role in ("operator", "referent"):
        response = client.post(f"{API}/organizations", json={"name": "X", "code": "XX"}, headers=headers(role))
        assert (response.status_code, code_of(response)) == (403, "role_forbidden")
        response = client.patch(f"{API}/organizations/{world.commune_id}", json={"name": "X"}, headers=headers(role))
        assert (response.status_code, code_of(response)) == (403, "role_forbidden")


def test_admin_edits_an_organization(client, world, headers):
    url = f"{API}/organizations/{world.commune_id}"
    response = client.patch(url, json={"pc_phone": "+33 3 80 11 22 33", "name": "Chenôve"}, headers=headers("admin"))
    assert response.status_code == 200, response.text
    assert (response.json()["pc_phone"], response.json()["name"]) == ("+33380112233", "Chenôve")
    assert code_of(client.patch(url, json={"code": "longvic"}, headers=headers("admin"))) == "code_taken"
    assert client.patch(url, json={"name": None}, headers=headers("admin")).status_code == 422
    assert client.patch(url, json={"pc_phone": None}, headers=headers("admin")).json()["pc_phone"] is None
    assert client.patch(url, json={"code": "CHENOVE"}, headers=headers("admin")).status_code == 200


# --- people and contact methods -----------------------------------------------------------------------------------


def test_people_lifecycle(client, world, headers):
    h = headers("referent")
    body = {"organization_id": world.commune_id, "first_name": "Jean", "last_name": "Dupont",
            "job_title": "Agent voirie", "contact_methods": [
                {"kind": "sms", "address": "06 39 98 01 02", "label": "Portable pro"},
                {"kind": "email", "address": "Jean.Dupont@Example.ORG"}]}
    response = client.post(f"{API}/people", json=body, headers=h)
    assert response.status_code == 201, response.text
    person = response.json()
    assert person["display_name"] == "Jean Dupont" and person["active"] is True
    assert [(c["kind"], c["address"]) for c in person["contact_methods"]] == [
        ("sms", "+33639980102"), ("email", "Jean.Dupont@example.org")]

    found = client.get(f"{API}/people", params={"q": "dupont jean"}, headers=h).json()
    assert [p["id"] for p in found] == [person["id"]]
    url = f"{API}/people/{person['id']}"
    patched = client.patch(url, json={"job_title": "Chef d'équipe", "employee_number": "A12"}, headers=h).json()
    assert (patched["job_title"], patched["employee_number"]) == ("Chef d'équipe", "A12")

    assert client.delete(url, headers=h).status_code == 204
    assert client.get(url, headers=h).json()["active"] is False
    active = client.get(f"{API}/people", params={"active": True}, headers=h).json()
    inactive = client.get(f"{API}/people", params={"active": False}, headers=h).json()
    assert person["id"] not in {p["id"] for p in active}
    assert [p["id"] for p in inactive] == [person["id"]]
    assert client.patch(url, json={"active": True}, headers=h).json()["active"] is True


def test_email_copies_are_set_as_the_readme_says(client, world, headers):
    h = headers("referent")
    person = client.post(f"{API}/people", headers=h, json={
        "organization_id": world.commune_id, "first_name": "Élu", "last_name": "Copie", "email_copies": True,
        "contact_methods": [{"kind": "email", "address": "elu@example.org"}]})
    assert person.status_code == 201, person.text
    assert person.json()["email_copies"] is True
    patched = client.patch(f"{API}/people/{person.json()['id']}", headers=h, json={"email_copies": False})
    assert patched.status_code == 200 and patched.json()["email_copies"] is False


def test_people_list_is_scoped_and_filtered(client, world, headers):
    h = headers("admin")
    everyone = client.get(f"{API}/people", headers=h).json()
    assert world.foreign_person_id not in {p["id"] for p in everyone}
    assert {p["id"] for p in everyone} == set(world.techs + world.cadres + world.elus)
    techs = client.get(f"{API}/people", params={"q": "TECH", "organization_id": world.commune_id}, headers=h).json()
    assert {p["id"] for p in techs} == set(world.techs)
    longvic = client.get(f"{API}/people", params={"organization_id": world.other_commune_id}, headers=h).json()
    assert longvic == []


CONTACT_REFUSALS = [
    ("sms", "12345", "invalid_phone"),
    ("sms", "06 39 98 01 0", "invalid_phone"),
    ("sms", "pas un numéro", "invalid_phone"),
    ("sms", "03 80 00 00 00", "not_a_mobile_number"),
    ("sms", {"number": "0639980102"}, "invalid_address"),
    ("email", "jean.dupont@", "invalid_email"),
    ("email", "jean dupont@example.org", "invalid_email"),
    ("push", {"endpoint": "ftp://push.example.org/x", "keys": PUSH["keys"]}, "invalid_push_subscription"),
    ("push", {"endpoint": PUSH["endpoint"], "keys": {"p256dh": "abc"}}, "invalid_push_subscription"),
    ("push", "not json", "invalid_push_subscription"),
    ("fcm", "   ", "invalid_fcm_token"),
    ("fcm", "x" * 4097, "invalid_fcm_token"),
    ("fax", "0380000000", "invalid_input"),
]


def test_contact_addresses_are_validated(client, world, headers):
    url = f"{API}/people/{world.techs[0]}/contact-methods"
    outcomes = {}
    for kind, address, _code in CONTACT_REFUSALS:
        response = client.post(url, json={"kind": kind, "address": address}, headers=headers("referent"))
        outcomes[f"{kind} {address!r}"[:60]] = (response.status_code, code_of(response))
    assert outcomes == {f"{kind} {address!r}"[:60]: (422, code) for kind, address, code in CONTACT_REFUSALS}
    assert len(client.get(url, headers=headers("referent")).json()) == 2


def test_push_and_fcm_contacts_are_stored_normalized(client, world, headers):
    url = f"{API}/people/{world.techs[0]}/contact-methods"
    push = client.post(url, json={"kind": "push", "address": PUSH}, headers=headers("admin"))
    assert push.status_code == 201, push.text
    stored = push.json()["address"]
    assert " " not in stored and json.loads(stored) == {"endpoint": PUSH["endpoint"], "keys": PUSH["keys"]}
    fcm = client.post(url, json={"kind": "fcm", "address": " token-123 ", "priority": 1}, headers=headers("admin"))
    assert fcm.json()["address"] == "token-123"
    kinds = [c["kind"] for c in client.get(url, headers=headers("operator")).json()]
    assert kinds == ["sms", "email", "push", "fcm"]


def test_contact_methods_are_edited_and_deleted(client, world, headers):
    h = headers("referent")
    contacts = client.get(f"{API}/people/{world.techs[0]}/contact-methods", headers=h).json()
    sms = next(c for c in contacts if c["kind"] == "sms")
    url = f"{API}/contact-methods/{sms['id']}"
    response = client.patch(url, json={"address": "+33 6 39 98 77 66", "is_personal": True}, headers=h)
    assert (response.json()["address"], response.json()["is_personal"]) == ("+33639987766", True)
    refused = client.patch(url, json={"address": "0639"}, headers=h)
    assert (refused.status_code, code_of(refused)) == (422, "invalid_phone")
    assert client.patch(url, json={"kind": "email"}, headers=h).status_code == 422
    duplicate = client.post(f"{API}/people/{world.techs[0]}/contact-methods",
                            json={"kind": "sms", "address": "06 39 98 77 66"}, headers=h)
    assert (duplicate.status_code, code_of(duplicate)) == (409, "duplicate_contact_method")
    assert client.delete(url, headers=h).status_code == 204
    remaining = client.get(f"{API}/people/{world.techs[0]}/contact-methods", headers=h).json()
    assert [c["kind"] for c in remaining] == ["email"]


def test_a_refused_person_leaves_nothing_behind(client, world, headers):
    body = {"organization_id": world.commune_id, "first_name": "Zoé", "last_name": "Partielle",
            "contact_methods": [{"kind": "email", "address": "zoe@example.org"},
                                {"kind": "sms", "address": "not a number"}]}
    response = client.post(f"{API}/people", json=body, headers=headers("admin"))
    assert (response.status_code, code_of(response)) == (422, "invalid_phone")
    assert client.get(f"{API}/people", params={"q": "partielle"}, headers=headers("admin")).json() == []


# --- groups and distribution lists --------------------------------------------------------------------------------


def test_the_roster_comes_back_in_the_order_set(client, world, headers):
    order = [world.techs[2], world.techs[0], world.techs[1]]
    url = f"{API}/groups/{world.tech_group_id}"
    response = client.put(f"{url}/roster", json={"person_ids": order}, headers=headers("referent"))
    assert response.status_code == 200, response.text
    for group in (response.json(), client.get(url, headers=headers("operator")).json()):
        assert [m["person_id"] for m in group["members"]] == order
        assert [m["position"] for m in group["members"]] == [0, 1, 2]
        assert [m["name"] for m in group["members"]] == ["Tech Trois", "Tech Un", "Tech Deux"]
    shorter = client.put(f"{url}/roster", json={"person_ids": [world.techs[1]]}, headers=headers("referent"))
    assert [m["person_id"] for m in shorter.json()["members"]] == [world.techs[1]]


def test_roster_refusals_leave_the_roster_alone(client, world, headers):
    url = f"{API}/groups/{world.tech_group_id}"
    refusals = [([world.techs[1], world.techs[0], world.techs[1]], "duplicate_person"),
                ([world.techs[0], world.foreign_person_id], "unknown_person"),
                ([world.techs[0], MISSING], "unknown_person")]
    for roster, code in refusals:
        response = client.put(f"{url}/roster", json={"person_ids": roster}, headers=headers("admin"))
        assert (response.status_code, code_of(response), response.json()["error"]["details"]) == (
            422, code, {"person_ids": roster[-1:]})
    assert [m["person_id"] for m in client.get(url, headers=headers("admin")).json()["members"]] == world.techs


def test_roster_people_belong_to_the_group_commune(client, world, headers):
    h = headers("admin")
    longvic = client.post(f"{API}/people", json={"organization_id": world.other_commune_id, "first_name": "Léa",
                                                 "last_name": "Longvic"}, headers=h).json()
    response = client.put(f"{API}/groups/{world.tech_group_id}/roster", json={"person_ids": [longvic["id"]]},
                          headers=h)
    assert (response.status_code, code_of(response)) == (422, "unknown_person")


def test_groups_lifecycle(client, world, headers):
    h = headers("referent")
    body = {"organization_id": world.commune_id, "name": "Astreinte bâtiments", "kind": "technique",
            "person_ids": [world.techs[1], world.cadres[0]]}
    created = client.post(f"{API}/groups", json=body, headers=h)
    assert created.status_code == 201, created.text
    group = created.json()
    assert [m["name"] for m in group["members"]] == ["Tech Deux", "Cadre Un"]
    url = f"{API}/groups/{group['id']}"
    renamed = client.patch(url, json={"name": "Bâtiments", "kind": "prestataire"}, headers=h).json()
    assert (renamed["name"], renamed["kind"]) == ("Bâtiments", "prestataire")
    assert client.patch(url, json={"kind": "pompier"}, headers=h).status_code == 422
    listed = client.get(f"{API}/groups", params={"organization_id": world.commune_id}, headers=h).json()
    assert group["id"] in {g["id"] for g in listed}
    assert client.delete(url, headers=h).status_code == 204
    assert client.get(url, headers=h).status_code == 404


def test_a_group_a_procedure_uses_cannot_be_deleted(client, world, headers):
    response = client.delete(f"{API}/groups/{world.tech_group_id}", headers=headers("admin"))
    assert (response.status_code, code_of(response)) == (409, "group_in_use")
    assert response.json()["error"]["details"] == {"procedures": ["Chute d'arbre sur la voirie"]}
    assert client.get(f"{API}/groups/{world.tech_group_id}", headers=headers("admin")).status_code == 200


def test_distribution_lists_lifecycle(client, world, headers):
    h = headers("referent")
    body = {"organization_id": world.commune_id, "name": "Élus", "person_ids": [world.elus[0]]}
    created = client.post(f"{API}/distribution-lists", json=body, headers=h)
    assert created.status_code == 201, created.text
    url = f"{API}/distribution-lists/{created.json()['id']}"
    members = client.put(f"{url}/members", json={"person_ids": [world.elus[0], world.cadres[1], world.cadres[0]]},
                         headers=h).json()["members"]
    assert [m["name"] for m in members] == ["Cadre Deux", "Cadre Un", "Elu Un"]
    refused = client.put(f"{url}/members", json={"person_ids": [world.foreign_person_id]}, headers=h)
    assert (refused.status_code, code_of(refused)) == (422, "unknown_person")
    assert client.patch(url, json={"name": "Élus de garde"}, headers=h).json()["name"] == "Élus de garde"
    assert len(client.get(f"{API}/distribution-lists", headers=h).json()) == 2
    assert client.delete(url, headers=h).status_code == 204
    assert client.get(url, headers=h).status_code == 404


def test_a_list_a_procedure_reports_to_cannot_be_deleted(client, world, headers, ids):
    h = headers("admin")
    list_id = ids["world"]["list_id"]
    patched = client.patch(f"{API}/procedures/{world.procedure_id}", json={"report_list_ids": [list_id], "validate": True},
                           headers=h)
    assert patched.status_code == 200, patched.text
    response = client.delete(f"{API}/distribution-lists/{list_id}", headers=h)
    assert (response.status_code, code_of(response)) == (409, "list_in_use")


# --- procedures ---------------------------------------------------------------------------------------------------


def procedure_body(world, **changes) -> dict:
    return {"organization_id": world.commune_id, "category": "Inondation", "cap_category": "Met",
            "instructions": "Fermer la voie.", "timings": {"2": {"ack_timeout_s": 600, "repeats": 0}},
            "steps": [{"group_id": world.cadre_group_id}, {"group_id": world.tech_group_id, "min_severity": 2},
                      {"group_id": world.elu_group_id, "mode": "inform", "min_severity": 3}],
            **changes}


def test_procedures_lifecycle(client, world, headers, ids):
    h = headers("referent")
    body = procedure_body(world, report_list_ids=[ids["world"]["list_id"]])
    created = client.post(f"{API}/procedures", json=body, headers=h)
    assert created.status_code == 201, created.text
    procedure = created.json()
    assert procedure["timings"] == {"2": {"ack_timeout_s": 600, "repeats": 0},
                                    "3": {"ack_timeout_s": 300, "repeats": 1},
                                    "4": {"ack_timeout_s": 300, "repeats": 2}}
    assert [(s["group_name"], s["mode"], s["min_severity"]) for s in procedure["steps"]] == [
        ("Astreinte cadre", "solicit", 1), ("Astreinte technique", "solicit", 2), ("Astreinte élu", "inform", 3)]
    assert procedure["report_list_ids"] == [ids["world"]["list_id"]]

    url = f"{API}/procedures/{procedure['id']}"
    steps = [{"group_id": world.tech_group_id}, {"group_id": world.cadre_group_id}]
    drafted = client.patch(url, json={"steps": steps, "report_list_ids": []}, headers=h).json()
    assert drafted["draft_version"] == 2 and drafted["version"] == 0  # the referent drafts, a PC admin validates
    reordered = client.post(f"{url}/versions/2/validate", headers=headers("admin")).json()
    assert [s["group_id"] for s in reordered["steps"]] == [world.tech_group_id, world.cadre_group_id]
    assert reordered["report_list_ids"] == [] and reordered["timings"]["2"]["ack_timeout_s"] == 600

    assert client.delete(url, headers=h).status_code == 204
    assert client.get(url, headers=h).json()["active"] is False
    active = client.get(f"{API}/procedures", params={"active": True}, headers=h).json()
    assert [p["id"] for p in active] == [world.procedure_id]
    again = client.post(f"{API}/procedures", json=body, headers=h)
    assert (again.status_code, code_of(again)) == (409, "category_taken")
    assert client.patch(url, json={"active": True}, headers=h).json()["active"] is True


PROCEDURE_REFUSALS = [
    ({"timings": {"5": {"ack_timeout_s": 60, "repeats": 1}}}, "invalid_input"),
    ({"timings": {"2": {"ack_timeout_s": 0, "repeats": 1}}}, "invalid_input"),
    ({"timings": {"2": {"ack_timeout_s": 86_401, "repeats": 1}}}, "invalid_input"),
    ({"timings": {"2": {"ack_timeout_s": 60, "repeats": 11}}}, "invalid_input"),
    ({"timings": {"2": {"ack_timeout_s": 60}}}, "invalid_input"),
    ({"steps": []}, "invalid_input"),
    ({"steps": [{"group_id": 1, "mode": "wake"}]}, "invalid_input"),
    ({"steps": [{"group_id": 1, "min_severity": 5}]}, "invalid_input"),
    ({"cap_category": "Zombies"}, "invalid_input"),
    ({"category": "  "}, "invalid_input"),
    ({"steps": [{"group_id": MISSING}]}, "unknown_group"),
    ({"report_list_ids": [MISSING]}, "unknown_distribution_list"),
]


def test_procedure_input_is_checked(client, world, headers):
    outcomes = {}
    for changes, _code in PROCEDURE_REFUSALS:
        response = client.post(f"{API}/procedures", json=procedure_body(world, **changes), headers=headers("admin"))
        outcomes[repr(changes)] = (response.status_code, code_of(response))
    assert outcomes == {repr(changes): (422, code) for changes, code in PROCEDURE_REFUSALS}


def test_procedure_steps_and_lists_stay_in_the_commune(client, world, headers, ids):
    h = headers("admin")
    foreign_group = procedure_body(world, steps=[{"group_id": ids["foreign"]["group_id"]}])
    assert code_of(client.post(f"{API}/procedures", json=foreign_group, headers=h)) == "unknown_group"
    twice = procedure_body(world, steps=[{"group_id": world.tech_group_id}, {"group_id": world.tech_group_id}])
    assert code_of(client.post(f"{API}/procedures", json=twice, headers=h)) == "duplicate_group"
    foreign_list = procedure_body(world, report_list_ids=[ids["foreign"]["list_id"]])
    assert code_of(client.post(f"{API}/procedures", json=foreign_list, headers=h)) == "unknown_distribution_list"
    duplicate = procedure_body(world, category="Chute d'arbre sur la voirie")
    response = client.post(f"{API}/procedures", json=duplicate, headers=h)
    assert (response.status_code, code_of(response)) == (409, "category_taken")
    assert [p["category"] for p in client.get(f"{API}/procedures", headers=h).json()] == ["Chute d'arbre sur la voirie"]


# --- users --------------------------------------------------------------------------------------------------------


def test_admin_manages_users(client, world, headers):
    h = headers("admin")
    body = {"email": "Referente@Example.org", "full_name": "Référente Longvic", "role": "referent",
            "organization_id": world.other_commune_id, "password": "a long password"}
    created = client.post(f"{API}/users", json=body, headers=h)
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["email"], user["is_active"]) == ("referente@example.org", True) and "password" not in str(user)
    assert login(client, "referente@example.org", "a long password")
    oncall = client.post(f"{API}/users", json={"email": "tech3@example.org", "full_name": "Tech Trois",
                                               "role": "oncall", "organization_id": world.commune_id,
                                               "person_id": world.techs[2]}, headers=h)
    assert oncall.status_code == 201, oncall.text
    listed = {u["email"] for u in client.get(f"{API}/users", headers=h).json()}
    assert {"referente@example.org", "tech3@example.org", "operator@example.org"} <= listed
    assert "foreign_operator@example.org" not in listed

    deactivated = client.patch(f"{API}/users/{user['id']}", json={"is_active": False, "full_name": "R. L."}, headers=h)
    assert (deactivated.json()["is_active"], deactivated.json()["full_name"]) == (False, "R. L.")
    refused = client.post(f"{API}/auth/token",
                          data={"username": "referente@example.org", "password": "a long password"})
    assert refused.status_code == 401


USER_REFUSALS = [
    ({"password": "short"}, 422, "invalid_input"),
    ({"password": None}, 422, "password_required"),
    ({"email": "not-an-email"}, 422, "invalid_email"),
    ({"email": "Operator@example.org"}, 409, "email_taken"),
    ({"role": "operator", "password": "a long password"}, 422, "role_not_allowed_here"),
    ({"role": "oncall", "password": None}, 422, "person_required"),
    ({"role": "oncall", "person_id": MISSING}, 422, "unknown_person"),
    ({"role": "superuser"}, 422, "invalid_input"),
]


def test_user_input_is_checked(client, world, headers):
    outcomes = {}
    for changes, _status, _code in USER_REFUSALS:
        body = {"email": "new@example.org", "full_name": "Nouveau", "role": "referent",
                "organization_id": world.commune_id, "password": "a long password", **changes}
        response = client.post(f"{API}/users", json=body, headers=headers("admin"))
        outcomes[repr(changes)] = (response.status_code, code_of(response))
    assert outcomes == {repr(changes): (status, code) for changes, status, code in USER_REFUSALS}


def test_user_roles_follow_the_rules(client, world, headers, ids):
    h = headers("admin")
    me = client.get(f"{API}/me", headers=h).json()
    own = client.patch(f"{API}/users/{me['id']}", json={"role": "operator"}, headers=h)
    assert (own.status_code, code_of(own)) == (409, "own_account")
    oncall = client.post(f"{API}/users", json={"email": "tech3@example.org", "full_name": "Tech Trois",
                                               "role": "oncall", "organization_id": world.commune_id,
                                               "person_id": world.techs[2]}, headers=h).json()
    promoted = client.patch(f"{API}/users/{oncall['id']}", json={"role": "referent"}, headers=h)
    assert (promoted.status_code, code_of(promoted)) == (422, "password_required")
    demoted = client.patch(f"{API}/users/{ids['world']['user_id']}", json={"role": "oncall"}, headers=h)
    assert (demoted.status_code, code_of(demoted)) == (422, "person_required")
    for role in ("operator", "referent"):
        assert code_of(client.get(f"{API}/users", headers=headers(role))) == "role_forbidden"


# --- roles ----------------------------------------------------------------------------------------------------------


def test_operator_reads_the_directory_but_does_not_change_it(client, world, headers):
    h = headers("operator")
    assert client.get(f"{API}/people/{world.techs[0]}", headers=h).status_code == 200
    assert client.get(f"{API}/procedures/{world.procedure_id}", headers=h).status_code == 200
    attempts = [
        client.patch(f"{API}/people/{world.techs[0]}", json={"job_title": "x"}, headers=h),
        client.delete(f"{API}/people/{world.techs[0]}", headers=h),
        client.post(f"{API}/people", json={"organization_id": world.commune_id, "first_name": "A", "last_name": "B"},
                    headers=h),
        client.put(f"{API}/groups/{world.tech_group_id}/roster", json={"person_ids": []}, headers=h),
        client.delete(f"{API}/procedures/{world.procedure_id}", headers=h),
    ]
    assert [(r.status_code, code_of(r)) for r in attempts] == [(403, "role_forbidden")] * len(attempts)
    person = client.get(f"{API}/people/{world.techs[0]}", headers=h).json()
    assert (person["job_title"], person["active"]) == ("", True)
    assert len(client.get(f"{API}/groups/{world.tech_group_id}", headers=h).json()["members"]) == 3


def test_referent_edits_its_own_commune_only(client, world, headers):
    h = headers("referent")
    assert client.patch(f"{API}/people/{world.techs[0]}", json={"job_title": "Agent"}, headers=h).status_code == 200
    other = client.post(f"{API}/people", json={"organization_id": world.other_commune_id, "first_name": "A",
                                               "last_name": "B"}, headers=h)
    assert (other.status_code, code_of(other)) == (404, "not_found")
    assert client.get(f"{API}/organizations/{world.other_commune_id}", headers=h).status_code == 404
    assert client.get(f"{API}/organizations/{world.metropole_id}", headers=h).status_code == 404
    longvic = client.post(f"{API}/people", json={"organization_id": world.other_commune_id, "first_name": "Léa",
                                                 "last_name": "Longvic"}, headers=headers("admin")).json()
    for response in (client.get(f"{API}/people/{longvic['id']}", headers=h),
                     client.patch(f"{API}/people/{longvic['id']}", json={"job_title": "x"}, headers=h)):
        assert (response.status_code, code_of(response)) == (404, "not_found")


# --- every route, every tenant ----------------------------------------------------------------------------------------

# (method, path, body) for every directory route; ids are filled in from one tenant.
ROUTES = [
    ("GET", "/organizations/{organization_id}", None),
    ("PATCH", "/organizations/{organization_id}", {"name": "Renamed"}),
    ("GET", "/people?organization_id={organization_id}", None),
    ("POST", "/people", {"organization_id": "{organization_id}", "first_name": "A", "last_name": "B"}),
    ("GET", "/people/{person_id}", None),
    ("PATCH", "/people/{person_id}", {"job_title": "x"}),
    ("DELETE", "/people/{person_id}", None),
    ("GET", "/people/{person_id}/contact-methods", None),
    ("POST", "/people/{person_id}/contact-methods", {"kind": "email", "address": "new@example.org"}),
    ("PATCH", "/contact-methods/{contact_method_id}", {"label": "x"}),
    ("DELETE", "/contact-methods/{contact_method_id}", None),
    ("GET", "/groups?organization_id={organization_id}", None),
    ("GET", "/organizations/{organization_id}/escalation-groups", None),
    ("POST", "/groups", {"organization_id": "{organization_id}", "name": "G", "kind": "technique"}),
    ("GET", "/groups/{group_id}", None),
    ("PATCH", "/groups/{group_id}", {"name": "x"}),
    ("DELETE", "/groups/{group_id}", None),
    ("PUT", "/groups/{group_id}/roster", {"person_ids": []}),
    ("GET", "/distribution-lists?organization_id={organization_id}", None),
    ("POST", "/distribution-lists", {"organization_id": "{organization_id}", "name": "L"}),
    ("GET", "/distribution-lists/{list_id}", None),
    ("PATCH", "/distribution-lists/{list_id}", {"name": "x"}),
    ("DELETE", "/distribution-lists/{list_id}", None),
    ("PUT", "/distribution-lists/{list_id}/members", {"person_ids": []}),
    ("GET", "/procedures?organization_id={organization_id}", None),
    ("POST", "/procedures", {"organization_id": "{organization_id}", "category": "Nouvelle",
                             "steps": [{"group_id": "{group_id}"}]}),
    ("GET", "/procedures/{procedure_id}", None),
    ("PATCH", "/procedures/{procedure_id}", {"instructions": "x"}),
    ("DELETE", "/procedures/{procedure_id}", None),
    ("GET", "/procedures/{procedure_id}/versions", None),
    ("POST", "/procedures/{procedure_id}/versions/{number}/validate", None),
    ("GET", "/organizations/{organization_id}/procedures/export", None),
    ("POST", "/organizations/{organization_id}/procedures/import", {"procedures": []}),
    ("GET", "/users?organization_id={organization_id}", None),
    ("POST", "/users", {"email": "new@example.org", "full_name": "N", "role": "referent",
                        "organization_id": "{organization_id}", "password": "a long password"}),
    ("PATCH", "/users/{user_id}", {"full_name": "x"}),
]
# No id to aim at another tenant with: covered by the list and creation tests above.
WITHOUT_IDS = [("GET", "/organizations", None), ("POST", "/organizations", {"name": "Nouvelle", "code": "NOUV"})]


def fill(value, ids: dict):
    """The route's path or body with one tenant's ids in place of the placeholders."""
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def call(client, route, ids: dict, headers: dict):
    method, path, body = route
    return client.request(method, API + path.format(**ids), json=fill(body, ids), headers=headers)


def snapshot(client, world, ids: dict, headers: dict) -> list:
    """What the world's administrator sees of every object the routes aim at."""
    paths = [f"/organizations/{ids['organization_id']}", f"/people/{ids['person_id']}",
             f"/groups/{ids['group_id']}", f"/distribution-lists/{ids['list_id']}",
             f"/procedures/{ids['procedure_id']}", "/users", "/groups", "/distribution-lists", "/procedures"]
    return [client.get(API + p, headers=headers).json() for p in paths]


def test_the_route_table_covers_every_directory_route(client):
    served = {(method.upper(), path) for path, operations in client.app.openapi()["paths"].items()
              for method, operation in operations.items() if DIRECTORY_TAGS & set(operation.get("tags", []))}
    listed = {(method, API + path.split("?")[0]) for method, path, _ in ROUTES + WITHOUT_IDS}
    assert served == listed


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_other_tenants_ids_are_not_found(client, world, headers, ids, route):
    """Foreign staff on the world's ids, the world's staff on foreign ids: 404, as for an id that never existed."""
    missing = call(client, route, ids["missing"], headers("admin"))
    assert (missing.status_code, code_of(missing)) == (404, "not_found")
    before = snapshot(client, world, ids["world"], headers("admin"))
    for role in ("foreign_operator", "foreign_admin"):
        response = call(client, route, ids["world"], headers(role))
        assert (response.status_code, response.json()) == (404, missing.json()), (role, response.text)
    assert snapshot(client, world, ids["world"], headers("admin")) == before
    for role in ("operator", "admin", "referent"):
        response = call(client, route, ids["foreign"], headers(role))
        assert (response.status_code, response.json()) == (404, missing.json()), (role, response.text)


def test_oncall_users_are_refused_every_directory_route(client, world, headers, ids):
    outcomes = {}
    for route in ROUTES + WITHOUT_IDS:
        response = call(client, route, ids["world"], headers("oncall"))
        outcomes[f"{route[0]} {route[1]}"] = (response.status_code, code_of(response))
    assert outcomes == {f"{method} {path}": (403, "role_forbidden") for method, path, _ in ROUTES + WITHOUT_IDS}
