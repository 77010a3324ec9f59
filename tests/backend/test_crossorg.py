"""Across organisations: a commune's procedure escalates to the métropole's astreinte de décision, whose
people are paged from that group's rotation, see the events they were paged for and nothing else of the
commune, and answer them by the app, by SMS, or through the PC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import escalation as esc
from backend.auth import service as auth_service
from backend.db import transaction
from backend.outbox.models import Notification
from backend.pages import service as page_service
from backend.pages.models import Page
from backend.trace.models import TraceEntry
from tests.backend.test_inbound_sms import post_sms
from tests.backend.test_links import links_in_mail
from tests.factories import _group, _person, login

API = "/api/v1"
DECISION_SMS = "+33639980160"


@dataclass
class Metropole:
    group_id: int
    decision_id: int  # Élue Décision: holds the turn, has the phone app
    adjoint_id: int
    foreign_group_id: int  # the other métropole's
    other_commune_group_id: int  # Longvic's
    headers: dict


@pytest.fixture
def metro(client, runtime, world, h) -> Metropole:
    with transaction(runtime.session_factory) as s:
        adjoint = _person(s, world.metropole_id, "Adjoint", "Décision", 61)
        decision = _person(s, world.metropole_id, "Élue", "Décision", 60, is_elected=True)
        group = _group(s, world.metropole_id, "Astreinte de décision", "elu", [adjoint, decision])
        foreign = _group(s, world.foreign_metropole_id, "Astreinte de décision", "elu",
                         [_person(s, world.foreign_metropole_id, "Élu", "Ailleurs", 70)])
        longvic = _group(s, world.other_commune_id, "Astreinte technique", "technique",
                         [_person(s, world.other_commune_id, "Tech", "Longvic", 71)])
        auth_service.create_user(db_session=s, email="decision@example.org", full_name="Élue Décision", role="oncall",
                                 organization_id=world.metropole_id, password="correct horse battery",
                                 person_id=decision.id)
        ids = (group.id, decision.id, adjoint.id, foreign.id, longvic.id)
    # The élue holds this week's turn: escalation tries her first, though the roster names the adjoint first.
    anchor = (datetime.now(ZoneInfo("Europe/Paris")) - timedelta(days=1)).replace(hour=0, minute=0, tzinfo=None)
    rotation = client.put(f"{API}/groups/{ids[0]}/rotation", headers=h("admin"), json={
        "member_ids": [ids[1], ids[2]], "anchor_local": anchor.isoformat(), "turn_days": 7,
        "effective_from": "2026-01-01T00:00:00+00:00"})
    assert rotation.status_code == 200, rotation.text
    return Metropole(*ids, headers=login(client, "decision@example.org"))


def code_of(response) -> str:
    return response.json()["error"]["code"]


def new_procedure(client, world, h, steps, *, role="admin", category="Crue, évacuation possible", **extra):
    return client.post(f"{API}/procedures", headers=h(role), json={
        "organization_id": world.commune_id, "category": category, "cap_category": "Met", "validate": role == "admin",
        "steps": steps, **extra})


@pytest.fixture
def escalating(client, world, h, metro) -> int:
    """A validated procedure of the commune: its technicians, then the métropole's astreinte de décision."""
    created = new_procedure(client, world, h, [{"group_id": world.tech_group_id}, {"group_id": metro.group_id}])
    assert created.status_code == 201, created.text
    return created.json()["id"]


def open_event(client, world, h, procedure_id, title="Crue de l'Ouche"):
    response = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": procedure_id, "severity": 3, "title": title,
        "place": "rue du Port"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def escalate_to(runtime, event_id: int, group_id: int) -> None:
    """Let the timeouts run out (as the worker would) until the page asks someone of `group_id`."""
    for _ in range(10):
        with transaction(runtime.session_factory) as s:
            page_id = s.scalar(select(Page.id).where(Page.event_id == event_id))
            event, page = page_service.lock_event_and_page(db_session=s, page_id=page_id)
            if page.current_group_id == group_id:
                return
            page_service.apply_signal(db_session=s, event=event, page=page, signal=esc.Tick(), now=page.due_at)
    raise AssertionError("the page never reached the group")


