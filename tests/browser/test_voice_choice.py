"""A PC admin chooses, in a real Chromium, when a commune's on-call staff are called: the choice is saved,
shown again, and a bad delay is said in French next to the form."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_admin_screens import api_as
from tests.browser.test_console import console_login, pages  # noqa: F401  (fixture)


def test_an_admin_chooses_the_communes_calls(live, desk, pages):  # noqa: F811
    page = pages(desk)
    console_login(page, live.world.users["admin"])
    page.click("#nav-admin")
    page.get_by_test_id("communes").locator(".adm-item", has_text="Ville de Chenôve").click()
    identity = page.get_by_test_id("commune-identity")
    expect(identity.locator("h2")).to_have_text("Ville de Chenôve")
    identity.get_by_label("Appel téléphonique à chaque sollicitation").select_option("3")
    minutes = identity.get_by_label("Appeler si le SMS reste sans réponse après (minutes, vide : jamais)")
    minutes.fill("500")
    identity.get_by_role("button", name="Enregistrer").click()
    expect(identity.locator(".form-error")).to_contain_text("de 1 à 120 minutes")
    minutes.fill("5")
    identity.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".toast", has_text="Commune enregistrée.")).to_be_visible()
    commune = api_as(live, "admin").get(f"/api/v1/organizations/{live.world.commune_id}").json()
    assert (commune["voice_from_severity"], commune["voice_after_sms_minutes"]) == (3, 5)
    page.reload()
    identity = page.get_by_test_id("commune-identity")
    expect(identity.get_by_label("Appel téléphonique à chaque sollicitation")).to_have_value("3")
