"""« Tester mes alertes » on the technician's phone, where the PC places calls: the screen shows the call
ringing, then « reçu » once key 1 was pressed during it — played by the local Twilio against the real
server. Where no call is configured, the screen says nothing about calls."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from notifications.voice_twilio import VoiceChannel
from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_pwa import (
    TECH1,
    assert_french,
    enrol,
    no_script_errors,  # noqa: F401  (autouse: no uncaught error in the page)
)
from tests.factories import build_world
from tests.peers.twilio_voice import FakeTwilioVoice
from tests.smoke.harness import LiveServer, wait_until


@pytest.fixture
def twilio():
    with FakeTwilioVoice() as fake:
        yield fake


@pytest.fixture
def live_calling(settings, recording_channels, twilio):
    """The whole app with its worker, placing calls through the local Twilio."""
    from backend.app import create_app

    settings.voice_providers = [twilio.provider_url()]
    app = create_app(settings, channels=recording_channels, run_worker=True)
    server = LiveServer(app)
    settings.public_url = server.url  # Twilio signs the URLs it calls: the server's own
    recording_channels.register(VoiceChannel(settings.voice_providers, public_url=server.url))
    with server:
        server.world = build_world(app.state.runtime.session_factory, ack_timeout_s=120)
        server.channels = recording_channels
        yield server


def twilio_posts(live, request) -> str:
    url, body, headers = request
    answer = live.client().post(url.removeprefix(live.url), content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.text


def open_test(page):
    page.goto("/app/#/devices/test")
    expect(page.get_by_role("heading", name="Tester mes alertes")).to_be_visible()
    page.get_by_role("button", name="Tester mes alertes").click()
    return page.locator("#test-result")


def test_the_test_call_shows_ringing_then_recu_once_1_is_pressed(live_calling, playwright_browser, twilio):
    context = playwright_browser.new_context(base_url=live_calling.url, **PHONE)
    context.grant_permissions(["notifications"], origin=live_calling.url)
    page = enrol(live_calling, context)
    result = open_test(page)
    call_row = result.locator("[data-channel=voice]")
    expect(call_row).to_contain_text(f"Appel — {TECH1}")
    call = wait_until(lambda: twilio.calls and twilio.calls[0], timeout=15, what="the test call")
    expect(call_row).to_contain_text("appel en cours", timeout=10000)
    expect(result).to_contain_text("Vigie vous appelle : décrochez et tapez 1")

    said = twilio_posts(live_calling, twilio.pick_up(call))
    assert "Ceci est un appel de test" in said
    action = said.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "les appels de Vigie vous parviennent" in twilio_posts(live_calling, twilio.press(call, action, "1"))

    expect(call_row).to_have_attribute("data-status", "received", timeout=10000)  # the screen polls by itself
    expect(call_row).to_contain_text("reçu")
    expect(result).to_contain_text("L'appel vous est parvenu : vous avez tapé 1.")
    assert_french(page)
    screenshot(page, "pwa-phone-test-call")
    context.close()


def test_without_calls_the_test_screen_says_nothing_about_calls(live, phone):
    page = enrol(live, phone)
    result = open_test(page)
    expect(result.locator("[data-channel=sms]")).to_contain_text(f"SMS — {TECH1}")
    expect(result.locator("[data-channel=voice]")).to_have_count(0)
    assert "appel" not in result.inner_text().lower()
