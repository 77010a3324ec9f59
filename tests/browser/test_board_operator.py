"""What the operator stumbled on, tried again in a real browser: numbers to call (tel: links) wherever someone is
named, « Pas de réponse à temps », answering for anyone on call in the commune, compact cards (six above the
fold at 1440×900), the keyboard, the field's photos in the event and in its report, and badges readable (4.5:1)."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import DESK, screenshot
from tests.browser.test_console import card, console_login, create_event, operator_client, pages  # noqa: F401
from tests.factories import login

MOBILE = {1: "+33639980101", 2: "+33639980102", 3: "+33639980103"}


def fast_procedure(live, timeout_s: int = 1) -> int:
    """Technicians only, one round, `timeout_s` each: the alarm comes within seconds."""
    admin = live.client()
    admin.headers.update(login(admin, live.world.users["admin"]))
    created = admin.post("/api/v1/procedures", json={
        "organization_id": live.world.commune_id, "category": "Alerte capteur de crue",
        "timings": {"2": {"ack_timeout_s": timeout_s, "repeats": 0}},
        "steps": [{"group_id": live.world.tech_group_id}], "validate": True})  # an admin: usable at once
    assert created.status_code == 201, created.text
    return created.json()["id"]


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_compact_cards_with_numbers_to_call_and_the_keyboard(live, desk, pages):  # noqa: F811
    world = live.world
    client = operator_client(live)
    events = [create_event(client, world, title=f"Arbre sur la chaussée n° {n}") for n in range(1, 8)]
    page = pages(desk)
    console_login(page, world.users["operator"])
    board = page.locator("[data-testid=board]")
    expect(board.locator(".card")).to_have_count(7)
    first = card(page, events[0])
    expect(first.locator("[data-testid=chain-now]")).to_contain_text("1/5 · Tech Un")
    expect(first.locator("[data-testid=chain-now]")).to_contain_text("Remis")
    expect(first.locator(f"[data-testid=chain-now] a.tel[href='tel:{MOBILE[1]}']")).to_have_text("+33 6 39 98 01 01")
    expect(first.locator("a.tel[href='tel:+33639980199']")).to_be_visible()  # the caller's number
    screenshot(page, "board-compact")

    # Six events at least, whole, above the fold of a 1440×900 screen.
    whole = page.evaluate("""() => [...document.querySelectorAll('.card')]
        .filter((c) => c.getBoundingClientRect().bottom <= window.innerHeight).length""")
    assert whole >= 6, f"only {whole} cards wholly visible at 1440×900"

    # The chain unfolds on demand, with each person's number.
    chain = first.locator(".pages")
    expect(chain).to_be_hidden()
    first.locator("[data-unfold]").click()
    expect(chain).to_be_visible()
    expect(chain.locator(f"[data-person-id='{world.techs[1]}'] a.tel")).to_have_attribute("href", f"tel:{MOBILE[2]}")
    first.locator("[data-unfold]").click()
    expect(chain).to_be_hidden()

    # Tab goes from card to card (their inner links and buttons between), Enter opens, Escape comes back.
    ids = board.locator(".card").evaluate_all("(cards) => cards.map((c) => c.dataset.eventId)")
    board.locator(".card").first.focus()
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.matches('.card') && document.activeElement.dataset.eventId")
        if focused:
            break
    assert focused == ids[1], "the next card in the board's order takes the focus"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused card shows it"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/#/evenement/{ids[1]}")
    expect(page.locator("[data-testid=trace] [data-kind='event.created']")).to_have_count(1)
    page.keyboard.press("Escape")
    page.wait_for_url("**/console/#/")
    expect(board.locator(f".card[data-event-id='{ids[1]}']")).to_be_focused()


def test_nobody_answered_in_time_then_the_pc_records_an_elu_on_call(live, desk, pages):  # noqa: F811
    world = live.world
    client = operator_client(live)
    event = create_event(client, world, procedure_id=fast_procedure(live), severity=2,
                         title="Niveau haut au capteur de l'Ouche", source="sensor")
    page = pages(desk)
    console_login(page, world.users["operator"])
    ringing = card(page, event)
    expect(page.locator(f".card.alarm-ringing[data-event-id='{event['id']}']")).to_be_visible(timeout=15_000)
    # The alarm names whom to call, each with a number to click.
    calls = ringing.locator(".alarm-box [data-testid=call-list]")
    for n in (1, 2, 3):
        expect(calls.locator(f"a.tel[href='tel:{MOBILE[n]}']")).to_be_visible()
    summary = ringing.locator("[data-testid=chain-now]")
    expect(summary).to_contain_text("3/3 · Tech Trois")
    expect(summary.locator(".cn-state")).to_have_text("Pas de réponse à temps")
    ringing.locator("[data-unfold]").click()
    for tech in world.techs:
        row = ringing.locator(f".pages [data-person-id='{tech}']")
        expect(row.locator(".pstate")).to_have_text("Pas de réponse à temps")  # not « Remis »
    colours = page.evaluate("""() => {
        const row = document.querySelector('.pages .st-noanswer .pstate');
        const probe = document.createElement('li');
        probe.className = 'person st-delivered';
        probe.innerHTML = '<span class="pstate">Remis</span>';
        row.closest('ul').append(probe);
        const seen = [getComputedStyle(row).color, getComputedStyle(probe.firstChild).color];
        probe.remove();
        return seen;
    }""")
    assert colours[0] != colours[1], "no answer in time has a colour of its own"
    screenshot(page, "board-no-answer")

    ringing.locator(".title a").click()
    page.wait_for_url(f"**/console/#/evenement/{event['id']}")
    expect(page.locator("#ev-alarm [data-testid=call-list] a.tel")).to_have_count(6)  # the chain, then the others
    # Anyone on call in the commune may be the one who phoned back: the élu is not in this chain.
    select = page.locator("#ack-person")
    expect(select.locator("optgroup[label=\"D'astreinte dans la commune\"] option")).to_have_count(3)
    select.select_option(str(world.elus[0]))
    page.locator("#ack-form textarea[name=reason]").fill("A rappelé le PC, se rend sur place")
    page.locator("#ack-form button[type=submit]").click()
    ack = page.locator("[data-testid=trace] [data-kind='response.ack']")
    expect(ack).to_contain_text("Elu Un · saisi par Operator pour son compte : A rappelé le PC")
    expect(page.locator("#ev-status")).to_have_text("Pris en charge")
    expect(page.locator("#ev-alarm")).to_be_empty()
    expect(page.locator("#alarm-indicator")).to_be_hidden()


def test_a_photo_from_the_field_opens_in_the_event_and_shows_in_the_report(playwright_browser, live, pages):  # noqa: F811
    world = live.world
    client = operator_client(live)
    event = create_event(client, world)
    tech = live.client()
    tech.headers.update(login(tech, world.users["oncall"]))
    sent = tech.post(f"/api/v1/events/{event['id']}/photos", files={"photo": ("arbre.jpg", jpeg(), "image/jpeg")},
                     data={"caption": "le tronc sur la voie"})
    assert sent.status_code == 201, sent.text
    strict = {k: v for k, v in DESK.items() if k != "bypass_csp"}  # under the console's own CSP
    context = playwright_browser.new_context(base_url=live.url, **strict)
    try:
        page = pages(context)
        console_login(page, world.users["operator"])
        page.goto(f"/console/#/evenement/{event['id']}")
        thumb = page.locator("[data-testid=trace] [data-kind='response.photo'] .photo-thumb img")
        expect(thumb).to_have_attribute("src", re.compile(r"^blob:"))  # fetched with the token
        assert thumb.evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 320
        thumb.click()
        full = page.locator(".photo-dialog .photo-full")
        expect(page.locator(".photo-dialog")).to_be_visible()
        assert full.evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 320
        expect(page.locator(".photo-dialog .photo-caption")).to_contain_text("le tronc sur la voie")
        page.keyboard.press("Escape")  # closes the photo, stays on the event
        expect(page.locator(".photo-dialog")).to_be_hidden()
        assert page.url.endswith(f"#/evenement/{event['id']}")

        close = page.locator("#close-form")
        close.locator("textarea[name=reason]").fill("Arbre dégagé")
        close.locator("button[type=submit]").click()
        report = page.locator("#report-list .report").first
        expect(report).to_be_visible(timeout=10_000)
        report.locator("[data-view]").click()
        frame = page.frame_locator("#report-frame")
        picture = frame.locator("figure img")
        expect(picture).to_have_count(1)
        assert picture.evaluate("(img) => img.decode().then(() => img.naturalWidth)") == 320
    finally:
        context.close()


WCAG_CONTRAST = """(el) => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  // The background behind the text: each ancestor's colour laid over the next one's.
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const [r, g, b, a = 1] = parse(getComputedStyle(node).backgroundColor);
    if (a > 0) layers.push([r, g, b, a]);
    if (a >= 1) break;
  }
  let bg = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) bg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)];
  const [r, g, b, a = 1] = parse(getComputedStyle(el).color);
  const fg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)];
  const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100;
}"""


@pytest.mark.parametrize("severity", [2, 3, 4])
def test_badges_read_at_4_5_to_1(live, desk, pages, severity):  # noqa: F811
    world = live.world
    client = operator_client(live)
    event = create_event(client, world, severity=severity, procedure_id=fast_procedure(live) if severity == 2 else
                         world.procedure_id, title="Contraste")
    tech = live.client()
    tech.headers.update(login(tech, world.users["oncall"]))
    page = pages(desk)
    console_login(page, world.users["operator"])
    if severity == 2:  # the « sans réponse » alarm in the header
        expect(page.locator("#alarm-indicator")).to_be_visible(timeout=15_000)
    else:
        answered = tech.post(f"/api/v1/events/{event['id']}/responses", json={"kind": "ack", "via": "app"})
        assert answered.status_code == 201, answered.text
        expect(card(page, event).locator(".status")).to_have_text("Pris en charge")
    expect(card(page, event).locator("[data-testid=chain-now] a.tel").first).to_be_visible()  # the numbers are read
    selectors = [".sev-badge", ".card .status", "#live-status", ".chain-now .cn-state", "a.tel"]
    if severity == 2:
        selectors += ["#alarm-indicator"]
    # In one go, out of the flashing: a live update may redraw the board between two calls.
    ratios = page.evaluate("""([selectors, contrast]) => {
        document.getAnimations().forEach((a) => a.cancel());
        const measure = eval(contrast);
        const out = {};
        for (const selector of selectors) {
          document.querySelectorAll(selector).forEach((node, n) => {
            if (node.getClientRects().length) out[`${selector}[${n}] ${node.textContent.trim().slice(0, 30)}`] = measure(node);
          });
        }
        return out;
    }""", [selectors, WCAG_CONTRAST])
    print(ratios)
    assert len(ratios) >= len(selectors) and all(value >= 4.5 for value in ratios.values()), ratios


def test_someone_passed_over_reads_no_answer_while_the_chain_goes_on(live, desk, pages):  # noqa: F811
    world = live.world
    event = create_event(operator_client(live), world, procedure_id=fast_procedure(live, timeout_s=6), severity=2,
                         title="Niveau haut au capteur de l'Ouche", source="sensor")
    page = pages(desk)
    console_login(page, world.users["operator"])
    summary = card(page, event).locator("[data-testid=chain-now]")
    expect(summary).to_contain_text("2/3 · Tech Deux", timeout=10_000)
    expect(summary.locator(".cn-missed")).to_have_text("1 sans réponse à temps")
    states = card(page, event).locator(".pages")
    expect(states.locator(f"[data-person-id='{world.techs[0]}'] .pstate")).to_have_text("Pas de réponse à temps")
    expect(states.locator(f"[data-person-id='{world.techs[1]}'] .pstate")).not_to_have_text("Pas de réponse à temps")


def test_the_phone_apps_green_reads_at_night(phone, pages):  # noqa: F811
    page = pages(phone)
    page.goto("/app/")
    ratios = page.evaluate("""(contrast) => {
        document.documentElement.dataset.theme = 'night';
        const badge = Object.assign(document.createElement('span'), { className: 'badge here', textContent: 'Sur place' });
        const button = Object.assign(document.createElement('button'), { className: 'btn ok', textContent: 'Je prends' });
        document.body.append(badge, button);
        const measure = eval(contrast);
        return [measure(badge), measure(button)];
    }""", WCAG_CONTRAST)
    assert min(ratios) >= 4.5, ratios
