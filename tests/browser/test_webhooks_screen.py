"""Administration › Webhooks in a real Chromium: a commune's referent subscribes a receiver (its secret shown
once), tests it, sees each delivery's status, sends one again; a refusal is said in French."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_console import console_login, pages  # noqa: F401  (fixture)
from tests.browser.test_csp import watch_violations
from tests.factories import PASSWORD
from tests.peers.webhook_receiver import Receiver
from tests.smoke.harness import login


@pytest.fixture
def settings(settings):
    settings.webhook_internal_networks = ["127.0.0.0/8"]  # the receiver listens on loopback
    return settings


def test_a_referent_subscribes_a_receiver_tests_it_and_sends_a_delivery_again(live, desk, pages):  # noqa: F811
    page = pages(desk)
    page.on("dialog", lambda dialog: dialog.accept())
    violations = watch_violations(page)
    console_login(page, live.world.users["referent"])
    page.goto("/console/#/admin/webhooks")
    expect(page.get_by_test_id("webhooks")).to_be_visible()
    expect(page.locator(".adm-tabs a.active")).to_have_text("Webhooks")
    expect(page.locator(".adm-commune")).to_contain_text("Ville de Chenôve")  # their commune only

    with Receiver() as receiver:
        form = page.locator("#wh-new")
        form.get_by_label("Adresse (https://)").fill("http://supervision.example.org/vigie")
        form.get_by_label("Description").fill("Supervision de la ville")
        form.get_by_role("button", name="Créer le webhook").click()
        expect(form.locator(".form-error")).to_contain_text("https://")
        expect(form.get_by_label("Description")).to_have_value("Supervision de la ville")  # nothing typed lost

        form.get_by_label("Adresse (https://)").fill(receiver.url)
        form.get_by_label("Toutes").uncheck()
        form.get_by_label("Événement créé").check()
        form.get_by_role("button", name="Créer le webhook").click()
        secret_box = page.get_by_test_id("webhook-secret")
        expect(secret_box).to_contain_text("il ne sera plus affiché")
        receiver.secret = secret_box.locator(".wh-secret-value").inner_text().strip()
        assert receiver.secret.startswith("whsec_")
        screenshot(page, "console-admin-webhooks")

        page.get_by_role("button", name="Tester").click()
        ping = receiver.wait_for(1)[0]
        assert ping["signed"] and ping["body"]["entry"]["kind"] == "ping"
        table = page.get_by_test_id("webhook-deliveries")
        expect(table.locator("tbody tr").first).to_contain_text("remis", timeout=10_000)
        expect(table.locator("tbody tr").first).to_contain_text("200")

        # An event of the commune: its creation goes out, signed; the pages it starts were not asked for.
        http = live.client()
        http.headers.update(login(http, live.world.users["operator"], PASSWORD))
        http.post("/api/v1/events", json={"organization_id": live.world.commune_id,
                                          "procedure_id": live.world.procedure_id, "title": "Arbre tombé"})
        created = receiver.wait_for(2)[1]
        assert created["signed"] and created["body"]["entry"]["kind"] == "event.created"
        page.get_by_role("button", name="Actualiser").click()
        expect(table.locator("tbody tr")).to_have_count(2)
        expect(table.locator("tbody tr").first).to_contain_text("Événement créé")

        table.locator("tbody tr").first.get_by_role("button", name="Renvoyer").click()
        again = receiver.wait_for(3)[2]
        assert again["body"]["id"] == created["body"]["id"] and again["signed"]

        # Back on the list, the secret is not shown again.
        page.goto("/console/#/admin/communes")
        page.goto("/console/#/admin/webhooks")
        expect(page.get_by_test_id("webhook-detail")).to_be_visible()
        expect(page.get_by_test_id("webhook-secret")).to_have_count(0)
        assert receiver.secret not in page.content()

        detail = page.get_by_test_id("webhook-detail")
        detail.get_by_label("Actif").uncheck()
        detail.get_by_role("button", name="Enregistrer").click()
        expect(page.locator(".wh-disabled")).to_contain_text("Désactivé")
        expect(detail.get_by_role("button", name="Tester")).to_be_disabled()
    assert violations == []
