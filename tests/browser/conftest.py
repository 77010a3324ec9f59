"""Browser tests: Debian's chromium driven by Playwright, against a real server on loopback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.factories import build_world
from tests.smoke.harness import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Playwright's wait_for_function evaluates a string in the page, which the apps' Content-Security-
# Policy forbids: the tests bypass it, and tests/browser/test_csp.py runs both apps under it.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "fr-FR", "timezone_id": "Europe/Paris", "bypass_csp": True}
DESK = {"viewport": {"width": 1440, "height": 900}, "locale": "fr-FR", "timezone_id": "Europe/Paris",
        "bypass_csp": True}


# Module scope: Playwright's sync API keeps an event loop running in this thread while it is
# open, and every later `asyncio.run()` (the channel tests) would refuse to start.
@pytest.fixture(scope="module")
def playwright_browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI_REQUIRE_BROWSER"):
            pytest.fail("CI requires chromium for the browser tests (make test installs it)")
        pytest.skip("chromium is not installed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(settings, recording_channels):
    """The whole app with its worker on a free port; `live.world` is the test world."""
    from backend.app import create_app

    settings.public_url = "http://127.0.0.1:{port}"
    app = create_app(settings, channels=recording_channels, run_worker=True)
    server = LiveServer(app)
    settings.public_url = server.url
    with server:
        server.world = build_world(app.state.runtime.session_factory, ack_timeout_s=120)
        server.channels = recording_channels
        yield server


@pytest.fixture
def phone(playwright_browser, live):
    context = playwright_browser.new_context(base_url=live.url, **PHONE)
    context.grant_permissions(["notifications"], origin=live.url)
    yield context
    context.close()


@pytest.fixture
def desk(playwright_browser, live):
    context = playwright_browser.new_context(base_url=live.url, **DESK)
    yield context
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
