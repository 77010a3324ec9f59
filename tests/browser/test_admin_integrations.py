"""Administration › Intégrations in a real Chromium: a PC admin creates a key for the hyperviseur, sees it once
(copied with a button), maps the source's severities and categories, the key opens an event, and once
revoked it is refused — its secret never shown again in the list."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_console import console_login, pages  # noqa: F401  (fixture)
from tests.browser.test_csp import ENFORCED, watch_violations


def test_an_admin_creates_a_key_sees_it_once_maps_it_and_revokes_it(live, desk, pages):  # noqa: F811
    desk.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    page = pages(desk)
    page.on("dialog", lambda dialog: dialog.accept())
    console_login(page, live.world.users["admin"])
    page.goto("/console/#/admin/integrations")
    section = page.get_by_test_id("integrations")
    expect(section).to_be_visible()
    expect(page.locator(".adm-tabs a.active")).to_have_text("Intégrations")

    form = page.locator("#adm-new-int")
    form.get_by_label("Nom du système").fill("Hyperviseur urbain")
    form.get_by_label("Pour").select_option(label="Ville de Chenôve")
    form.get_by_role("button", name="Créer la clé").click()
    secret = page.get_by_test_id("integration-secret")
    expect(secret).to_be_visible()
    key = secret.locator("[data-secret]").input_value()
    assert key.startswith("vigie_") and len(key) > 40
    secret.get_by_role("button", name="Copier").click()
    assert page.evaluate("navigator.clipboard.readText()") == key
    row = page.locator("tr[data-integration-id]", has_text="Hyperviseur urbain")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("jamais")
    screenshot(page, "admin-integrations-secret")
    secret.get_by_role("button", name="J'ai copié la clé").click()
    expect(secret).to_have_count(0)
    assert key not in page.content()

    # Rules: MAJOR is « 2 · Modéré », the category « voirie » follows the commune's procedure.
    row.get_by_role("button", name="Règles").click()
    rules = page.get_by_test_id("integration-rules")
    rules.get_by_role("button", name="Ajouter une gravité").click()
    rules.locator("[name=source]").fill("MAJOR")
    rules.locator("[name=level]").select_option("2")
    rules.get_by_role("button", name="Ajouter une catégorie").click()
    rules.locator("[name=category]").fill("voirie")
    rules.locator("[name=target]").select_option(label="Procédure : Chute d'arbre sur la voirie")
    rules.get_by_role("button", name="Enregistrer les règles").click()
    expect(page.locator(".toast", has_text="Règles enregistrées")).to_be_visible()

    http = live.client({"Authorization": f"Bearer {key}"})
    opened = http.post("/api/v1/ingest/alarms", json={"source": "GTC", "alarm_key": "PR-12", "severity": "MAJOR",
                                                      "category": "voirie", "title": "Niveau haut"})
    assert opened.status_code == 201, opened.text
    assert opened.json()["severity"] == 2

    row.get_by_role("button", name="Révoquer").click()
    expect(row).to_contain_text("Révoquée")
    expect(row).to_contain_text("par Admin")
    expect(row.get_by_role("button", name="Révoquer")).to_have_count(0)
    refused = http.post("/api/v1/ingest/alarms", json={"source": "GTC", "alarm_key": "PR-13"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    page.reload()
    expect(page.locator("tr[data-integration-id]", has_text="Hyperviseur urbain")).to_contain_text("Révoquée")
    assert key not in page.content()


def test_a_referent_makes_keys_for_their_commune_only(live, playwright_browser):
    context = playwright_browser.new_context(base_url=live.url, **ENFORCED)  # under the console's CSP
    page = context.new_page()
    violations = watch_violations(page)
    console_login(page, live.world.users["referent"])
    page.goto("/console/#/admin/integrations")
    owner = page.locator("#adm-new-int").get_by_label("Pour")
    expect(owner.locator("option")).to_have_count(1)
    expect(owner.locator("option")).to_have_text("Ville de Chenôve")
    form = page.locator("#adm-new-int")
    form.get_by_label("Nom du système").fill("Téléphonie de la mairie")
    form.get_by_label("Alarmes → événements").uncheck()
    form.get_by_role("button", name="Créer la clé").click()
    alert = form.locator(".form-error")
    expect(alert).to_have_text("Vérifiez : cochez au moins un droit.")
    form.get_by_label("Appels (téléphonie)").check()
    form.get_by_role("button", name="Créer la clé").click()
    expect(page.get_by_test_id("integration-secret")).to_be_visible()
    row = page.locator("tr[data-integration-id]", has_text="Téléphonie de la mairie")
    expect(row).to_contain_text("Appels (téléphonie)")
    expect(row.get_by_role("button", name="Règles")).to_have_count(0)  # no alarms, no rules
    assert violations == []
    context.close()