def replayed(client, headers) -> list[dict]:
    """The live feed's backlog from the start, as a phone or console reconnecting with ?after=0 gets it."""
    with client.websocket_connect("/api/v1/ws?after=0") as socket:
        socket.send_json({"type": "auth", "token": headers["Authorization"].split()[1]})
        assert socket.receive_json()["type"] == "hello"
        entries = []
        while (message := socket.receive_json())["type"] != "caught_up":
            entries.append(message["entry"])
    return entries


def live_entries(message: dict) -> list[dict]:
    return [message["entry"]] if message["type"] == "trace" else message.get("entries", [])


@dataclass
class Referents:
    longvic: dict  # Longvic is served by the same métropole as Chenôve
    ailleurs: dict  # Ailleurs by the other one


@pytest.fixture
def referents(client, runtime, world) -> Referents:
    with transaction(runtime.session_factory) as s:
        for name, org_id in (("longvic", world.other_commune_id), ("ailleurs", world.foreign_commune_id)):
            auth_service.create_user(db_session=s, email=f"referent.{name}@example.org", full_name=f"Référent {name}",
                                     role="referent", organization_id=org_id, password="correct horse battery")
    return Referents(login(client, "referent.longvic@example.org"), login(client, "referent.ailleurs@example.org"))


# --- the procedure ------------------------------------------------------------------------------------
def test_a_commune_procedure_may_escalate_to_its_metropoles_decision_group(client, world, h, metro):
    created = new_procedure(client, world, h, [{"group_id": world.tech_group_id}, {"group_id": metro.group_id}])
    assert created.status_code == 201, created.text
    assert [(s["group_id"], s["group_name"]) for s in created.json()["steps"]] == [
        (world.tech_group_id, "Astreinte technique"), (metro.group_id, "Astreinte de décision")]
    # The commune's referent proposes it too (a draft); the PC admin validates it.
    drafted = new_procedure(client, world, h, [{"group_id": metro.group_id, "mode": "inform"}], role="referent",
                            category="Pollution")
    assert drafted.status_code == 201, drafted.text
    validated = client.post(f"{API}/procedures/{drafted.json()['id']}/versions/1/validate", headers=h("admin"))
    assert validated.status_code == 200, validated.text
    assert validated.json()["steps"][0]["group_name"] == "Astreinte de décision"


@pytest.mark.parametrize("whose", ["foreign_group_id", "other_commune_group_id"])
def test_another_metropoles_or_another_communes_group_is_refused(client, world, h, metro, escalating, whose):
    stranger = getattr(metro, whose)
    created = new_procedure(client, world, h, [{"group_id": world.tech_group_id}, {"group_id": stranger}],
                            category="Glissement de terrain")
    assert created.status_code == 422
    assert code_of(created) == "unknown_group"
    assert created.json()["error"]["details"] == {"group_ids": [stranger]}
    assert "métropole" in created.json()["error"]["message"]
    edited = client.patch(f"{API}/procedures/{escalating}", headers=h("referent"),
                          json={"steps": [{"group_id": metro.group_id}, {"group_id": stranger}]})
    assert edited.status_code == 422 and code_of(edited) == "unknown_group"


def test_a_metropoles_own_procedure_may_not_name_a_communes_group(client, world, h, metro):
    response = client.post(f"{API}/procedures", headers=h("admin"), json={
        "organization_id": world.metropole_id, "category": "Crise", "validate": True,
        "steps": [{"group_id": metro.group_id}, {"group_id": world.tech_group_id}]})
    assert response.status_code == 422 and code_of(response) == "unknown_group"
    assert response.json()["error"]["details"] == {"group_ids": [world.tech_group_id]}


