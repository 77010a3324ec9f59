"""The procedures library: versions (a draft until a PC admin validates it, events keep theirs), import and
export of a commune's procedures, and events opened without a procedure on groups the operator chose."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

import escalation as esc
from backend.db import transaction
from backend.pages import service as page_service
from backend.trace.kinds import TraceKind
from backend.trace.models import TraceEntry

API = "/api/v1"


def code_of(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def new_procedure(client, world, h):
    def _create(role: str = "admin", validate: bool = True, **changes) -> dict:
        body = {"organization_id": world.commune_id, "category": "Inondation de voirie", "cap_category": "Met",
                "instructions": "Faire fermer la voie, prévenir l'élu.", "validate": validate,
                "steps": [{"group_id": world.tech_group_id}, {"group_id": world.cadre_group_id}], **changes}
        response = client.post(f"{API}/procedures", json=body, headers=h(role))
        assert response.status_code == 201, response.text
        return response.json()
    return _create


def open_event(client, world, h, **body):
    payload = {"organization_id": world.commune_id, "severity": 3, "title": "Chaussée inondée", **body}
    return client.post(f"{API}/events", json=payload, headers=h("operator"))


def test_an_event_keeps_the_version_it_was_opened_with(client, world, h, new_procedure):
    procedure = new_procedure()
    assert (procedure["version"], procedure["draft_version"]) == (1, None)
    url = f"{API}/procedures/{procedure['id']}"
    first = open_event(client, world, h, procedure_id=procedure["id"]).json()

    changed = client.patch(url, headers=h("referent"), json={
        "instructions": "Baliser, puis appeler le cadre.", "note": "le cadre d'abord",
        "steps": [{"group_id": world.cadre_group_id}, {"group_id": world.tech_group_id}]})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["draft_version"]) == (1, 2)
    assert changed.json()["instructions"] == "Faire fermer la voie, prévenir l'élu."  # the draft is not in service
    while_draft = open_event(client, world, h, procedure_id=procedure["id"]).json()
    assert while_draft["pages"][0]["policy"]["chain"][0]["group_id"] == world.tech_group_id

    assert client.post(f"{url}/versions/2/validate", headers=h("admin")).status_code == 200
    second = open_event(client, world, h, procedure_id=procedure["id"]).json()
    assert second["pages"][0]["policy"]["chain"][0]["group_id"] == world.cadre_group_id

    def shown(event):
        return client.get(f"{API}/events/{event['id']}/procedure", headers=h("referent")).json()
    assert (shown(first)["version"], shown(first)["instructions"]) == (1, "Faire fermer la voie, prévenir l'élu.")
    assert [s["group_name"] for s in shown(first)["steps"]] == ["Astreinte technique", "Astreinte cadre"]
    assert (shown(while_draft)["version"], shown(second)["version"]) == (1, 2)
    assert shown(second)["instructions"] == "Baliser, puis appeler le cadre."
    created = client.get(f"{API}/events/{second['id']}/trace", headers=h("operator")).json()[0]
    assert created["data"]["procedure_version"] == 2

    history = client.get(f"{url}/versions", headers=h("operator")).json()
    assert [(v["number"], v["status"], v["author"]) for v in history] == [(2, "validated", "Referent"),
                                                                          (1, "validated", "Admin")]
    assert history[0]["changes"] == ["instructions", "steps"] and history[0]["note"] == "le cadre d'abord"
    assert history[0]["validated_by"] == "Admin"


def test_a_draft_is_not_offered_to_events(client, world, h, new_procedure):
    procedure = new_procedure(role="referent", validate=False)
    assert (procedure["version"], procedure["draft_version"]) == (0, 1)
    refused = open_event(client, world, h, procedure_id=procedure["id"])
    assert (refused.status_code, code_of(refused)) == (422, "procedure_not_validated")
    preview = client.post(f"{API}/events/preview", headers=h("operator"),
                          json={"organization_id": world.commune_id, "procedure_id": procedure["id"]})
    assert (preview.status_code, code_of(preview)) == (422, "procedure_not_validated")
    assert client.post(f"{API}/procedures/{procedure['id']}/versions/1/validate", headers=h("admin")).status_code == 200
    assert open_event(client, world, h, procedure_id=procedure["id"]).status_code == 201


def test_only_a_pc_admin_validates(client, world, h, new_procedure):
    with pytest.raises(AssertionError):  # a referent may draft, not validate at once
        new_procedure(role="referent", validate=True)
    procedure = new_procedure(role="referent", validate=False)
    url = f"{API}/procedures/{procedure['id']}"
    for role in ("referent", "operator"):
        response = client.post(f"{url}/versions/1/validate", headers=h(role))
        assert (response.status_code, code_of(response)) == (403, "role_forbidden")
    response = client.patch(url, json={"instructions": "x"}, headers=h("operator"))
    assert (response.status_code, code_of(response)) == (403, "role_forbidden")
    foreign = client.post(f"{url}/versions/1/validate", headers=h("foreign_operator"))
    assert foreign.status_code == 404
    assert client.get(f"{url}/versions", headers=h("foreign_operator")).status_code == 404
    assert client.post(f"{url}/versions/9/validate", headers=h("admin")).status_code == 404
    assert client.post(f"{url}/versions/1/validate", headers=h("admin")).json()["version"] == 1
    again = client.post(f"{url}/versions/1/validate", headers=h("admin"))
    assert (again.status_code, code_of(again)) == (409, "version_not_draft")

    # Two drafts: validating the later one supersedes the earlier, which can no longer be validated.
    client.patch(url, json={"instructions": "v2"}, headers=h("referent"))
    client.patch(url, json={"instructions": "v3"}, headers=h("referent"))
    assert client.post(f"{url}/versions/3/validate", headers=h("admin")).json()["instructions"] == "v3"
    late = client.post(f"{url}/versions/2/validate", headers=h("admin"))
    assert (late.status_code, code_of(late)) == (409, "version_not_draft")
    assert [v["status"] for v in client.get(f"{url}/versions", headers=h("admin")).json()] == [
        "validated", "superseded", "validated"]
    unchanged = client.patch(url, json={"instructions": "v3"}, headers=h("referent")).json()
    assert unchanged["draft_version"] is None  # nothing changed: no version


def test_the_library_is_searched_and_filtered(client, world, h, new_procedure):
    new_procedure()
    new_procedure(category="Fuite de gaz", cap_category="Safety", instructions="Évacuer, appeler GRDF.")
    listed = client.get(f"{API}/procedures", params={"q": "grdf"}, headers=h("referent")).json()
    assert [p["category"] for p in listed] == ["Fuite de gaz"]
    listed = client.get(f"{API}/procedures", params={"cap_category": "Met"}, headers=h("referent")).json()
    assert [p["category"] for p in listed] == ["Inondation de voirie"]
    assert client.get(f"{API}/procedures", params={"cap_category": "Zombies"}, headers=h("referent")).status_code == 422


def exported(client, world, h, role="admin", organization_id=None) -> dict:
    response = client.get(f"{API}/organizations/{organization_id or world.commune_id}/procedures/export",
                          headers=h(role))
    assert response.status_code == 200, response.text
    return response.json()


def test_export_then_import_round_trip(client, world, h, new_procedure):
    new_procedure(report_list_ids=[])
    document = exported(client, world, h)
    assert [p["category"] for p in document["procedures"]] == ["Chute d'arbre sur la voirie", "Inondation de voirie"]
    assert document["procedures"][1]["steps"][0] == {"group": "Astreinte technique", "mode": "solicit",
                                                     "min_severity": 1, "inform_all": False}
    url = f"{API}/organizations/{world.commune_id}/procedures/import"
    same = client.post(url, params={"dry_run": True}, json=document, headers=h("referent")).json()
    assert (same["created"], same["changed"], same["problems"], same["applied"]) == ([], [], [], False)
    assert len(same["unchanged"]) == 2

    document["procedures"][1]["instructions"] = "Nouvelle consigne."
    document["procedures"].append({**document["procedures"][1], "category": "Coulée de boue"})
    preview = client.post(url, params={"dry_run": True}, json=document, headers=h("referent")).json()
    assert (preview["created"], preview["changed"]) == (["Coulée de boue"], ["Inondation de voirie"])
    assert len(client.get(f"{API}/procedures", headers=h("referent")).json()) == 2  # a preview writes nothing

    applied = client.post(url, json=document, headers=h("referent")).json()
    assert applied["applied"] is True
    procedures = {p["category"]: p for p in client.get(f"{API}/procedures", headers=h("referent")).json()}
    assert (procedures["Coulée de boue"]["version"], procedures["Coulée de boue"]["draft_version"]) == (0, 1)
    assert procedures["Inondation de voirie"]["draft_version"] == 2  # imported as a draft, to be validated
    assert procedures["Inondation de voirie"]["instructions"] != "Nouvelle consigne."

    text = client.get(f"{API}/organizations/{world.commune_id}/procedures/export", params={"format": "csv"},
                      headers=h("operator")).text
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][0] == "catégorie" and {r[0] for r in rows[1:]} == set(procedures)


def test_an_import_with_one_problem_imports_nothing(client, world, h):
    document = exported(client, world, h)
    good = {**document["procedures"][0], "category": "Nouvelle"}
    bad = {**document["procedures"][0], "category": "Mauvaise", "steps": [{"group": "Astreinte pompiers"}]}
    document["procedures"] = [good, bad, {**good}]
    url = f"{API}/organizations/{world.commune_id}/procedures/import"
    preview = client.post(url, params={"dry_run": True}, json=document, headers=h("admin")).json()
    assert [(p["index"], p["code"]) for p in preview["problems"]] == [(1, "unknown_name"), (2, "duplicate_category")]
    refused = client.post(url, json=document, headers=h("admin"))
    assert (refused.status_code, code_of(refused)) == (422, "import_refused")
    assert len(refused.json()["error"]["details"]["problems"]) == 2
    categories = [p["category"] for p in client.get(f"{API}/procedures", headers=h("admin")).json()]
    assert categories == ["Chute d'arbre sur la voirie"]
    wrong = client.post(url, json={"format": "autre", "procedures": []}, headers=h("admin"))
    assert (wrong.status_code, code_of(wrong)) == (422, "invalid_input")


def test_import_and_export_stay_in_the_tenant(client, world, h):
    document = exported(client, world, h)
    other = world.other_commune_id
    assert client.get(f"{API}/organizations/{other}/procedures/export", headers=h("referent")).status_code == 404
    assert client.get(f"{API}/organizations/{world.commune_id}/procedures/export",
                      headers=h("foreign_operator")).status_code == 404
    for role, status in (("referent", 404), ("foreign_operator", 404)):
        response = client.post(f"{API}/organizations/{other}/procedures/import", json=document, headers=h(role))
        assert response.status_code == status, (role, response.text)
    forbidden = client.post(f"{API}/organizations/{world.commune_id}/procedures/import", json=document,
                            headers=h("operator"))
    assert (forbidden.status_code, code_of(forbidden)) == (403, "role_forbidden")
    # The other commune has none of these groups: named, they are unknown there, not taken from the first.
    preview = client.post(f"{API}/organizations/{other}/procedures/import", params={"dry_run": True}, json=document,
                          headers=h("admin")).json()
    assert [p["code"] for p in preview["problems"]] == ["unknown_name"]
    assert client.get(f"{API}/events/1/procedure", headers=h("foreign_operator")).status_code == 404


def test_an_event_without_procedure_pages_the_chosen_groups_and_escalates(client, world, h, runtime):
    response = open_event(client, world, h, group_ids=[world.cadre_group_id, world.tech_group_id],
                          title="Odeur inconnue dans l'école")
    assert response.status_code == 201, response.text
    event = response.json()
    assert (event["procedure_id"], event["category"]) == (None, "Cas imprévu (sans procédure)")
    [page] = event["pages"]
    assert [g["group_id"] for g in page["policy"]["chain"]] == [world.cadre_group_id, world.tech_group_id]
    assert page["current_person_id"] == world.cadres[0]
    created = client.get(f"{API}/events/{event['id']}/trace", headers=h("operator")).json()[0]
    assert created["data"]["without_procedure"] is True
    assert [g["group"] for g in created["data"]["groups"]] == ["Astreinte cadre", "Astreinte technique"]
    shown = client.get(f"{API}/events/{event['id']}/procedure", headers=h("referent")).json()
    assert shown["without_procedure"] is True and [s["group_id"] for s in shown["steps"]] == [
        world.cadre_group_id, world.tech_group_id]

    # Nobody answers: both cadres time out, then the technical group is asked.
    with transaction(runtime.session_factory) as session:
        for _ in range(2):
            held_event, held_page = page_service.lock_event_and_page(db_session=session, page_id=page["id"])
            page_service.apply_signal(db_session=session, event=held_event, page=held_page, signal=esc.Tick(),
                                      now=held_page.due_at + timedelta(seconds=1))
        escalated = session.scalar(select(TraceEntry).where(TraceEntry.event_id == event["id"],
                                                            TraceEntry.kind == TraceKind.PAGE_ESCALATED))
    assert (escalated.data["from_group"], escalated.data["to_group"]) == ("Astreinte cadre", "Astreinte technique")
    detail = client.get(f"{API}/events/{event['id']}", headers=h("operator")).json()
    assert detail["pages"][0]["current_person_id"] == world.techs[0]

    raised = client.post(f"{API}/events/{event['id']}/requalify", json={"severity": 4, "reason": "malaises"},
                         headers=h("operator"))
    assert raised.status_code == 200, raised.text
    # Critical while unanswered: the chosen group not being asked is asked at once, as a procedure's would be.
    asked = {p["current_group_id"] for p in raised.json()["pages"] if p["status"] == "active"}
    assert asked == {world.cadre_group_id, world.tech_group_id}
    closed = client.post(f"{API}/events/{event['id']}/close", json={"reason": "fausse alerte"}, headers=h("operator"))
    assert closed.status_code == 200, closed.text
    figures = client.get(f"{API}/dashboard", params={"organization_id": world.commune_id}, headers=h("admin"))
    assert figures.status_code == 200 and figures.json()["by_category"] == {"Cas imprévu (sans procédure)": 1}


def test_groups_chosen_without_procedure_are_checked(client, world, h):
    cases = [({"group_ids": [world.tech_group_id], "procedure_id": world.procedure_id}, "procedure_or_groups"),
             ({"group_ids": [world.tech_group_id, world.tech_group_id]}, "duplicate_group"),
             ({"group_ids": [world.tech_group_id, 10**6]}, "unknown_group"),
             ({"group_ids": []}, "invalid_input"),
             ({"group_ids": [2**70]}, "invalid_input")]
    for body, code in cases:
        response = open_event(client, world, h, **body)
        assert (response.status_code, code_of(response)) == (422, code), body
    preview = client.post(f"{API}/events/preview", headers=h("operator"), json={
        "organization_id": world.commune_id, "group_ids": [world.tech_group_id], "severity": 2})
    assert preview.status_code == 200, preview.text
    assert [g["group_id"] for g in preview.json()["pages"][0]["groups"]] == [world.tech_group_id]


def test_a_procedure_made_before_versions_gets_its_history_on_first_edit(client, world, h):
    url = f"{API}/procedures/{world.procedure_id}"
    assert [v["number"] for v in client.get(f"{url}/versions", headers=h("admin")).json()] == [1]
    event = open_event(client, world, h, procedure_id=world.procedure_id).json()
    assert client.patch(url, json={"instructions": "Nouvelle"}, headers=h("admin")).json()["draft_version"] == 2
    assert client.post(f"{url}/versions/2/validate", headers=h("admin")).status_code == 200
    assert [v["number"] for v in client.get(f"{url}/versions", headers=h("admin")).json()] == [2, 1]
    assert client.get(f"{API}/events/{event['id']}/procedure", headers=h("admin")).json()["version"] == 1


def test_the_migration_makes_existing_procedures_version_one_and_points_their_events_at_it(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, text

    from backend.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'before.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0019")
    engine = create_engine(url)
    at = "'2026-01-01 00:00:00'"
    with engine.begin() as connection:
        for statement in (
            f"INSERT INTO organizations (id, name, code, kind, timezone, created_at) VALUES (1, 'C', 'CH', 'commune', "
            f"'Europe/Paris', {at})",
            f"INSERT INTO oncall_groups (id, organization_id, name, kind, created_at) VALUES (1, 1, 'Tech', 'technique', {at})",
            "INSERT INTO procedures (id, organization_id, category, cap_category, instructions, timings, active, "
            f"""created_at) VALUES (1, 1, 'Arbre', 'Infra', 'Baliser', '{{"2": {{"ack_timeout_s": 60, "repeats": 0}}}}', 1, {at})""",
            "INSERT INTO procedure_steps (procedure_id, position, group_id, mode, min_severity) VALUES (1, 0, 1, 'solicit', 1)",
            "INSERT INTO events (id, organization_id, year, seq, number, procedure_id, category, severity, cap_severity, "
            "cap_urgency, cap_certainty, title, description, place, source, caller_name, callback_number, status, "
            f"received_at, trace_seq, trace_head) VALUES (1, 1, 2026, 1, '2026-0001', 1, 'Arbre', 3, 'Severe', 'Unknown', "
            f"'Unknown', 't', '', '', 'phone', '', '', 'open', {at}, 0, '0')"):
            connection.execute(text(statement))
    command.upgrade(config, "head")
    with engine.begin() as connection:
        version = connection.execute(text("SELECT id, number, status, content FROM procedure_versions")).one()
        pointed = connection.execute(text("SELECT procedure_version_id FROM events")).scalar_one()
        number = connection.execute(text("SELECT version FROM procedures")).scalar_one()
    engine.dispose()
    content = version.content if isinstance(version.content, dict) else __import__("json").loads(version.content)
    assert (version.number, version.status, pointed, number) == (1, "validated", version.id, 1)
    assert content["instructions"] == "Baliser" and content["steps"] == [
        {"group_id": 1, "mode": "solicit", "min_severity": 1}]
    assert content["timings"]["2"] == {"ack_timeout_s": 60, "repeats": 0}


def test_a_chosen_group_deleted_since_is_skipped_when_the_event_is_raised(client, world, h):
    made = client.post(f"{API}/groups", headers=h("admin"), json={
        "organization_id": world.commune_id, "name": "Astreinte bâtiments", "kind": "technique"})
    assert made.status_code == 201, made.text
    group_id = made.json()["id"]
    assert client.put(f"{API}/groups/{group_id}/roster", json={"person_ids": [world.techs[2]]},
                      headers=h("admin")).status_code == 200
    event = open_event(client, world, h, group_ids=[world.cadre_group_id, group_id]).json()
    assert client.delete(f"{API}/groups/{group_id}", headers=h("admin")).status_code == 204  # never asked yet
    raised = client.post(f"{API}/events/{event['id']}/requalify", json={"severity": 4, "reason": "aggravation"},
                         headers=h("operator"))
    assert raised.status_code == 200, raised.text
    assert {p["current_group_id"] for p in raised.json()["pages"]} == {world.cadre_group_id}
