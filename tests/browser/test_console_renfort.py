"""« Renfort » at the PC (issue 16): a technician's call for reinforcement rings in the console, with sound, until
an operator clicks « Pris en compte » — then every console stops ringing for it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_console import card, console_login, create_event, operator_client, pages  # noqa: F401
from tests.factories import login


def test_a_call_for_reinforcement_rings_until_an_operator_takes_note(live, desk, pages):  # noqa: F811
    world = live.world
    page = pages(desk)
    console_login(page, world.users["operator"])
    event = create_event(operator_client(live), world, title="Arbre sur la chaussée")
    tech = live.client()
    tech.headers.update(login(tech, world.users["oncall"]))
    assert tech.post(f"/api/v1/events/{event['id']}/responses", json={"kind": "ack"}).status_code == 201
    beeps = page.evaluate("window.vigieConsole.sound.beeps")
    asked = tech.post(f"/api/v1/events/{event['id']}/responses", json={"kind": "need_help", "text": "tronc trop gros"})
    assert asked.status_code == 201, asked.text

    ringing = card(page, event)
    box = ringing.locator(".help-alarm")
    expect(box).to_be_visible(timeout=10_000)
    expect(box).to_contain_text("Renfort demandé")
    expect(box).to_contain_text("tronc trop gros")
    expect(box).to_contain_text("Astreinte cadre")  # the cadre on call is being paged
    expect(page.locator(f".card.alarm-ringing[data-event-id='{event['id']}']")).to_be_visible()
    expect(page.locator("#alarm-indicator")).to_have_text("1 renfort demandé")
    assert page.evaluate("window.vigieConsole.sound.beeps") > beeps
    screenshot(page, "console-renfort")

    box.locator("button:has-text('Pris en compte')").click()
    expect(ringing.locator(".help-alarm")).to_have_count(0, timeout=10_000)
    expect(page.locator("#alarm-indicator")).to_be_hidden()
    detail = operator_client(live).get(f"/api/v1/events/{event['id']}").json()
    assert next(r for r in detail["responses"] if r["kind"] == "need_help")["noted_at"] is not None
    beeps = page.evaluate("window.vigieConsole.sound.beeps")
    page.wait_for_timeout(8500)  # past the repeat period: noted means silent
    assert page.evaluate("window.vigieConsole.sound.beeps") == beeps


def test_an_inform_step_offers_toute_la_liste_in_the_procedure_form(live, desk, pages):  # noqa: F811
    world = live.world
    page = pages(desk)
    console_login(page, world.users["admin"])
    page.click("a[data-nav=procedures]")
    page.select_option("#pr-org", str(world.commune_id))
    page.click("#pr-new")
    page.fill("#pr-form input[name=category]", "Crue de l'Ouche")
    page.select_option("#pr-add-group", label="Astreinte technique")
    page.select_option("#pr-add-group", label="Astreinte élu")
    elu = page.locator("#pr-steps li").nth(1)
    expect(elu.locator("[data-all]")).to_have_count(0)  # a solicited group: nothing to choose
    elu.locator("select[data-mode]").select_option("inform")
    expect(elu.get_by_label("toute la liste")).not_to_be_checked()
    elu.get_by_label("toute la liste").check()
    page.click("#pr-save-validate")
    admin = live.client()
    admin.headers.update(login(admin, world.users["admin"]))
    for _ in range(50):
        found = [p for p in admin.get("/api/v1/procedures").json() if p["category"] == "Crue de l'Ouche"]
        if found:
            break
        page.wait_for_timeout(100)
    assert [(s["mode"], s["inform_all"]) for s in found[0]["steps"]] == [("solicit", False), ("inform", True)]
