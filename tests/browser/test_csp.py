"""Both apps work under their Content-Security-Policy (no inline script, no eval): a browser that
enforces it logs in, goes live, opens an event; the phone enrols and lists its pages — and reports
no violation."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import DESK, PHONE
from tests.browser.test_console import LIVE, console_login
from tests.browser.test_pwa import TECH1, enrolment_link, new_event

ENFORCED = {name: value for name, value in DESK.items() if name != "bypass_csp"}
ENFORCED_PHONE = {name: value for name, value in PHONE.items() if name != "bypass_csp"}


def watch_violations(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: seen.append(str(error)))
    return seen


def test_the_console_runs_under_its_policy(playwright_browser, live):
    context = playwright_browser.new_context(base_url=live.url, **ENFORCED)
    try:
        page = context.new_page()
        violations = watch_violations(page)
        console_login(page, live.world.users["operator"])
        event = new_event(live, title="Arbre sous politique")
        expect(page.get_by_text("Arbre sous politique").first).to_be_visible(timeout=10_000)
        expect(page.locator(LIVE)).to_be_visible()
        assert event["id"] and violations == []
    finally:
        context.close()


def test_the_phone_app_runs_under_its_policy(playwright_browser, live):
    context = playwright_browser.new_context(base_url=live.url, **ENFORCED_PHONE)
    context.grant_permissions(["notifications"], origin=live.url)
    try:
        page = context.new_page()
        violations = watch_violations(page)
        page.goto(enrolment_link(live, live.world.techs[0], TECH1))
        expect(page.locator("#step-enrol")).to_contain_text("Téléphone inscrit au nom de Tech Un")
        expect(page.locator("#step-push")).to_have_class(re.compile(r"\b(ok|ko)\b"), timeout=20000)
        new_event(live, title="Chute d'arbre sous politique")
        page.goto("/app/#/")
        expect(page.get_by_text("Chute d'arbre sous politique").first).to_be_visible(timeout=10_000)
        assert violations == []
    finally:
        context.close()
