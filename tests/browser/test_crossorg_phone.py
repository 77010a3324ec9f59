"""In a real Chromium, on the phone of the métropole's élue (its astreinte de décision): a commune's event that
pages her opens with « Je prends »; one her group is only informed of opens to be read, with nothing to answer."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from backend.db import transaction
from tests.browser.conftest import screenshot
from tests.browser.test_pwa import (
    as_operator,
    enrolment_link,
    event_detail,
    no_script_errors,  # noqa: F401  (autouse: no uncaught error in the page)
)
from tests.factories import _group, _person, login
from tests.smoke.harness import wait_until

DECISION_SMS = "+33639980160"


def decision_phone(live, phone):
    """The élue's phone, enrolled; and her group's id."""
    world = live.world
    with transaction(live.app.state.runtime.session_factory) as session:
        decision = _person(session, world.metropole_id, "Élue", "Décision", 60, is_elected=True)
        group_id = _group(session, world.metropole_id, "Astreinte de décision", "elu", [decision]).id
        person_id = decision.id
    page = phone.new_page()
    page.goto(enrolment_link(live, person_id, DECISION_SMS))
    expect(page.locator("#step-enrol")).to_contain_text("Téléphone inscrit au nom de Élue Décision")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    return page, group_id


def test_the_metropoles_elue_takes_a_communes_event_from_her_phone(live, phone):
    page, group_id = decision_phone(live, phone)
    http, operator = as_operator(live)
    opened = http.post("/api/v1/events", headers=operator, json={
        "organization_id": live.world.commune_id, "group_ids": [group_id], "severity": 3,
        "title": "Digue fissurée", "place": "quai de l'Ouche"})
    assert opened.status_code == 201, opened.text
    event_id = opened.json()["id"]

    page.goto("/app/#/")
    expect(page.locator(".card .title")).to_have_text(["Digue fissurée"])
    page.goto(f"/app/#/event/{event_id}")
    expect(page.locator("#ev-head")).to_contain_text("Ville de Chenôve")
    expect(page.locator("#ev-head")).to_contain_text("Vous êtes sollicité")
    page.get_by_role("button", name="Je prends").click()
    expect(page.get_by_role("button", name="Sur place")).to_be_visible()
    wait_until(lambda: event_detail(live, event_id)["pages"][0]["status"] == "acknowledged", what="her ack")


def test_an_event_her_group_is_only_informed_of_opens_to_be_read(live, phone):
    page, group_id = decision_phone(live, phone)
    http, operator = as_operator(live)
    admin = login(http, live.world.users["admin"])
    procedure = http.post("/api/v1/procedures", headers=admin, json={
        "organization_id": live.world.commune_id, "category": "Pollution de l'Ouche", "validate": True,
        "steps": [{"group_id": live.world.tech_group_id}, {"group_id": group_id, "mode": "inform"}]})
    assert procedure.status_code == 201, procedure.text
    opened = http.post("/api/v1/events", headers=operator, json={
        "organization_id": live.world.commune_id, "procedure_id": procedure.json()["id"], "severity": 3,
        "title": "Nappe d'hydrocarbures"})
    assert opened.status_code == 201, opened.text
    event_id = opened.json()["id"]

    page.goto("/app/#/")
    expect(page.locator("h2", has_text="Pour information")).to_be_visible()
    expect(page.locator(".card .title")).to_have_text(["Nappe d'hydrocarbures"])
    page.locator(".card").click()  # as the information's push opens it
    expect(page).to_have_url(re.compile(rf"#/event/{event_id}$"))
    expect(page.locator("#ev-head")).to_contain_text("Pour information — aucune réponse ne vous est demandée")
    expect(page.locator("#ev-head")).to_contain_text("Ville de Chenôve")
    expect(page.locator("#ev-trace")).to_contain_text("Événement ouvert")
    screenshot(page, "pwa-metropole-informed")
    for answer in ("Je prends", "Indisponible", "Sur place", "Envoyer la note"):
        expect(page.get_by_role("button", name=answer)).to_have_count(0)
    expect(page.locator("#note")).to_have_count(0)
