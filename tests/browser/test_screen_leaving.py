"""Leaving a screen while a live update is on its way: the update lands in the screen that was left, never
in the next one (before, a render scheduled on the event view or the board just before the operator moved
on wrote into the next screen's nodes — "Cannot set properties of null" — and planning's click handlers
stayed on every later screen)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_console import console_login, create_event, open_event_view, operator_client, pages  # noqa: F401  (pages: fails the test on any uncaught error)
from tests.browser.test_planning_screens import open_planning, set_rotation

# Resolves after one real frame: a render scheduled before the hold has run by then, so the next change's
# render is scheduled anew (a screen schedules at most one at a time) and lands among the held ones.
HOLD_FRAMES = """() => {
  window.__heldFrames = [];
  window.__realFrame = window.requestAnimationFrame;
  window.requestAnimationFrame = (callback) => window.__heldFrames.push(callback);
  return new Promise((resolve) => window.__realFrame(() => resolve(true)));
}"""
# Released through the real requestAnimationFrame: an exception in a render is an uncaught page error.
RELEASE_FRAMES = """() => {
  window.requestAnimationFrame = window.__realFrame;
  for (const callback of window.__heldFrames.splice(0)) window.__realFrame(callback);
}"""


def test_a_live_update_for_the_event_left_does_not_write_into_the_next_screen(live, desk, pages):
    world = live.world
    client = operator_client(live)
    event = create_event(client, world)
    page = pages(desk)
    console_login(page, world.users["operator"])
    trace = open_event_view(page, event)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")

    page.evaluate(HOLD_FRAMES)
    # A note lands live: the event view (and the board's store) schedule their render for the next frame.
    note = client.post(f"/api/v1/events/{event['id']}/responses", json={"kind": "note", "text": "Arrivée police"})
    assert note.status_code == 201, note.text
    page.wait_for_function("window.__heldFrames.length > 0")
    page.click("nav >> text=Appels")  # the operator moves on before that frame
    expect(page.locator("[data-testid=calls-view] h1")).to_have_text("Journal d'appels")
    page.evaluate(RELEASE_FRAMES)
    page.wait_for_timeout(300)  # let the released frames run
    expect(page.locator("[data-testid=calls-view] h1")).to_have_text("Journal d'appels")

    # And back on the event, the note is there (the store kept it).
    page.go_back()
    page.wait_for_url(f"**/console/#/evenement/{event['id']}")
    expect(trace.locator("[data-kind='response.note']")).to_contain_text("Arrivée police")


def test_planning_clicks_do_not_follow_the_operator_to_other_screens(live, desk, pages):
    set_rotation(live)
    page = pages(desk)
    console_login(page, live.world.users["admin"])
    for _ in range(2):  # mounted twice: twice the handlers on the shared root, before
        open_planning(page, live)
        page.click("nav >> text=Tableau de bord")
        expect(page.locator("[data-testid=board]")).to_be_visible()
    open_planning(page, live)
    shift = page.locator(f".pl-track[data-group-id='{live.world.tech_group_id}'] .pl-shift.editable").first
    shift.click()
    expect(page.locator("dialog[open]")).to_have_count(1)
    expect(page.locator("dialog[open]")).to_contain_text("Ajouter un remplacement")
