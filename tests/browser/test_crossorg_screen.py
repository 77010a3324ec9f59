"""In a real Chromium: the métropole's astreinte de décision is offered beside the commune's own groups, named
with the métropole (« Métropole de Test — Astreinte de décision »), to the commune's referent writing a procedure
and to the PC's operator opening an event without one; never another métropole's group."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from backend.db import transaction
from tests.browser.conftest import screenshot
from tests.browser.test_console import console_login, pages  # noqa: F401 (fixture)
from tests.factories import _group, _person, login

DECISION = "Métropole de Test — Astreinte de décision"


def metropole_groups(live) -> int:
    """The métropole's astreinte de décision (its id), and the other métropole's, which no form may offer."""
    world = live.world
    with transaction(live.app.state.runtime.session_factory) as session:
        decision = _person(session, world.metropole_id, "Élue", "Décision", 60, is_elected=True)
        group_id = _group(session, world.metropole_id, "Astreinte de décision", "elu", [decision]).id
        _group(session, world.foreign_metropole_id, "Astreinte d'ailleurs", "elu",
               [_person(session, world.foreign_metropole_id, "Élu", "Ailleurs", 70)])
    return group_id


def api_as(live, role: str):
    client = live.client()
    client.headers.update(login(client, live.world.users[role]))
    return client


def test_the_communes_referent_writes_a_procedure_that_escalates_to_the_metropole(live, desk, pages):  # noqa: F811
    world = live.world
    group_id = metropole_groups(live)

    page = pages(desk)
    console_login(page, world.users["referent"])
    page.goto("/console/#/procedures")
    expect(page.locator(".pr-table tbody tr")).to_have_count(1)
    expect(page.locator("#pr-new")).to_be_enabled()
    page.click("#pr-new")
    labels = page.locator("#pr-add-group option").all_inner_texts()
    assert labels[1:] == ["Astreinte cadre", "Astreinte technique", "Astreinte élu", DECISION]
    page.fill("#pr-form input[name=category]", "Crue, évacuation possible")
    page.select_option("#pr-add-group", label="Astreinte technique")
    page.select_option("#pr-add-group", label=DECISION)
    expect(page.locator("#pr-steps li .pr-step-name")).to_have_text(["Astreinte technique", DECISION])
    screenshot(page, "console-procedure-metropole-group")
    page.get_by_role("button", name="Enregistrer (brouillon)").click()
    expect(page.get_by_test_id("procedure-detail")).to_contain_text("Crue, évacuation possible")

    saved = next(p for p in api_as(live, "referent").get(
        "/api/v1/procedures", params={"organization_id": world.commune_id}).json()
        if p["category"] == "Crue, évacuation possible")
    assert [s["group_id"] for s in saved["steps"]] == [world.tech_group_id, group_id]
    assert saved["version"] == 0  # the referent's draft, for the PC to validate


def test_the_operator_opens_an_event_without_procedure_for_the_metropoles_group(live, desk, pages):  # noqa: F811
    world = live.world
    group_id = metropole_groups(live)

    page = pages(desk)
    console_login(page, world.users["operator"])
    page.goto("/console/#/nouvel-evenement")
    page.select_option("select[name=organization_id]", str(world.commune_id))
    page.select_option("select[name=procedure_id]", label="Sans procédure (cas imprévu)")
    offered = page.locator("#adhoc-add option").all_inner_texts()
    assert offered[1:] == ["Astreinte cadre", "Astreinte technique", "Astreinte élu", DECISION]
    page.select_option("#adhoc-add", label=DECISION)
    page.select_option("#adhoc-add", label="Astreinte cadre")
    page.locator(".adhoc-groups li").nth(1).get_by_role("button", name="Monter").click()
    expect(page.locator(".adhoc-groups li span")).to_have_text(["Astreinte cadre", DECISION])
    page.check("input[name=severity][value='3']")
    preview = page.get_by_test_id("preview")
    expect(preview.locator(".pv-gname")).to_have_text(["Astreinte cadre", "Astreinte de décision"])
    expect(preview).to_contain_text("Élue Décision")
    page.fill("input[name=title]", "Immeuble menaçant ruine")
    page.click("#confirm-event")
    expect(page).to_have_url(re.compile(r"#/evenement/\d+$"))
    event_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_test_id("event-procedure")).to_contain_text("Astreinte cadre → Astreinte de décision")

    event = api_as(live, "operator").get(f"/api/v1/events/{event_id}").json()
    assert [g["group_id"] for g in event["pages"][0]["policy"]["chain"]] == [world.cadre_group_id, group_id]