def test_the_forms_offer_the_communes_groups_then_those_of_its_metropole(client, world, h, metro, referents):
    url = f"{API}/organizations/{world.commune_id}/escalation-groups"
    for role in ("referent", "operator", "admin"):
        listed = client.get(url, headers=h(role))
        assert listed.status_code == 200, (role, listed.text)
        assert [(g["id"], g["organization"], g["of_metropole"]) for g in listed.json()] == [
            (world.cadre_group_id, "Ville de Chenôve", False), (world.tech_group_id, "Ville de Chenôve", False),
            (world.elu_group_id, "Ville de Chenôve", False), (metro.group_id, "Métropole de Test", True)], role
        assert "members" not in listed.json()[-1]  # a name to choose, not the métropole's directory
    # The commune's referent reads the list, and still nothing else of the métropole.
    assert client.get(f"{API}/groups/{metro.group_id}", headers=h("referent")).status_code == 404
    assert client.get(f"{API}/groups", params={"organization_id": world.metropole_id},
                      headers=h("referent")).status_code == 404
    # Another commune's list is its own referent's, and no other métropole's PC's.
    assert client.get(f"{API}/organizations/{world.other_commune_id}/escalation-groups",
                      headers=h("referent")).status_code == 404
    assert client.get(url, headers=h("foreign_operator")).status_code == 404
    assert client.get(url, headers=metro.headers).status_code == 403  # a person on call writes no procedure
    ailleurs = client.get(f"{API}/organizations/{world.foreign_commune_id}/escalation-groups",
                          headers=referents.ailleurs).json()
    assert [(g["name"], g["organization"], g["of_metropole"]) for g in ailleurs] == [
        ("Astreinte technique", "Ville d'Ailleurs", False), ("Astreinte de décision", "Autre Métropole", True)]
    assert [g["id"] for g in ailleurs][1] == metro.foreign_group_id


def test_a_referent_names_the_metropoles_group_only_where_that_metropole_serves_them(client, world, metro,
                                                                                    referents):
    def propose(headers, organization_id, group_id):
        return client.post(f"{API}/procedures", headers=headers, json={
            "organization_id": organization_id, "category": "Crue", "cap_category": "Met",
            "steps": [{"group_id": group_id}]})

    assert propose(referents.longvic, world.other_commune_id, metro.group_id).status_code == 201
    refused = propose(referents.ailleurs, world.foreign_commune_id, metro.group_id)
    assert (refused.status_code, code_of(refused)) == (422, "unknown_group")
    assert refused.json()["error"]["details"] == {"group_ids": [metro.group_id]}
    assert propose(referents.ailleurs, world.foreign_commune_id, metro.foreign_group_id).status_code == 201


# --- an event without procedure -----------------------------------------------------------------------
def test_an_event_without_procedure_may_ask_the_metropoles_group(client, runtime, world, h, metro):
    chosen = {"organization_id": world.commune_id, "group_ids": [world.tech_group_id, metro.group_id],
              "severity": 3}
    preview = client.post(f"{API}/events/preview", headers=h("operator"), json=chosen)
    assert preview.status_code == 200, preview.text
    assert [(g["group"], [m["name"] for m in g["members"]]) for g in preview.json()["pages"][0]["groups"]] == [
        ("Astreinte technique", ["Tech Un", "Tech Deux", "Tech Trois"]),
        ("Astreinte de décision", ["Élue Décision", "Adjoint Décision"])]
    opened = client.post(f"{API}/events", headers=h("operator"), json={**chosen, "title": "Chaussée effondrée"})
    assert opened.status_code == 201, opened.text
    event_id = opened.json()["id"]
    assert [g["group_id"] for g in opened.json()["pages"][0]["policy"]["chain"]] == [world.tech_group_id,
                                                                                      metro.group_id]
    shown = client.get(f"{API}/events/{event_id}/procedure", headers=h("referent")).json()
    assert [s["group_name"] for s in shown["steps"]] == ["Astreinte technique", "Astreinte de décision"]

    assert client.get(f"{API}/me/pages", headers=metro.headers).json() == []  # the technicians first
    escalate_to(runtime, event_id, metro.group_id)
    [page] = client.get(f"{API}/me/pages", headers=metro.headers).json()
    assert (page["event"]["id"], page["asking_me"]) == (event_id, True)
    taken = client.post(f"{API}/events/{event_id}/responses", headers=metro.headers,
                        json={"kind": "ack", "page_id": page["page_id"], "via": "app"})
    assert taken.status_code == 201, taken.text


