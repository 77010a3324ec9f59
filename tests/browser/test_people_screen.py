"""The people screen in a real browser: the commune's referent finds a person, calls them from a tel:
link, sees and revokes their phones, sends a new installation link, reads who accessed their data,
exports it, and on departure deactivates then pseudonymises them."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from notifications.base import ChannelKind
from tests.browser.conftest import screenshot
from tests.browser.test_console import console_login, pages  # noqa: F401 (fixture)
from tests.browser.test_pwa import TECH1, enrol, enrolment_link
from tests.smoke.harness import wait_until


def test_the_referent_looks_after_a_person_from_the_people_screen(live, desk, phone, pages):  # noqa: F811
    world = live.world
    enrol(live, phone, enrolment_link(live, world.techs[0], TECH1))  # Tech Un has a phone
    page = pages(desk)
    page.on("dialog", lambda dialog: dialog.accept())
    console_login(page, world.users["referent"])
    page.click("a[data-nav=people]")
    page.fill("#pp-q", "tech un")
    page.get_by_role("link", name="Tech Un").click()

    expect(page.locator("a[href='tel:+33639980101']")).to_have_text("+33 6 39 98 01 01")
    devices = page.get_by_test_id("person-devices")
    expect(devices.locator("tbody tr")).to_have_count(1)
    expect(devices).to_contain_text("valable jusqu'au")
    log = page.get_by_test_id("access-log")
    expect(log).to_contain_text("Referent (referent)")
    expect(log).to_contain_text("a consulté")
    screenshot(page, "console-person")

    sms_before = len(live.channels.get(ChannelKind.SMS).sent)
    devices.get_by_role("button", name="par SMS").click()
    expect(page.locator(".toast").last).to_contain_text("Lien d'installation envoyé par SMS")
    wait_until(lambda: len(live.channels.get(ChannelKind.SMS).sent) > sms_before, timeout=10, what="the link's SMS")
    devices.get_by_role("button", name="Révoquer").click()
    expect(page.get_by_test_id("person-devices")).to_contain_text("révoqué le")

    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Exporter tout ce qui est détenu (JSON)").click()
    held = json.loads(open(downloaded.value.path(), encoding="utf-8").read())
    assert held["person"]["last_name"] == "Un" and held["devices"][0]["revoked_at"]

    page.get_by_role("button", name="Désactiver (départ)").click()
    expect(page.locator(".person-view h1")).to_contain_text("désactivée")
    page.get_by_role("button", name="Pseudonymiser").click()
    expect(page.locator(".person-view h1")).to_contain_text(f"Personne n°{world.techs[0]}")
    expect(page.get_by_test_id("access-log")).to_contain_text("a pseudonymisé")
    expect(page.get_by_text("+33 6 39 98 01 01")).to_have_count(0)


def test_an_operator_reaches_people_but_not_their_privacy_tools(live, desk, pages):  # noqa: F811
    page = pages(desk)
    console_login(page, live.world.users["operator"])
    page.goto(f"/console/#/personne/{live.world.techs[1]}")
    expect(page.locator("a[href='tel:+33639980102']")).to_be_visible()
    expect(page.get_by_test_id("person-devices")).to_have_count(0)
    expect(page.get_by_test_id("person-privacy")).to_have_count(0)
