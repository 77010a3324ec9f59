"""« Projeter » shows what the « Indicateurs » screen shows (one rendering): the same figures, the same French
rounding, the period said with its last day included — and the CSV says that same last day."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_console import console_login, create_event, operator_client, pages  # noqa: F401  (pages: the console's page fixture)
from tests.browser.test_console_issue6 import downloaded, reports_to_direction

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]


def test_the_projection_shows_the_screens_figures_and_the_last_day_included(live, desk, pages):
    world = live.world
    reports_to_direction(live)
    client = operator_client(live)
    events = [create_event(client, world, title=f"Arbre n° {n}") for n in range(8)]
    # One event closed by the PC at once (its report is sent); nobody answers the seven others.
    assert client.post(f"/api/v1/events/{events[0]['id']}/close", json={"reason": "Voie dégagée"}).status_code == 200

    page = pages(desk)
    console_login(page, world.users["operator"])
    page.click("nav >> text=Indicateurs")
    view = page.locator("[data-testid=dashboard]")
    view.locator("#db-org").select_option(str(world.commune_id))
    today = datetime.now(ZoneInfo("Europe/Paris"))
    view.locator("input[name=from]").fill(f"01/{today:%m/%Y}")
    view.locator("input[name=to]").fill(f"{today:%d/%m/%Y}")
    view.get_by_role("button", name="Afficher").click()

    reports = view.locator("[data-testid=tile-reports]")
    expect(reports).to_contain_text("0,13")  # 1 report for 8 events: 0.125, rounded as a French reader expects
    within_hour = view.locator("[data-testid=tile-within-hour]")
    expect(within_hour).to_contain_text("12,5 %")  # the automatic paging of the seven others is no action
    expect(within_hour).to_contain_text("7 sans action")
    expect(view.locator("[data-testid=first-action-definition]")).to_contain_text("première réponse humaine")
    last_day = f"{today.day} {MONTHS[today.month - 1]} {today.year}"
    expect(view.locator("#db-period-text")).to_contain_text(f"au {last_day}")
    on_screen = view.locator("#db-tiles").inner_text()
    charts_on_screen = view.locator("#db-charts").inner_text()

    view.get_by_role("button", name="Projeter").click()
    page.wait_for_function("document.fullscreenElement?.dataset.testid === 'dashboard-projection'")
    projected = page.locator("[data-testid=dashboard-projection]")
    expect(projected.locator("#db-projection-title")).to_contain_text("Ville de Chenôve")
    expect(projected.locator("#db-projection-period")).to_have_text(f"Du 1 {MONTHS[today.month - 1]} {today.year} au {last_day}")
    assert projected.locator("#db-tiles").inner_text() == on_screen
    assert projected.locator("#db-charts").inner_text() == charts_on_screen
    expect(projected.locator("[data-testid=tile-reports]")).to_contain_text("0,13")
    expect(projected.locator("[data-testid=first-action-definition]")).to_be_visible()
    screenshot(page, "console-dashboard-projected")
    page.evaluate("document.exitFullscreen()")
    page.wait_for_function("!document.fullscreenElement")

    # A browser that refuses full screen: the same block over the whole window, Échap gives the screen back.
    page.evaluate("() => { Element.prototype.requestFullscreen = () => Promise.reject(new TypeError('refusé')); }")
    view.get_by_role("button", name="Projeter").click()
    expect(projected).to_have_class(re.compile(r"\bprojecting\b"))
    expect(projected.locator("#db-projection-period")).to_be_visible()
    assert projected.bounding_box()["width"] == 1440
    assert projected.locator("#db-tiles").inner_text() == on_screen
    page.keyboard.press("Escape")
    expect(projected).not_to_have_class(re.compile(r"\bprojecting\b"))
    expect(projected.locator("#db-projection-period")).to_be_hidden()

    # The CSV of that period names the same last day.
    name, body = downloaded(page, lambda: view.get_by_role("button", name="Exporter CSV").click())
    assert name == f"indicateurs-{today:%Y%m}01-{today:%Y%m%d}.csv"
    lines = body.decode("utf-8-sig").splitlines()
    assert f"période;au (inclus);{today:%d/%m/%Y};" in lines
    assert "rapports;rapports par événement;0,125;1" in lines
