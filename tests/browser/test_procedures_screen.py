"""The procedures library in a real Chromium (1440×900): a PC admin finds one procedure among two hundred by
a word of its instructions, writes a new one (a draft, offered to no event), validates it, sees its instructions
in the new-event form, then opens an unforeseen event without a procedure on groups picked in order."""

from __future__ import annotations

import json
import re
import time

from playwright.sync_api import expect

from backend.db import transaction
from backend.procedures.models import Procedure, ProcedureStep
from tests.browser.conftest import screenshot
from tests.browser.test_console import console_login, create_event, operator_client, pages  # noqa: F401 (fixture)
from tests.browser.test_payroll_screen import header_overflows
from tests.factories import login

LIBRARY_SIZE = 200


def seed_library(live) -> None:
    world = live.world
    with transaction(live.app.state.runtime.session_factory) as session:
        for n in range(LIBRARY_SIZE):
            procedure = Procedure(organization_id=world.commune_id, category=f"Procédure {n:03d}",
                                  cap_category="Met" if n % 2 else "Infra",
                                  instructions=f"Consigne ordinaire numéro {n}.")
            procedure.steps = [ProcedureStep(position=0, group_id=world.tech_group_id, mode="solicit")]
            session.add(procedure)
        wall = Procedure(organization_id=world.commune_id, category="Effondrement de mur", cap_category="Geo",
                         instructions="Établir un périmètre de 50 m, prévenir le cadre.")
        wall.steps = [ProcedureStep(position=0, group_id=world.cadre_group_id, mode="solicit")]
        session.add(wall)


def test_search_create_validate_then_open_an_event_without_procedure(live, desk, pages):  # noqa: F811
    world = live.world
    seed_library(live)
    referent = live.client()
    referent.headers.update(login(referent, world.users["referent"]))
    draft = referent.post("/api/v1/procedures", json={
        "organization_id": world.commune_id, "category": "Brouillon du référent",
        "steps": [{"group_id": world.tech_group_id}]})
    assert draft.status_code == 201, draft.text

    page = pages(desk)
    console_login(page, world.users["admin"])
    page.wait_for_function("document.getElementById('clock').textContent !== ''")
    assert not header_overflows(page)
    page.click("a[data-nav=procedures]")
    page.select_option("#pr-org", str(world.commune_id))
    rows = page.locator(".pr-table tbody tr")
    expect(rows).to_have_count(LIBRARY_SIZE + 3)

    started = time.monotonic()
    page.fill("#pr-q", "perimetre")  # a word of the instructions, typed without its accent
    expect(rows).to_have_count(1)
    assert time.monotonic() - started < 2, "the search answers as one types"
    expect(rows.first).to_contain_text("Effondrement de mur")
    page.fill("#pr-q", "")
    page.select_option("#pr-cap", "Met")
    expect(rows).to_have_count(LIBRARY_SIZE // 2)
    page.select_option("#pr-cap", "")
    page.fill("#pr-q", "effondrement")
    expect(rows).to_have_count(1)
    rows.first.click()
    detail = page.get_by_test_id("procedure-detail")
    expect(detail.get_by_test_id("procedure-instructions")).to_contain_text("périmètre de 50 m")

    page.click("#pr-new")
    page.fill("#pr-form input[name=category]", "Fuite d'eau sur la voie")
    page.select_option("#pr-form select[name=cap_category]", "Infra")
    page.select_option("#pr-form select[name=default_severity]", "2")
    page.fill("#pr-form textarea[name=instructions]", "Faire couper l'eau au regard le plus proche.")
    page.select_option("#pr-add-group", label="Astreinte technique")
    page.select_option("#pr-add-group", label="Astreinte cadre")
    page.locator("#pr-steps li").nth(1).get_by_role("button", name="Monter").click()
    expect(page.locator("#pr-steps li .pr-step-name")).to_have_text(["Astreinte cadre", "Astreinte technique"])
    page.get_by_role("button", name="Enregistrer (brouillon)").click()
    expect(detail).to_contain_text("brouillon, jamais validée")
    versions = detail.get_by_test_id("procedure-versions")
    expect(versions).to_contain_text("Version 1")
    screenshot(page, "console-procedures")

    new_event = "#/nouvel-evenement"
    page.goto(f"/console/{new_event}")
    page.select_option("select[name=organization_id]", str(world.commune_id))
    options = page.locator("select[name=procedure_id] option")
    expect(options).to_contain_text(["Sans procédure (cas imprévu)"])
    labels = options.all_inner_texts()
    assert "Fuite d'eau sur la voie" not in labels and "Brouillon du référent" not in labels  # drafts are not offered

    page.click("a[data-nav=procedures]")
    page.select_option("#pr-org", str(world.commune_id))
    page.fill("#pr-q", "fuite d'eau")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Fuite d'eau sur la voie")
    rows.first.click()
    detail.get_by_role("button", name="Valider la version 1").click()
    expect(detail).to_contain_text("en service")
    expect(rows.first).to_contain_text("version 1")

    page.goto(f"/console/{new_event}")
    page.select_option("select[name=organization_id]", str(world.commune_id))
    page.select_option("select[name=procedure_id]", label="Fuite d'eau sur la voie")
    expect(page.get_by_test_id("procedure-help")).to_contain_text("couper l'eau au regard")
    screenshot(page, "console-new-event-instructions")
    expect(page.locator("input[name=severity][value='2']")).to_be_checked()  # the procedure's usual severity

    page.select_option("select[name=procedure_id]", label="Sans procédure (cas imprévu)")
    page.select_option("#adhoc-add", label="Astreinte technique")
    page.select_option("#adhoc-add", label="Astreinte cadre")
    page.locator(".adhoc-groups li").nth(1).get_by_role("button", name="Monter").click()
    page.fill("#adhoc-category", "Odeur suspecte")
    page.check("input[name=severity][value='3']")
    preview = page.get_by_test_id("preview")
    expect(preview.locator(".pv-gname")).to_have_text(["Astreinte cadre", "Astreinte technique"])
    page.fill("input[name=title]", "Odeur de solvant dans l'école")
    page.click("#confirm-event")
    expect(page).to_have_url(re.compile(r"#/evenement/\d+$"))
    event_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_test_id("event-procedure")).to_contain_text("Astreinte cadre → Astreinte technique")
    expect(page.get_by_test_id("trace")).to_contain_text("sans procédure")
    screenshot(page, "console-event-without-procedure")

    event = referent.get(f"/api/v1/events/{event_id}").json()
    assert (event["procedure_id"], event["category"]) == (None, "Odeur suspecte")
    assert event["pages"][0]["current_person_id"] == world.cadres[0]