@pytest.mark.parametrize("whose", ["foreign_group_id", "other_commune_group_id"])
def test_an_event_without_procedure_refuses_an_unrelated_group(client, runtime, world, h, metro, whose):
    stranger = getattr(metro, whose)
    chosen = {"organization_id": world.commune_id, "group_ids": [world.tech_group_id, stranger], "severity": 3,
              "title": "Chaussée effondrée"}
    for path in ("/events", "/events/preview"):
        refused = client.post(f"{API}{path}", headers=h("operator"), json=chosen)
        assert (refused.status_code, code_of(refused)) == (422, "unknown_group"), path
        assert refused.json()["error"]["details"] == {"group_ids": [stranger]}
    # The other métropole's PC cannot hand its commune's event to our métropole's group either.
    foreign = client.post(f"{API}/events", headers=h("foreign_operator"), json={
        "organization_id": world.foreign_commune_id, "group_ids": [metro.group_id], "title": "Ailleurs"})
    assert (foreign.status_code, code_of(foreign)) == (422, "unknown_group")
    with runtime.session_factory() as s:
        assert s.scalar(select(Page.id)) is None  # nobody was asked


def test_the_export_names_the_metropoles_group_and_the_import_takes_it_back(client, world, h, metro, escalating):
    url = f"{API}/organizations/{world.commune_id}/procedures/export"
    document = client.get(url, headers=h("admin")).json()
    mine = next(p for p in document["procedures"] if p["category"] == "Crue, évacuation possible")
    assert mine["steps"][1] == {"group": "Astreinte de décision", "of_metropole": True, "mode": "solicit",
                                "min_severity": 1, "inform_all": False}
    assert "of_metropole" not in mine["steps"][0]
    csv_text = client.get(url, params={"format": "csv"}, headers=h("admin")).text
    assert "Astreinte technique (sollicité, gravité ≥ 1) > Métropole — Astreinte de décision" in csv_text

    imported = f"{API}/organizations/{world.commune_id}/procedures/import"
    again = client.post(imported, params={"dry_run": True}, headers=h("referent"), json=document)
    assert again.status_code == 200, again.text
    assert "Crue, évacuation possible" in again.json()["unchanged"] and again.json()["problems"] == []

    # Named without saying it is the métropole's, it is looked for in the commune, and not found.
    unsaid = {**mine, "category": "Crue bis", "steps": [{"group": "Astreinte de décision"}]}
    # The foreign métropole's group has the same kind of name; Longvic's technicians are not the métropole's.
    wrong = {**mine, "category": "Crue ter", "steps": [{"group": "Astreinte technique", "of_metropole": True}]}
    refused = client.post(imported, headers=h("referent"), json={**document, "procedures": [unsaid, wrong]})
    assert refused.status_code == 422 and code_of(refused) == "import_refused"
    problems = refused.json()["error"]["details"]["problems"]
    assert [(p["category"], p["code"]) for p in problems] == [("Crue bis", "unknown_name"),
                                                                ("Crue ter", "unknown_name")]
    assert "Métropole — Astreinte technique" in problems[1]["message"]

    added = {**mine, "category": "Crue quater"}
    applied = client.post(imported, headers=h("referent"), json={**document, "procedures": [added]})
    assert applied.status_code == 200 and applied.json()["created"] == ["Crue quater"]
    listed = client.get(f"{API}/procedures", params={"organization_id": world.commune_id}, headers=h("admin")).json()
    quater = next(p for p in listed if p["category"] == "Crue quater")
    assert [s["group_id"] for s in quater["steps"]] == [world.tech_group_id, metro.group_id]


