"""In a real Chromium: a PC admin writes a commune's procedure that escalates to the métropole's astreinte de
décision, offered in the form as « Métropole — … » beside the commune's own groups."""

from __future__ import annotations

from playwright.sync_api import expect

from backend.db import transaction
from tests.browser.test_console import console_login, pages  # noqa: F401 (fixture)
from tests.factories import _group, _person, login


def test_the_form_offers_the_metropoles_groups(live, desk, pages):  # noqa: F811
    world = live.world
    with transaction(live.app.state.runtime.session_factory) as session:
        decision = _person(session, world.metropole_id, "Élue", "Décision", 60, is_elected=True)
        group_id = _group(session, world.metropole_id, "Astreinte de décision", "elu", [decision]).id
        _group(session, world.foreign_metropole_id, "Astreinte d'ailleurs", "elu",
               [_person(session, world.foreign_metropole_id, "Élu", "Ailleurs", 70)])

    page = pages(desk)
    console_login(page, world.users["admin"])
    page.goto("/console/#/procedures")
    page.select_option("#pr-org", str(world.commune_id))
    expect(page.locator(".pr-table tbody tr")).to_have_count(1)
    page.click("#pr-new")
    labels = page.locator("#pr-add-group option").all_inner_texts()
    assert "Métropole — Astreinte de décision" in labels and "Astreinte technique" in labels
    assert not any("ailleurs" in label for label in labels)  # never another métropole's
    page.fill("#pr-form input[name=category]", "Crue, évacuation possible")
    page.select_option("#pr-add-group", label="Astreinte technique")
    page.select_option("#pr-add-group", label="Métropole — Astreinte de décision")
    expect(page.locator("#pr-steps li .pr-step-name")).to_have_text(
        ["Astreinte technique", "Métropole — Astreinte de décision"])
    page.get_by_role("button", name="Enregistrer et valider").click()
    expect(page.get_by_test_id("procedure-detail")).to_contain_text("en service")

    api = live.client()
    api.headers.update(login(api, world.users["admin"]))
    saved = next(p for p in api.get("/api/v1/procedures", params={"organization_id": world.commune_id}).json()
                 if p["category"] == "Crue, évacuation possible")
    assert [s["group_id"] for s in saved["steps"]] == [world.tech_group_id, group_id]
