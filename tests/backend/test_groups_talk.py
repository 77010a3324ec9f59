"""Groups that talk (issue 16): « renfort » pages the cadre on call and rings at the PC until noted; report-backs
reach the others engaged on the event; SMS codes for en route and renfort; inform steps reach the person on
call (or « toute la liste »); distribution lists by SMS too; information messages say so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.db import transaction
from backend.groups.models import DistributionList, DistributionMember
from backend.outbox.models import Notification
from backend.people.models import ContactMethod, Person
from backend.trace.kinds import TraceKind
from backend.trace.models import TraceEntry
from tests.backend.test_inbound_sms import post_sms

API = "/api/v1"
TECH1, CADRE1 = "+33639980101", "+33639980111"
SUBSCRIPTION = json.dumps({"endpoint": "https://push.example.org/sub/cadre1",
                           "keys": {"p256dh": "BNc...", "auth": "au"}}, separators=(",", ":"))


def procedure(client, world, h, steps, **extra) -> dict:
    body = {"organization_id": world.commune_id, "category": extra.pop("category", "Inondation de voirie"),
            "cap_category": "Met", "validate": True, "steps": steps, **extra}
    response = client.post(f"{API}/procedures", json=body, headers=h("admin"))
    assert response.status_code == 201, response.text
    return response.json()


def open_event(client, h, world, procedure_id, severity=3, title="Chaussée inondée") -> dict:
    response = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": procedure_id, "severity": severity, "title": title,
        "place": "rue Jean Jaurès"})
    assert response.status_code == 201, response.text
    return response.json()


def messages(runtime, event_id, purpose=None, person_id=None) -> list[Notification]:
    with runtime.session_factory() as s:
        query = select(Notification).where(Notification.event_id == event_id).order_by(Notification.id)
        if purpose:
            query = query.where(Notification.purpose == purpose)
        if person_id:
            query = query.where(Notification.person_id == person_id)
        return list(s.scalars(query))


def entries(runtime, event_id, kind) -> list[TraceEntry]:
    with runtime.session_factory() as s:
        return list(s.scalars(select(TraceEntry).where(TraceEntry.event_id == event_id, TraceEntry.kind == kind)
                              .order_by(TraceEntry.seq)))


def respond(client, headers, event_id, kind, **body):
    response = client.post(f"{API}/events/{event_id}/responses", headers=headers, json={"kind": kind, **body})
    assert response.status_code == 201, response.text
    return response.json()


# Inform steps: the person on call, or the whole list -------------------------------------------------------------

def test_an_inform_step_tells_the_person_on_call_not_every_member(client, world, h, runtime):
    un, deux, trois = world.techs
    start = datetime.now(UTC) - timedelta(days=1)
    rotation = client.put(f"{API}/groups/{world.tech_group_id}/rotation", headers=h("admin"), json={
        "member_ids": [deux, trois, un], "anchor_local": start.strftime("%Y-%m-%dT%H:%M:00"), "turn_days": 7,
        "effective_from": start.isoformat()})
    assert rotation.status_code == 200, rotation.text
    p = procedure(client, world, h, [{"group_id": world.cadre_group_id},
                                     {"group_id": world.tech_group_id, "mode": "inform"}])
    event = open_event(client, h, world, p["id"])
    informed = messages(runtime, event["id"], "inform")
    assert {n.person_id for n in informed} == {deux}, "only the technician holding the turn is told"
    [entry] = entries(runtime, event["id"], TraceKind.EVENT_INFORMED)
    assert entry.data["scope"] == "on_call" and [p["person_id"] for p in entry.data["people"]] == [deux]
    sms = next(n for n in informed if n.channel == "sms")
    assert "Pour information - Chaussée inondée" in sms.text and "Rep" not in sms.text
    preview = client.post(f"{API}/events/preview", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": p["id"], "severity": 3})
    assert preview.status_code == 200, preview.text  # the operator's preview says the same
    assert [m["person_id"] for m in preview.json()["informed"][0]["members"]] == [deux]


def test_toute_la_liste_is_a_per_step_choice_kept_in_the_version(client, world, h, runtime):
    p = procedure(client, world, h, [{"group_id": world.cadre_group_id, "inform_all": True},
                                     {"group_id": world.tech_group_id, "mode": "inform", "inform_all": True}])
    steps = {s["group_id"]: s for s in p["steps"]}
    assert steps[world.tech_group_id]["inform_all"] is True
    assert steps[world.cadre_group_id]["inform_all"] is False, "a solicited group is not « informed », whole or not"
    [version] = client.get(f"{API}/procedures/{p['id']}/versions", headers=h("admin")).json()
    assert [s["inform_all"] for s in version["content"]["steps"]] == [False, True]
    event = open_event(client, h, world, p["id"])
    assert {n.person_id for n in messages(runtime, event["id"], "inform")} == set(world.techs)
    [entry] = entries(runtime, event["id"], TraceKind.EVENT_INFORMED)
    assert entry.data["scope"] == "whole_list"

    # Unticking it is a change of content: a new version, and the export carries the choice.
    changed = client.patch(f"{API}/procedures/{p['id']}", headers=h("admin"), json={
        "steps": [{"group_id": world.cadre_group_id}, {"group_id": world.tech_group_id, "mode": "inform"}],
        "validate": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and changed.json()["steps"][1]["inform_all"] is False
    exported = client.get(f"{API}/organizations/{world.commune_id}/procedures/export", headers=h("admin"))
    assert exported.status_code == 200, exported.text
    mine = next(x for x in exported.json()["procedures"] if x["category"] == "Inondation de voirie")
    assert mine["steps"][1]["inform_all"] is False


# SMS codes: en route and renfort -------------------------------------------------------------------------------

def test_sms_codes_for_en_route_and_renfort(client, world, h, runtime):
    event = open_event(client, h, world, world.procedure_id)
    post_sms(client, TECH1, "1")
    post_sms(client, TECH1, "5")
    post_sms(client, TECH1, "RENFORT arbre trop gros")
    with runtime.session_factory() as s:
        kinds = [e.kind for e in s.scalars(select(TraceEntry).where(TraceEntry.event_id == event["id"],
                                                                    TraceEntry.kind.like("response.%"))
                                           .order_by(TraceEntry.seq))]
    assert kinds == ["response.ack", "response.en_route", "response.need_help"]
    back = [n.text for n in messages(runtime, event["id"], "confirm")]
    assert "5=en route" in back[0] and "6=renfort" in back[0], "after « je prends », the next codes"
    assert "Recu : en route." in back[1]
    assert "Recu : renfort demande (arbre trop gros)" in back[2]


# « Renfort »: the cadre on call is paged, the PC rings until an operator takes note -----------------------------

def test_renfort_pages_the_cadre_on_call_and_rings_until_noted(client, world, h, runtime):
    event = open_event(client, h, world, world.procedure_id)
    tech = h("oncall")
    respond(client, tech, event["id"], "ack")
    help_request = respond(client, tech, event["id"], "need_help", text="arbre trop gros pour moi")
    detail = client.get(f"{API}/events/{event['id']}", headers=h("operator")).json()
    [page] = [p for p in detail["pages"] if p["policy"].get("help")]
    assert page["status"] == "active" and page["current_person_id"] == world.cadres[0]
    assert page["policy"]["help"]["response_id"] == help_request["id"]
    assert page["policy"]["chain"][0]["group_id"] == world.cadre_group_id
    paged = [n for n in messages(runtime, event["id"], "solicit", world.cadres[0]) if n.page_id == page["id"]]
    assert {n.channel for n in paged} >= {"sms"}
    sms = next(n for n in paged if n.channel == "sms")
    assert "RENFORT demandé par Tech Un" in sms.text and "Rep 1=je prends" in sms.text
    started = [e for e in entries(runtime, event["id"], TraceKind.PAGE_STARTED) if e.data.get("reinforcement")]
    assert started and started[0].data["requested_by"] == "Tech Un"
    ringing = next(r for r in detail["responses"] if r["id"] == help_request["id"])
    assert ringing["noted_at"] is None, "the PC's alarm rings"

    # A second call while the cadre is being paged joins that page.
    respond(client, tech, event["id"], "need_help", text="vite")
    detail = client.get(f"{API}/events/{event['id']}", headers=h("operator")).json()
    assert len([p for p in detail["pages"] if p["policy"].get("help")]) == 1

    url = f"{API}/events/{event['id']}/responses/{help_request['id']}/noted"
    assert client.post(url, headers=tech).status_code == 403
    noted = client.post(url, headers=h("operator"))
    assert noted.status_code == 200, noted.text
    assert noted.json()["noted_at"] is not None and noted.json()["noted_by_user_id"] is not None
    assert client.post(url, headers=h("operator")).status_code == 200  # a second console's click changes nothing
    assert len(entries(runtime, event["id"], TraceKind.REINFORCEMENT_NOTED)) == 1

    ack = next(r for r in detail["responses"] if r["kind"] == "ack")
    wrong = client.post(f"{API}/events/{event['id']}/responses/{ack['id']}/noted", headers=h("operator"))
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (422, "not_reinforcement")
    missing = client.post(f"{API}/events/{event['id']}/responses/999999/noted", headers=h("operator"))
    assert missing.status_code == 404

    # The cadre takes it by SMS: the reinforcement page is acknowledged.
    post_sms(client, CADRE1, "1")
    detail = client.get(f"{API}/events/{event['id']}", headers=h("operator")).json()
    [page] = [p for p in detail["pages"] if p["policy"].get("help")]
    assert (page["status"], page["acknowledged_by_person_id"]) == ("acknowledged", world.cadres[0])
    # … and the technician who called learns that help is coming (a basic phone: by SMS).
    coming = [n for n in messages(runtime, event["id"], "inform", world.techs[0]) if "vient en renfort" in n.text]
    assert [n.channel for n in coming] == ["sms"] and "Cadre Un (Astreinte cadre)" in coming[0].text


def test_a_renfort_typed_by_the_operator_does_not_ring_and_a_cadre_is_never_paged_for_their_own_call(
        client, world, h, runtime):
    event = open_event(client, h, world, world.procedure_id)
    respond(client, h("operator"), event["id"], "need_help", person_id=world.cadres[0], text="au téléphone")
    detail = client.get(f"{API}/events/{event['id']}", headers=h("operator")).json()
    assert detail["responses"][-1]["noted_at"] is not None
    [page] = [p for p in detail["pages"] if p["policy"].get("help")]
    assert page["policy"]["chain"][0]["members"] == [world.cadres[1]]


# Report-backs from the field reach the others engaged ----------------------------------------------------------

@pytest.fixture
def engaged_event(client, world, h, runtime):
    """A critical event: technicians and cadres asked at once; Tech Un and Cadre Un took it; the élu is informed.
    Cadre Un has the app (push), the others a basic phone."""
    with transaction(runtime.session_factory) as s:
        s.add(ContactMethod(person_id=world.cadres[0], kind="push", address=SUBSCRIPTION))
    event = open_event(client, h, world, world.procedure_id, severity=4)
    respond(client, h("oncall"), event["id"], "ack")
    post_sms(client, CADRE1, "1")
    detail = client.get(f"{API}/events/{event['id']}", headers=h("operator")).json()
    assert {p["acknowledged_by_person_id"] for p in detail["pages"]} == {world.techs[0], world.cadres[0]}
    return event


def relayed(runtime, event_id) -> list[Notification]:
    return [n for n in messages(runtime, event_id, "inform") if (n.data or {}).get("note")]


def test_a_note_from_the_field_reaches_the_others_engaged_never_its_author(client, world, h, runtime, engaged_event):
    event_id = engaged_event["id"]
    respond(client, h("oncall"), event_id, "note", text="Arbre tronçonné, une voie rouverte")
    told = relayed(runtime, event_id)
    assert {n.person_id for n in told} == {world.cadres[0]}, "not the author, not the élu for a note"
    assert [n.channel for n in told] == ["push"]
    assert told[0].subject.startswith("[CHENOVE CRITIQUE")
    assert "Pour information — Tech Un (Astreinte technique) : note — « Arbre tronçonné" in told[0].subject
    [entry] = [e for e in entries(runtime, event_id, TraceKind.EVENT_INFORMED) if e.data.get("relay")]
    assert entry.data["relay"] == "note" and entry.data["from_person_id"] == world.techs[0]
    assert [p["person_id"] for p in entry.data["people"]] == [world.cadres[0]]


def test_done_reaches_the_informed_elu_by_sms_but_sur_place_does_not(client, world, h, runtime, engaged_event):
    event_id = engaged_event["id"]
    respond(client, h("oncall"), event_id, "on_site")
    assert {(n.person_id, n.channel) for n in relayed(runtime, event_id)} == {(world.cadres[0], "push")}
    respond(client, h("oncall"), event_id, "done")
    done = [n for n in relayed(runtime, event_id) if "terminée" in n.data["note"]]
    assert {(n.person_id, n.channel) for n in done} == {(world.cadres[0], "push"), (world.elus[0], "sms")}
    sms = next(n for n in done if n.channel == "sms")
    assert sms.text.startswith("[CHENOVE] CRITIQUE") and "Pour information - Tech Un" in sms.text
    assert "Rep" not in sms.text
    assert world.techs[0] not in {n.person_id for n in relayed(runtime, event_id)}


def test_a_cadres_report_back_by_sms_reaches_the_technician(client, world, h, runtime, engaged_event):
    post_sms(client, CADRE1, "EN ROUTE")
    told = relayed(runtime, engaged_event["id"])
    # Tech Un has no app: « en route » is push only, so nothing; a note goes by SMS.
    assert told == []
    post_sms(client, CADRE1, "Je fais venir la nacelle")
    told = relayed(runtime, engaged_event["id"])
    assert [(n.person_id, n.channel) for n in told] == [(world.techs[0], "sms")]
    assert "Cadre Un (Astreinte cadre) : note" in told[0].text


def test_a_photo_from_the_field_is_pushed_to_the_others(client, world, h, runtime, engaged_event):
    from tests.backend.test_report_photos import jpeg

    sent = client.post(f"{API}/events/{engaged_event['id']}/photos", headers=h("oncall"),
                       files={"photo": ("arbre.jpg", jpeg(), "image/jpeg")}, data={"caption": "le tronc"})
    assert sent.status_code == 201, sent.text
    told = relayed(runtime, engaged_event["id"])
    assert [(n.person_id, n.channel) for n in told] == [(world.cadres[0], "push")]
    assert "a envoyé une photo" in told[0].data["note"]


# Distribution lists by SMS too --------------------------------------------------------------------------------

def test_a_distribution_list_is_told_by_sms_as_well_as_by_email(client, world, h, runtime):
    with transaction(runtime.session_factory) as s:
        dlist = s.scalar(select(DistributionList).where(DistributionList.organization_id == world.commune_id))
        sms_only = Person(organization_id=world.commune_id, first_name="Sans", last_name="Mail")
        sms_only.contact_methods = [ContactMethod(kind="sms", address="+33639980199")]
        s.add(sms_only)
        s.flush()
        s.add(DistributionMember(list_id=dlist.id, person_id=sms_only.id))
        list_id, sms_only_id = dlist.id, sms_only.id
    p = procedure(client, world, h, [{"group_id": world.tech_group_id}], report_list_ids=[list_id])
    event = open_event(client, h, world, p["id"])
    closed = client.post(f"{API}/events/{event['id']}/close", headers=h("operator"), json={"reason": "Dégagé"})
    assert closed.status_code == 200, closed.text
    cadre = {n.channel: n for n in messages(runtime, event["id"], person_id=world.cadres[0])
             if n.purpose in ("report", "inform")}
    assert set(cadre) == {"email", "sms"}
    assert cadre["sms"].text.startswith("[CHENOVE]") and "Pour information - rapport" in cadre["sms"].text
    assert "envoye par e-mail" in cadre["sms"].text
    [alone] = messages(runtime, event["id"], person_id=sms_only_id)
    assert alone.channel == "sms" and "aupres du PC" in alone.text
    [sent] = entries(runtime, event["id"], TraceKind.REPORT_SENT)
    assert {(r["person_id"], r["channel"]) for r in sent.data["recipients"]} == {
        (world.cadres[0], "email"), (world.cadres[0], "sms"), (sms_only_id, "sms")}
    reports = client.get(f"{API}/events/{event['id']}/reports", headers=h("operator")).json()
    assert {r["channel"] for r in reports[0]["recipients"]} == {"email", "sms"}