def test_an_operator_reads_the_library_without_writing(live, desk, pages):  # noqa: F811
    page = pages(desk)
    console_login(page, live.world.users["operator"])
    page.goto("/console/#/procedures")
    page.select_option("#pr-org", str(live.world.commune_id))
    rows = page.locator(".pr-table tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("#pr-new")).to_be_hidden()
    rows.first.click()
    detail = page.get_by_test_id("procedure-detail")
    expect(detail).to_contain_text("Consultation seule")
    expect(detail.get_by_role("button", name="Modifier (nouvelle version)")).to_have_count(0)

    event = create_event(operator_client(live), live.world)
    page.goto(f"/console/#/evenement/{event['id']}")
    shown = page.get_by_test_id("event-procedure")
    expect(shown).to_contain_text("Procédure : Chute d'arbre sur la voirie")
    expect(shown).to_contain_text("version 1")


def test_the_referent_imports_a_file_previewed_first(live, desk, pages):  # noqa: F811
    world = live.world
    referent = live.client()
    referent.headers.update(login(referent, world.users["referent"]))
    document = referent.get(f"/api/v1/organizations/{world.commune_id}/procedures/export").json()
    document["procedures"].append({**document["procedures"][0], "category": "Chute de pylône",
                                   "instructions": "Éloigner le public."})
    page = pages(desk)
    console_login(page, world.users["referent"])
    page.goto("/console/#/procedures")
    rows = page.locator(".pr-table tbody tr")
    expect(rows).to_have_count(1)
    page.set_input_files("#pr-import", files=[{"name": "procedures.json", "mimeType": "application/json",
                                               "buffer": json.dumps(document).encode()}])
    preview = page.get_by_test_id("import-preview")
    expect(preview).to_contain_text("Nouvelles : Chute de pylône")
    expect(preview).to_contain_text("Inchangées : 1")
    expect(rows).to_have_count(1)  # a preview imports nothing
    preview.get_by_role("button", name="Importer").click()
    expect(rows).to_have_count(2)
    expect(page.locator(".pr-table tr", has_text="Chute de pylône")).to_contain_text("brouillon, jamais validée")