# --- paging across ------------------------------------------------------------------------------------
def test_the_metropole_group_is_paged_from_its_rotation_in_the_communes_chain(client, runtime, world, h, metro,
                                                                             escalating):
    event_id = open_event(client, world, h, escalating)
    escalate_to(runtime, event_id, metro.group_id)
    trace = client.get(f"{API}/events/{event_id}/trace", headers=h("operator")).json()
    started = next(e for e in trace if e["kind"] == "page.started")
    assert started["data"]["chain"][1]["group"] == "Astreinte de décision"
    assert started["data"]["chain"][1]["members"] == [metro.decision_id, metro.adjoint_id]  # the turn's holder first
    escalated = next(e for e in trace if e["kind"] == "page.escalated")
    assert escalated["data"]["to_group"] == "Astreinte de décision"
    notified = [e["data"] for e in trace if e["kind"] == "page.notify"][-1]
    assert (notified["person"], notified["group"]) == ("Élue Décision", "Astreinte de décision")
    assert client.get(f"{API}/events/{event_id}/trace/verify", headers=h("operator")).json()["intact"] is True

    with runtime.session_factory() as s:
        sms = s.scalars(select(Notification).where(Notification.person_id == metro.decision_id,
                                                   Notification.channel == "sms")).one()
        assert sms.organization_id == world.commune_id and sms.event_id == event_id
        assert "CHENOVE" in sms.text  # the élue learns which commune calls
        entries = s.scalars(select(TraceEntry).where(TraceEntry.event_id == event_id)).all()
        assert {e.organization_id for e in entries} == {world.commune_id}


# --- what the métropole's person sees -----------------------------------------------------------------
def test_the_metropole_person_sees_exactly_the_events_they_were_paged_for(client, runtime, world, h, metro,
                                                                         escalating):
    paged = open_event(client, world, h, escalating)
    assert client.get(f"{API}/events/{paged}", headers=metro.headers).status_code == 404  # not reached yet
    assert client.get(f"{API}/me/pages", headers=metro.headers).json() == []
    escalate_to(runtime, paged, metro.group_id)
    elsewhere = open_event(client, world, h, escalating, title="Autre crue")  # still with the technicians
    longvic = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.other_commune_id, "group_ids": [metro.other_commune_group_id], "severity": 3,
        "title": "À Longvic"}).json()["id"]

    pages = client.get(f"{API}/me/pages", headers=metro.headers).json()
    assert [(p["event"]["id"], p["event"]["organization"], p["asking_me"]) for p in pages] == [
        (paged, "Ville de Chenôve", True)]
    assert [e["id"] for e in client.get(f"{API}/events", headers=metro.headers).json()] == [paged]
    assert [e["id"] for e in client.get(f"{API}/events", params={"organization_id": world.commune_id},
                                        headers=metro.headers).json()] == [paged]

    detail = client.get(f"{API}/events/{paged}", headers=metro.headers)
    assert detail.status_code == 200, detail.text
    commune_oncall = client.get(f"{API}/events/{paged}", headers=h("oncall"))  # Tech Un was solicited first
    assert commune_oncall.status_code == 200
    assert detail.json().keys() == commune_oncall.json().keys()
    assert detail.json()["title"] == "Crue de l'Ouche"
    assert client.get(f"{API}/events/{paged}/trace", headers=metro.headers).status_code == 200
    assert client.get(f"{API}/events/{paged}/trace/verify", headers=metro.headers).status_code == 200
    assert client.get(f"{API}/events/{paged}/procedure", headers=metro.headers).status_code == 200

    for other in (elsewhere, longvic):
        for path in ("", "/trace", "/procedure"):
            assert client.get(f"{API}/events/{other}{path}", headers=metro.headers).status_code == 404, (other, path)
        answer = client.post(f"{API}/events/{other}/responses", headers=metro.headers, json={"kind": "ack"})
        assert answer.status_code == 404 and code_of(answer) == "not_found"
    # Nothing of the commune's directory or planning.
    for path in (f"/people?organization_id={world.commune_id}", f"/groups?organization_id={world.commune_id}",
                 f"/groups/{world.tech_group_id}", f"/people/{world.techs[0]}",
                 f"/organizations/{world.commune_id}"):
        assert client.get(f"{API}{path}", headers=metro.headers).status_code in (403, 404), path


