"""A drill seen by its people: the console's « Exercice » box opens one, the board, the event and the phone
say « EXERCICE » on it, and a real event beside it says nothing of the kind."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_console import card, console_login, create_event, operator_client, pages  # noqa: F401
from tests.browser.test_pwa import enrol, new_event
from tests.factories import login


def test_the_exercice_box_opens_a_drill_badged_on_the_board_and_in_the_event(live, desk, pages):  # noqa: F811
    world = live.world
    page = pages(desk)
    console_login(page, world.users["operator"])
    real = create_event(operator_client(live), world, title="Vraie chute d'arbre")

    page.click("nav >> text=Nouvel événement")
    page.select_option("select[name=organization_id]", str(world.commune_id))
    expect(page.locator("select[name=procedure_id]")).to_have_value(str(world.procedure_id))
    page.check("input[name=severity][value='3']")
    page.fill("input[name=title]", "Exercice inondation du sous-sol")
    box = page.locator("[data-testid=exercise-box]")
    expect(box).not_to_be_checked()
    box.check()
    confirm = page.locator("#confirm-event")
    expect(confirm).to_be_enabled()
    confirm.click()

    page.wait_for_url("**/console/#/evenement/*")
    expect(page.locator(".ev-title [data-testid=exercise-badge]")).to_have_text("EXERCICE")
    client = operator_client(live)
    drill = next(e for e in client.get("/api/v1/events").json() if e["title"] == "Exercice inondation du sous-sol")
    assert drill["exercise"] is True

    page.click("nav >> text=Tableau de bord")
    expect(card(page, drill).locator("[data-testid=exercise-badge]")).to_have_text("EXERCICE")
    expect(card(page, real)).to_be_visible()
    expect(card(page, real).locator("[data-testid=exercise-badge]")).to_have_count(0)
    screenshot(page, "console-board-exercise")


def test_the_phone_says_exercice_on_a_drill(live, phone):
    page = enrol(live, phone)
    real = new_event(live, title="Vraie fuite d'eau")
    http = operator_client(live)
    drill = http.post("/api/v1/events", json={
        "organization_id": live.world.commune_id, "procedure_id": live.world.procedure_id, "severity": 3,
        "title": "Exercice fuite de gaz", "place": "école Jules Ferry", "exercise": True})
    assert drill.status_code == 201, drill.text
    page.goto("/app/#/")
    drill_card = page.locator("a.card", has_text="Exercice fuite de gaz")
    expect(drill_card.locator("[data-testid=exercise-badge]")).to_have_text("EXERCICE")
    expect(page.locator("a.card", has_text=real["title"]).locator("[data-testid=exercise-badge]")).to_have_count(0)
    drill_card.click()
    expect(page.locator(".head [data-testid=exercise-badge]")).to_have_text("EXERCICE")
    screenshot(page, "pwa-exercise")


def test_the_dashboard_shows_drills_apart(live, desk, pages):  # noqa: F811
    world = live.world
    client = operator_client(live)
    create_event(client, world, title="Vraie chute d'arbre")
    drill = create_event(client, world, title="Exercice crue", exercise=True)
    tech = live.client()
    tech.headers.update(login(tech, world.users["oncall"]))
    assert tech.post(f"/api/v1/events/{drill['id']}/responses", json={"kind": "ack"}).status_code == 201
    page = pages(desk)
    console_login(page, world.users["operator"])
    page.click("nav >> text=Indicateurs")
    drills = page.locator("[data-testid=tile-exercises]")
    expect(drills).to_contain_text("Exercices (hors convention)")
    expect(drills.locator(".tile-value")).to_have_text("1")
    expect(drills).to_contain_text("première action dans l'heure : 100")
    expect(drills).to_contain_text("Astreinte technique : acquittement en")
    expect(page.locator("[data-testid=tile-events] .tile-value")).to_have_text("1")


def test_the_event_screen_downloads_the_event_as_a_cap_alert(live, desk, pages):  # noqa: F811
    world = live.world
    event = create_event(operator_client(live), world, title="Exercice crue", exercise=True)
    page = pages(desk)
    console_login(page, world.users["operator"])
    page.goto(f"/console/#/evenement/{event['id']}")
    with page.expect_download() as info:
        page.click("#cap-export")
    path = info.value.path()
    assert info.value.suggested_filename == f"evenement-{event['number']}.cap.xml"
    xml = open(path, "rb").read()
    assert b"urn:oasis:names:tc:emergency:cap:1.2" in xml and b"<status>Exercise</status>" in xml