def test_a_metropole_person_only_informed_reads_that_event_and_answers_nothing(client, runtime, world, h, metro):
    created = new_procedure(client, world, h, [{"group_id": world.tech_group_id},
                                               {"group_id": metro.group_id, "mode": "inform"}])
    event_id = open_event(client, world, h, created.json()["id"])
    elsewhere = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "group_ids": [world.tech_group_id], "severity": 3,
        "title": "Sans la métropole"}).json()["id"]
    with runtime.session_factory() as s:
        told = s.scalars(select(Notification.purpose).where(Notification.person_id == metro.decision_id)).all()
    assert told and set(told) == {"inform"}  # the élue hears of it, without being asked to answer
    assert client.get(f"{API}/me/pages", headers=metro.headers).json() == []

    # What the information message opens on her phone: that event, to read.
    informed = client.get(f"{API}/me/informed", headers=metro.headers)
    assert informed.status_code == 200, informed.text
    assert [(i["event"]["id"], i["event"]["organization"], i["event"]["pc_phone"]) for i in informed.json()] == [
        (event_id, "Ville de Chenôve", None)]
    assert client.get(f"{API}/events/{event_id}", headers=metro.headers).json()["title"] == "Crue de l'Ouche"
    assert client.get(f"{API}/events/{event_id}/trace", headers=metro.headers).status_code == 200
    assert [e["id"] for e in client.get(f"{API}/events", headers=metro.headers).json()] == [event_id]

    # Not as if paged: no answer, no report from the field, no photo.
    for kind in ("ack", "decline", "on_site", "note"):
        answer = client.post(f"{API}/events/{event_id}/responses", headers=metro.headers,
                             json={"kind": kind, "text": "Je regarde"})
        assert (answer.status_code, code_of(answer)) == (422, "not_solicited"), kind
        assert "informed" in answer.json()["error"]["message"]
    photo = client.post(f"{API}/events/{event_id}/photos", headers=metro.headers,
                        files={"photo": ("p.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "image/png")})
    assert (photo.status_code, code_of(photo)) == (422, "not_solicited")
    kinds = {e["kind"] for e in client.get(f"{API}/events/{event_id}/trace", headers=h("operator")).json()}
    assert not {k for k in kinds if k.startswith("response.")}
    # Nor may the PC answer for her on an event that does not ask her.
    on_behalf = client.post(f"{API}/events/{event_id}/responses", headers=h("operator"), json={
        "kind": "ack", "person_id": metro.decision_id, "reason": "jointe au téléphone"})
    assert (on_behalf.status_code, code_of(on_behalf)) == (422, "not_solicited")

    # And nothing else of the commune.
    assert client.get(f"{API}/events/{elsewhere}", headers=metro.headers).status_code == 404
    assert client.get(f"{API}/events/{elsewhere}/trace", headers=metro.headers).status_code == 404


@pytest.mark.timeout(60)
def test_the_live_feed_brings_the_metropole_person_their_event_and_nothing_else(client, runtime, world, h, metro,
                                                                               escalating):
    with client.websocket_connect("/api/v1/ws") as socket:
        socket.send_json({"type": "auth", "token": metro.headers["Authorization"].split()[1]})
        assert socket.receive_json()["type"] == "hello"
        paged = open_event(client, world, h, escalating)
        escalate_to(runtime, paged, metro.group_id)
        elsewhere = open_event(client, world, h, escalating, title="Autre crue")  # with the technicians
        longvic = client.post(f"{API}/events", headers=h("operator"), json={
            "organization_id": world.other_commune_id, "group_ids": [metro.other_commune_group_id],
            "severity": 3, "title": "À Longvic"}).json()["id"]
        # The PC notes something on the paged event, last: whatever came before it has come.
        noted = client.post(f"{API}/events/{paged}/responses", headers=h("operator"),
                            json={"kind": "note", "text": "Le maire est prévenu"})
        assert noted.status_code == 201, noted.text
        received: list[dict] = []
        while not any(e["kind"] == "response.note" for e in received):
            received += live_entries(socket.receive_json())
    assert {e["event_id"] for e in received} == {paged}
    assert ("page.notify", "Élue Décision") in {(e["kind"], e["data"].get("person")) for e in received}
    assert {elsewhere, longvic}.isdisjoint(e["event_id"] for e in replayed(client, metro.headers))
    assert {e["event_id"] for e in replayed(client, metro.headers)} == {paged}
    # The commune's technician's feed is unchanged: their own events only, never Longvic's.
    assert {e["event_id"] for e in replayed(client, h("oncall"))} == {paged, elsewhere}


# --- answering ----------------------------------------------------------------------------------------
def test_the_metropole_person_acknowledges_then_reports_back(client, runtime, world, h, metro, escalating):
    event_id = open_event(client, world, h, escalating)
    escalate_to(runtime, event_id, metro.group_id)
    page_id = client.get(f"{API}/me/pages", headers=metro.headers).json()[0]["page_id"]
    taken = client.post(f"{API}/events/{event_id}/responses", headers=metro.headers,
                        json={"kind": "ack", "page_id": page_id, "via": "app"})
    assert taken.status_code == 201, taken.text
    assert client.post(f"{API}/events/{event_id}/responses", headers=metro.headers, json={
        "kind": "on_site", "page_id": page_id, "text": "Sur place avec le maire", "via": "app"}).status_code == 201
    detail = client.get(f"{API}/events/{event_id}", headers=h("operator")).json()  # the PC's view, as ever
    assert detail["pages"][0]["status"] == "acknowledged"
    assert detail["pages"][0]["acknowledged_by_person_id"] == metro.decision_id
    kinds = [(e["kind"], e["data"].get("person")) for e in
             client.get(f"{API}/events/{event_id}/trace", headers=h("operator")).json()]
    assert ("response.ack", "Élue Décision") in kinds and ("response.on_site", "Élue Décision") in kinds
    pages = client.get(f"{API}/me/pages", headers=metro.headers).json()
    assert pages[0]["acknowledged_by"] == "Élue Décision" and pages[0]["my_responses"] == ["ack", "on_site"]


def test_the_metropole_person_declines_and_the_next_of_the_group_is_asked(client, runtime, world, h, metro,
                                                                         escalating):
    event_id = open_event(client, world, h, escalating)
    escalate_to(runtime, event_id, metro.group_id)
    declined = client.post(f"{API}/events/{event_id}/responses", headers=metro.headers,
                           json={"kind": "decline", "text": "En déplacement"})
    assert declined.status_code == 201, declined.text
    with runtime.session_factory() as s:
        assert s.scalar(select(Page.current_person_id).where(Page.event_id == event_id)) == metro.adjoint_id


def test_an_sms_reply_from_the_metropole_person_acknowledges(client, runtime, world, h, metro, escalating):
    event_id = open_event(client, world, h, escalating)
    escalate_to(runtime, event_id, metro.group_id)
    reply = post_sms(client, DECISION_SMS, "1")
    assert reply.status_code == 200, reply.text
    with runtime.session_factory() as s:
        page = s.scalars(select(Page).where(Page.event_id == event_id)).one()
        assert (page.status, page.acknowledged_by_person_id) == ("acknowledged", metro.decision_id)
        confirmed = s.scalars(select(Notification.text).where(Notification.address == DECISION_SMS,
                                                              Notification.purpose == "confirm")).all()
    assert confirmed


def test_a_critical_event_pages_the_metropole_at_once_and_the_mail_link_takes_it(client, runtime, world, h, metro,
                                                                                 escalating):
    response = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": escalating, "severity": 4, "title": "Digue rompue"})
    assert response.status_code == 201, response.text
    event_id = response.json()["id"]
    assert [p["event"]["id"] for p in client.get(f"{API}/me/pages", headers=metro.headers).json()] == [event_id]
    links = links_in_mail(runtime, "élue.décision@example.org")
    done = client.post(links["Je prends"])
    assert done.status_code == 200 and "Vous prenez en charge" in done.text
    detail = client.get(f"{API}/events/{event_id}", headers=metro.headers).json()
    decision_page = next(p for p in detail["pages"] if p["current_group_id"] == metro.group_id)
    assert (decision_page["status"], decision_page["acknowledged_by_person_id"]) == ("acknowledged",
                                                                                    metro.decision_id)


def test_the_pc_phones_the_metropole_person_and_answers_for_them(client, runtime, world, h, metro, escalating):
    event_id = open_event(client, world, h, escalating)
    contacts = client.get(f"{API}/events/{event_id}/contacts", headers=h("operator")).json()
    decision = next(c for c in contacts if c["person_id"] == metro.decision_id)
    assert decision["mobile"] == DECISION_SMS and decision["groups"] == ["Astreinte de décision"]
    taken = client.post(f"{API}/events/{event_id}/responses", headers=h("operator"), json={
        "kind": "ack", "person_id": metro.decision_id, "reason": "jointe au téléphone"})
    assert taken.status_code == 201, taken.text
    # Someone of another tenant is no one the PC may answer for.
    stranger = client.post(f"{API}/events/{event_id}/responses", headers=h("operator"), json={
        "kind": "note", "person_id": world.foreign_person_id, "text": "?"})
    assert stranger.status_code == 404


def test_the_pc_operators_view_is_unchanged(client, runtime, world, h, metro, escalating):
    preview = client.post(f"{API}/events/preview", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": escalating, "severity": 3})
    assert preview.status_code == 200, preview.text
    groups = preview.json()["pages"][0]["groups"]
    assert [(g["group"], [m["name"] for m in g["members"]]) for g in groups][1] == (
        "Astreinte de décision", ["Élue Décision", "Adjoint Décision"])
    event_id = open_event(client, world, h, escalating)
    escalate_to(runtime, event_id, metro.group_id)
    listed = [e["id"] for e in client.get(f"{API}/events", headers=h("operator")).json()]
    assert event_id in listed
    detail = client.get(f"{API}/events/{event_id}", headers=h("operator")).json()
    assert [g["group_id"] for g in detail["pages"][0]["policy"]["chain"]] == [world.tech_group_id, metro.group_id]
    shown = client.get(f"{API}/events/{event_id}/procedure", headers=h("operator")).json()
    assert [s["group_name"] for s in shown["steps"]] == ["Astreinte technique", "Astreinte de décision"]
    # The commune's referent reads its events as before, the métropole's people included.
    assert client.get(f"{API}/events/{event_id}", headers=h("referent")).status_code == 200
    # The other métropole's operator sees nothing of it.
    assert client.get(f"{API}/events/{event_id}", headers=h("foreign_operator")).status_code == 404
