"""The planning screens in a real Chromium: « Mon astreinte » on the phone (my turns, who holds each group,
taking the watch from the banner and from the push, swaps between two phones, the calendar link) and the
console's week grid (holders, replacements added and cancelled, gaps, who may edit).

The rotation is set through the API on the world's technical group — Tech Deux, Tech Un, Tech Trois — with its
first hand-over on the Monday 08:30 (Paris) that began the current turn week, so every date below is computed
from today and the tests hold whatever the day they run.
"""

from __future__ import annotations

import base64
import os
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect

from backend.db import transaction
from backend.groups.models import OnCallGroup
from backend.watch import service as watch_service
from notifications import notice as notices
from notifications.base import ChannelKind
from notifications.notice import render_notice
from notifications.webpush import encode_document, push_document
from tests.browser.conftest import DESK, PHONE, screenshot
from tests.browser.test_console import console_login, pages  # noqa: F401  (pages: the console's page fixture)
from tests.browser.test_pwa import ServiceWorker, assert_french, device_headers, enrol, enrolment_link, no_script_errors  # noqa: F401  (no_script_errors: autouse, checks the phone's page)
from tests.factories import PASSWORD
from tests.smoke.harness import login, wait_until

PARIS = ZoneInfo("Europe/Paris")
WEEK = timedelta(days=7)
WEEKDAYS = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]
MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
TECH2 = "+33639980102"


# ---------- helpers ----------

def fr(moment: datetime) -> str:
    """How the screens write an instant: "lun. 7 déc. 08:30" (Paris time; the year only if not this one)."""
    local = moment.astimezone(PARIS)
    year = "" if local.year == datetime.now(PARIS).year else f" {local.year}"
    return f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]}{year} {local:%H:%M}"


def turn_week_anchor() -> datetime:
    """Monday 08:30 (Paris) of the current turn week: the last one at or before now."""
    now = datetime.now(PARIS)
    monday = (now - timedelta(days=now.weekday())).replace(hour=8, minute=30, second=0, microsecond=0)
    return monday - WEEK if monday > now else monday


def staff(live, role: str):
    http = live.client()
    http.headers.update(login(http, live.world.users[role], PASSWORD))
    return http


def set_rotation(live) -> datetime:
    """Tech Deux holds the current turn, Tech Un the next one, then Tech Trois; weekly, Monday 08:30."""
    world = live.world
    anchor = turn_week_anchor()
    un, deux, trois = world.techs
    response = staff(live, "admin").put(f"/api/v1/groups/{world.tech_group_id}/rotation", json={
        "member_ids": [deux, un, trois], "anchor_local": anchor.strftime("%Y-%m-%dT%H:%M:00"), "turn_days": 7,
        "effective_from": anchor.astimezone(UTC).isoformat()})
    assert response.status_code == 200, response.text
    return anchor


def chenove_hours(live) -> None:
    """The first customer's PC hours (the test world is covered around the clock): nights, lunch, week-ends."""
    weekdays = [{"weekday": d, "start": a, "end": b} for d in range(5)
                for a, b in (("00:00", "08:30"), ("12:00", "13:30"), ("17:30", "24:00"))]
    weekend = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in (5, 6)]
    response = staff(live, "admin").patch(f"/api/v1/organizations/{live.world.commune_id}/coverage",
                                          json={"weekly": weekdays + weekend})
    assert response.status_code == 200, response.text


def take_over_now(live, anchor: datetime) -> datetime:
    """The PC puts Tech Un on call from a minute ago in place of Tech Deux (sick), until the next hand-over."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    response = staff(live, "admin").post(f"/api/v1/groups/{live.world.tech_group_id}/overrides", json={
        "starts_at": start.isoformat(), "ends_at": (anchor + WEEK).astimezone(UTC).isoformat(),
        "person_id": live.world.techs[0], "replaces_person_id": live.world.techs[1], "reason": "Tech Deux malade"})
    assert response.status_code == 201, response.text
    return start


def ask_to_take_the_watch(live, start: datetime) -> int:
    """What the worker does at the start of Tech Un's period, with an explicit `now`: ask him to confirm."""
    factory = live.app.state.runtime.session_factory
    at = start + timedelta(seconds=1)
    # Planned and claimed in one transaction: the server's own worker never sees the row unclaimed.
    with transaction(factory) as s:
        watch_service.plan(db_session=s, group=s.get(OnCallGroup, live.world.tech_group_id), now=start - timedelta(hours=1))
        claimed = watch_service.claim_due(db_session=s, worker_id="browser-test", now=at,
                                          lease_until=datetime.now(UTC) + timedelta(minutes=5), limit=50)
    for item in claimed:
        with transaction(factory) as s:
            watch_service.step(db_session=s, watch_id=item.watch_id, worker_id="browser-test", now=at)
    return watch_row(live, status="asked")["id"]


def watch_row(live, *, status: str | None = None, watch_id: int | None = None) -> dict:
    rows = staff(live, "operator").get(f"/api/v1/groups/{live.world.tech_group_id}/watch").json()
    found = [r for r in rows if r["person_id"] == live.world.techs[0]
             and (status is None or r["status"] == status) and (watch_id is None or r["id"] == watch_id)]
    assert found, rows
    return found[0]


def open_mon_astreinte(page):
    page.get_by_role("link", name="Mon astreinte").click()
    expect(page.locator("h1")).to_have_text("Mon astreinte")
    expect(page.locator(".turn").first).to_be_visible()


def enrol_as(live, context, person_id: int, number: str, name: str):
    """enrol() for someone else than Tech Un: the same SMS link path."""
    page = context.new_page()
    page.goto(enrolment_link(live, person_id, number))
    expect(page.locator("#step-enrol")).to_contain_text(f"Téléphone inscrit au nom de {name}")
    expect(page.locator("#step-push")).to_have_class(re.compile(r"\b(ok|ko)\b"), timeout=20000)
    return page


def enrol_colleague(live, browser, person_id: int, number: str, name: str):
    """A second phone, for another person."""
    context = browser.new_context(base_url=live.url, **PHONE)
    context.grant_permissions(["notifications"], origin=live.url)
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    return context, enrol_as(live, context, person_id, number, name), errors


def register_push_address(live, page) -> None:
    """A push address for the phone's person (headless Chromium has no push service of its own)."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    registered = live.client().post("/api/v1/me/push-subscriptions", headers=device_headers(page), json={
        "endpoint": "http://127.0.0.1:9/push/planning", "keys": {"p256dh": b64(key), "auth": b64(os.urandom(16))},
        "label": "test"})
    assert registered.status_code == 201, registered.text


def push_of(live, purpose: str) -> str:
    """The push document the backend sent (exactly what it encrypts), read from the recording channel."""
    sent = wait_until(lambda: [m for m in live.channels.get(ChannelKind.PUSH).sent if m.data.get("purpose") == purpose],
                      timeout=10, what=f"the {purpose} push")
    return encode_document(push_document(sent[-1])).decode()


def button_sizes(page) -> list:
    return page.eval_on_selector_all("main .btn", "els => els.filter(e => e.offsetParent).map(e => "
                                     "[e.textContent.trim(), e.getBoundingClientRect().width, e.getBoundingClientRect().height])")


def show_week_of(page, moment: datetime) -> None:
    """Previous/next week in the console until the grid shows the week of `moment`."""
    local = moment.astimezone(PARIS)
    now = datetime.now(PARIS)
    weeks = ((local.date() - timedelta(days=local.weekday())) - (now.date() - timedelta(days=now.weekday()))).days // 7
    for _ in range(abs(weeks)):
        page.get_by_role("button", name="Semaine suivante ›" if weeks > 0 else "‹ Semaine précédente").click()
    monday = local - timedelta(days=local.weekday())
    expect(page.locator(".pl-day").first).to_contain_text(f"{WEEKDAYS[0]} {monday.day} {MONTHS[monday.month - 1]}")


def open_planning(page, live):
    page.click("nav >> text=Planning")
    page.wait_for_url("**/console/#/planning")
    page.select_option("#pl-org", label="Ville de Chenôve")
    expect(page.locator(f".pl-track[data-group-id='{live.world.tech_group_id}'] .pl-shift").first).to_be_visible()


# ---------- the phone ----------

def test_mon_astreinte_shows_my_turns_and_the_holders_and_the_banner_confirms_the_watch(live, phone):
    anchor = set_rotation(live)
    page = enrol(live, phone)
    open_mon_astreinte(page)
    turns = page.locator(".turn")
    mine = anchor + WEEK  # Tech Un's first turn: the next week; then every third week
    expect(turns.first).to_contain_text("Astreinte technique")
    expect(turns.first).to_contain_text(f"{fr(mine)} → {fr(mine + WEEK)}")
    expect(turns.nth(1)).to_contain_text(f"{fr(mine + 3 * WEEK)} → {fr(mine + 4 * WEEK)}")
    expect(turns.first.get_by_role("link", name="Proposer un échange")).to_be_visible()
    holder = page.locator(".holder", has_text="Astreinte technique")
    expect(holder).to_contain_text("Tech Deux")
    expect(holder).to_contain_text(f"jusqu'au {fr(mine)}")
    call = holder.get_by_role("link")  # Tech Deux's professional number: one tap calls the holder
    expect(call).to_have_count(1)
    expect(call).to_have_attribute("href", "tel:+33639980102")
    expect(page.locator("#watch-banner")).to_have_count(0)
    expect(page.locator("#tab-oncall")).to_have_attribute("aria-current", "page")
    assert_french(page)

    # Tech Deux is sick: the PC puts Tech Un on call now; the worker asks him to confirm he is reachable.
    start = take_over_now(live, anchor)
    watch_id = ask_to_take_the_watch(live, start)
    page.reload()
    banner = page.locator("#watch-banner")
    expect(banner).to_contain_text("Prise d'astreinte — Astreinte technique")
    expect(banner).to_contain_text(f"Votre astreinte a commencé le {fr(start)}, jusqu'au {fr(mine)}")
    deadline = (start + timedelta(seconds=1) + timedelta(minutes=30)).astimezone(PARIS)
    expect(banner).to_contain_text(f"Confirmez que vous êtes joignable avant {deadline:%H:%M}")
    expect(page.locator("#tab-oncall .dot")).to_be_visible()
    expect(holder).to_contain_text("Vous")
    expect(turns.first).to_contain_text(f"En cours jusqu'au {fr(mine)}")
    expect(turns.first).to_contain_text("À confirmer")
    confirm = banner.get_by_role("button", name="Je confirme ma prise d'astreinte")
    sizes = button_sizes(page)
    assert sizes and all(w >= 48 and h >= 48 for _, w, h in sizes), sizes
    assert confirm.bounding_box()["height"] >= 60, "the confirmation is the big button"
    assert_french(page)
    screenshot(page, "pwa-mon-astreinte")
    page.evaluate("localStorage.setItem('vigie-theme', 'night')")  # the night theme, whatever the hour of the run
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "night")
    expect(banner).to_be_visible()
    screenshot(page, "pwa-mon-astreinte-night")

    confirm.click()
    expect(banner).to_have_count(0)
    expect(turns.first).to_contain_text("Prise confirmée à")
    expect(page.locator("#tab-oncall .dot")).to_be_hidden()
    row = watch_row(live, watch_id=watch_id)
    assert (row["status"], row["confirmed_via"]) == ("confirmed", "app")


def test_a_turn_offered_to_a_colleague_who_accepts_leaves_my_list(live, phone, playwright_browser):
    anchor = set_rotation(live)
    mine = anchor + WEEK
    page = enrol(live, phone)
    open_mon_astreinte(page)
    page.locator(".turn").first.get_by_role("link", name="Proposer un échange").click()
    expect(page.locator("h1")).to_have_text("Proposer un échange")
    expect(page.locator(".panel .when")).to_have_text(f"{fr(mine)} → {fr(mine + WEEK)}")
    page.get_by_label("Tech Deux").check()
    page.get_by_label("Message (facultatif)").fill("Mariage de ma sœur ce week-end, je reprends un de tes tours")
    assert all(h >= 48 for _, _, h in button_sizes(page))
    assert_french(page)
    screenshot(page, "pwa-swap-propose")
    page.get_by_role("button", name="Envoyer la proposition").click()
    expect(page.locator("h1")).to_have_text("Mon astreinte")
    mine_swap = page.locator(".swap").first
    expect(mine_swap).to_contain_text(f"Vous proposez à Tech Deux votre tour Astreinte technique : {fr(mine)} → {fr(mine + WEEK)}")
    expect(mine_swap).to_contain_text("En attente de réponse")
    expect(mine_swap.get_by_role("button", name="Annuler la demande")).to_be_visible()
    expect(page.locator(".turn").first).to_contain_text("Échange proposé, en attente.")

    context, other, errors = enrol_colleague(live, playwright_browser, live.world.techs[1], TECH2, "Tech Deux")
    try:
        other.goto("/app/#/astreinte")
        offer = other.locator(".swap", has_text="Tech Un vous propose")
        expect(offer).to_contain_text(f"Tech Un vous propose son tour Astreinte technique : {fr(mine)} → {fr(mine + WEEK)}")
        expect(offer).to_contain_text("« Mariage de ma sœur ce week-end, je reprends un de tes tours »")
        expect(other.locator("#tab-oncall .dot")).to_be_visible()
        expect(offer.get_by_role("button", name="Refuser")).to_be_visible()
        assert all(w >= 48 and h >= 48 for _, w, h in button_sizes(other))
        assert_french(other)
        screenshot(other, "pwa-swap")
        offer.get_by_role("button", name="Accepter").click()
        expect(offer).to_contain_text("Échange effectué")
        expect(other.locator(".turn", has_text=f"{fr(mine)} → {fr(mine + WEEK)}")).to_have_count(1)
        assert errors == []
    finally:
        context.close()

    page.reload()
    expect(page.locator(".swap").first).to_contain_text("Échange effectué")
    expect(page.locator(".turn").first).to_contain_text(f"{fr(mine + 3 * WEEK)} → {fr(mine + 4 * WEEK)}")
    expect(page.locator(".turn", has_text=fr(mine))).to_have_count(0)
    mine_now = live.client().get("/api/v1/me/oncall", headers=device_headers(page)).json()
    assert fr(datetime.fromisoformat(mine_now["next_turns"][0]["starts_at"])) == fr(mine + 3 * WEEK)


def test_a_cadre_approves_from_the_phone_a_swap_the_colleagues_agreed_on(live, phone):
    world = live.world
    anchor = set_rotation(live)
    mine = anchor + WEEK
    assert staff(live, "admin").patch(f"/api/v1/organizations/{world.commune_id}/coverage",
                                      json={"swap_needs_approval": True}).status_code == 200
    un, deux = staff(live, "oncall"), staff(live, "oncall2")
    turn = un.get("/api/v1/me/oncall").json()["next_turns"][0]
    swap = un.post("/api/v1/me/swaps", json={"group_id": turn["group_id"], "rotation_id": turn["rotation_id"],
                                             "my_turn": turn["index"], "counterpart_id": world.techs[1]}).json()
    assert deux.post(f"/api/v1/me/swaps/{swap['id']}/accept").json()["status"] == "awaiting_approval"

    page = enrol_as(live, phone, world.cadres[0], "+33639980111", "Cadre Un")
    page.get_by_role("link", name="Mon astreinte").click()
    expect(page.locator("#tab-oncall .dot")).to_be_visible()
    pending = page.locator(".swap", has_text="Tech Deux prend le tour")
    expect(pending).to_contain_text(f"Tech Deux prend le tour Astreinte technique de Tech Un : {fr(mine)} → {fr(mine + WEEK)}")
    assert_french(page)
    screenshot(page, "pwa-swap-approve")
    pending.get_by_role("button", name="Valider").click()
    expect(page.locator(".swap", has_text="Tech Deux prend le tour")).to_have_count(0)
    expect(page.get_by_text("Aucun échange à valider.")).to_be_visible()
    assert [s["status"] for s in un.get("/api/v1/me/oncall").json()["swaps"]] == ["done"]
    assert fr(datetime.fromisoformat(un.get("/api/v1/me/oncall").json()["next_turns"][0]["starts_at"])) == fr(
        mine + 3 * WEEK)


def test_the_calendar_link_is_shown_once_copied_and_revoked(live, phone):
    set_rotation(live)
    page = enrol(live, phone)
    open_mon_astreinte(page)
    expect(page.locator("#feeds li")).to_have_count(0)
    page.get_by_role("button", name="Créer un lien d'agenda").click()
    link = page.locator("#feed-url")
    expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/ical/\S+\.ics$"))
    url = link.input_value()
    expect(page.get_by_text("Ce lien ne sera plus affiché : copiez-le maintenant.")).to_be_visible()
    phone.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    page.get_by_role("button", name="Copier le lien").click()
    expect(page.locator(".toast")).to_have_text("Lien copié")
    assert page.evaluate("navigator.clipboard.readText()") == url
    feed = live.client().get(url)
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text
    expect(page.locator("#feeds li")).to_have_count(1)

    page.reload()  # shown once: the secret is not on screen any more
    expect(page.locator("#feeds li")).to_have_count(1)
    expect(page.locator("#feed-url")).to_have_count(0)
    expect(page.locator("#feeds li").first).to_contain_text("lu le")
    page.once("dialog", lambda d: d.accept())
    page.locator("#feeds").get_by_role("button", name="Révoquer").click()
    expect(page.locator("#feeds li")).to_have_count(0)
    assert live.client().get("/api/v1/me/calendar-feeds", headers=device_headers(page)).json() == []
    assert live.client().get(url).status_code == 404


def test_the_watch_ask_push_is_confirmed_by_its_je_confirme_action(live, phone):
    anchor = set_rotation(live)
    page = enrol(live, phone)
    register_push_address(live, page)
    worker = ServiceWorker(live, phone, page)

    watch_id = ask_to_take_the_watch(live, take_over_now(live, anchor))
    worker.push(push_of(live, "watch_ask"))
    tag = f"watch-{watch_id}"
    shown = worker.shown(tag)
    assert shown["title"] == "Prise d'astreinte — Astreinte technique"
    assert "Confirmez dans les 30 min que vous êtes joignable" in shown["body"]
    assert shown["requireInteraction"] is True
    assert shown["actions"] == [{"action": "confirm_watch", "title": "Je confirme"}]
    assert shown["data"]["watch_id"] == watch_id

    posted_by_page = []
    page.on("request", lambda r: posted_by_page.append(r.url) if r.method == "POST" else None)
    result = worker.action("confirm_watch", shown["data"])
    assert result["outcome"] == "sent", result
    assert posted_by_page == [], "the page posted nothing: the service worker did"
    row = watch_row(live, watch_id=watch_id)
    assert (row["status"], row["confirmed_via"]) == ("confirmed", "push")
    done = worker.shown(tag, "Astreinte confirmée")
    assert done["body"] == "Merci : votre prise d'astreinte est enregistrée."
    assert done["requireInteraction"] is False and done["actions"] == []

    # A watch missed (as a cadre receives it) stays on screen; a swap request is a plain notice that opens
    # « Mon astreinte ».
    missed = render_notice(notices.watch_missed(org_code="CHENOVE", group="Astreinte technique", person="Tech Trois",
                                                phone=None, since=datetime.now(PARIS), watch_id=999), "push")
    worker.push(encode_document({"title": missed.subject, "body": missed.text, "notification_id": 0, "urgent": True,
                                 "data": missed.data}).decode())
    alert = worker.shown("watch-missed-999")
    assert alert["title"] == "Prise d'astreinte non confirmée — Astreinte technique"
    assert alert["requireInteraction"] is True and alert["actions"] == []

    deux = staff(live, "oncall2")
    turn = next(t for t in deux.get("/api/v1/me/oncall").json()["next_turns"]
                if datetime.fromisoformat(t["starts_at"]) > datetime.now(UTC))
    offered = deux.post("/api/v1/me/swaps", json={"group_id": turn["group_id"], "rotation_id": turn["rotation_id"],
                                                  "my_turn": turn["index"], "counterpart_id": live.world.techs[0],
                                                  "message": "Tu peux ?"})
    assert offered.status_code == 201, offered.text
    worker.push(push_of(live, "swap_request"))
    request = worker.shown(f"swap-{offered.json()['id']}")
    assert request["title"] == "Échange de tours proposé — Astreinte technique"
    assert request["requireInteraction"] is False and request["actions"] == []
    page.goto("/app/#/")
    assert worker.action("open", request["data"])["outcome"] == "open"
    page.wait_for_url("**/app/#/astreinte")
    expect(page.locator(".swap", has_text="Tech Deux vous propose")).to_be_visible()


# ---------- the console ----------

def test_the_console_planning_shows_the_week_and_an_admin_adds_then_cancels_a_replacement(live, desk, pages):
    world = live.world
    anchor = set_rotation(live)
    chenove_hours(live)
    page = pages(desk)
    console_login(page, world.users["admin"])
    open_planning(page, live)
    show_week_of(page, anchor)
    row = page.locator(f".pl-track[data-group-id='{world.tech_group_id}']")
    head = page.locator(f".pl-rowhead[data-group-id='{world.tech_group_id}']")
    expect(page.locator(".pl-day")).to_have_count(7)
    expect(head).to_contain_text("En ce moment : Tech Deux")
    expect(row.locator(".pl-shift.current")).to_contain_text("Tech Deux")
    expect(row.locator(".pl-shift", has_text="Tech Deux").first).to_have_attribute(
        "title", re.compile(re.escape(f"Tech Deux : {fr(anchor)} → ")))
    expect(row.locator(".pl-cover").first).to_be_attached()  # the PC's hours, shaded: nights, lunch breaks
    assert row.locator(".pl-cover").count() >= 6, "weekdays' office hours are not covered"
    expect(row.locator(".pl-now")).to_have_count(1)
    expect(page.locator(f".pl-track[data-group-id='{world.cadre_group_id}']")).to_contain_text("Pas de rotation")
    expect(page.locator("#pl-gaps")).to_contain_text("Aucun trou")
    expect(head.get_by_role("button", name="Modifier la rotation")).to_be_visible()
    body = page.locator("body").inner_text()
    assert not re.search(r"undefined|NaN|\d{4}-\d\d-\d\dT", body), body
    screenshot(page, "console-planning")

    # Tech Trois replaces Tech Deux from Wednesday 10:00 to Thursday 10:00 of this turn.
    start, end = anchor + timedelta(days=2, hours=1, minutes=30), anchor + timedelta(days=3, hours=1, minutes=30)
    head.get_by_role("button", name="Ajouter un remplacement").click()
    form = page.locator("#override-form")
    expect(form).to_be_visible()
    form.get_by_label("Qui prend l'astreinte").select_option(label="Tech Trois")
    form.get_by_label("À la place de").select_option(label="Tech Deux")
    form.get_by_label("Du").fill(start.strftime("%d/%m/%Y %H:%M"))
    form.get_by_label("Au").fill(end.strftime("%d/%m/%Y %H:%M"))
    form.get_by_label("Motif").fill("Arrêt maladie")
    screenshot(page, "console-planning-edit")
    form.get_by_role("button", name="Ajouter le remplacement").click()
    expect(form).to_be_hidden()
    replaced = row.locator(".pl-shift.repl")
    expect(replaced).to_contain_text("Tech Trois")
    expect(replaced).to_contain_text("remplace Tech Deux")
    expect(replaced).to_have_attribute("title", f"Tech Trois (remplace Tech Deux) : {fr(start)} → {fr(end)}")
    listed = page.locator("#pl-overrides li")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("Tech Trois remplace Tech Deux")
    expect(listed).to_contain_text(f"{fr(start)} → {fr(end)} · Arrêt maladie")
    screenshot(page, "console-planning-replaced")
    grid = staff(live, "operator").get(f"/api/v1/organizations/{world.commune_id}/planning", params={
        "start": start.isoformat(), "end": end.isoformat()}).json()
    tech = next(g for g in grid["groups"] if g["group_id"] == world.tech_group_id)
    assert [(s["person"], s["replacing_name"]) for s in tech["shifts"]] == [("Tech Trois", "Tech Deux")]

    page.once("dialog", lambda d: d.accept())
    listed.get_by_role("button", name="Annuler le remplacement").click()
    expect(row.locator(".pl-shift.repl")).to_have_count(0)
    expect(page.locator("#pl-overrides")).to_contain_text("Aucun remplacement cette semaine.")


def test_the_console_shows_whether_the_holder_confirmed_taking_the_watch(live, desk, pages):
    world = live.world
    anchor = set_rotation(live)
    watch_id = ask_to_take_the_watch(live, take_over_now(live, anchor))
    page = pages(desk)
    console_login(page, world.users["operator"])
    open_planning(page, live)
    head = page.locator(f".pl-rowhead[data-group-id='{world.tech_group_id}']")
    expect(head).to_contain_text("En ce moment : Tech Un")
    expect(head.locator(".pl-watch")).to_have_text("Prise d'astreinte demandée à Tech Un, pas encore confirmée")
    row = page.locator(f".pl-track[data-group-id='{world.tech_group_id}']")
    expect(row.locator(".pl-shift.current")).to_contain_text("Tech Un")
    expect(row.locator(".pl-shift.current")).to_contain_text("remplace Tech Deux")

    confirmed = staff(live, "oncall").post(f"/api/v1/me/watch/{watch_id}/confirm", json={"via": "push"})
    assert confirmed.status_code == 200, confirmed.text
    at = datetime.fromisoformat(confirmed.json()["confirmed_at"]).astimezone(PARIS)
    page.get_by_role("button", name="Semaine suivante ›").click()
    page.get_by_role("button", name="Cette semaine").click()
    expect(head.locator(".pl-watch")).to_have_text(
        f"Prise d'astreinte confirmée par Tech Un à {at:%H:%M} depuis la notification")


def test_an_admin_reorders_the_rotation_and_the_holder_changes_from_now(live, desk, pages):
    world = live.world
    anchor = set_rotation(live)
    page = pages(desk)
    console_login(page, world.users["admin"])
    open_planning(page, live)
    head = page.locator(f".pl-rowhead[data-group-id='{world.tech_group_id}']")
    head.get_by_role("button", name="Modifier la rotation").click()
    form = page.locator("#rotation-form")
    expect(form.locator(".rot-name")).to_have_text(["Tech Deux", "Tech Un", "Tech Trois"])
    expect(form.get_by_label("Première relève (jour)")).to_have_value(anchor.strftime("%d/%m/%Y"))
    expect(form.get_by_label("Heure de relève")).to_have_value("08:30")
    expect(form.locator("#rot-preview")).to_contain_text(f"En cours (depuis le {fr(anchor)}) : Tech Deux")
    form.get_by_role("button", name="Monter Tech Un").click()
    expect(form.locator(".rot-name")).to_have_text(["Tech Un", "Tech Deux", "Tech Trois"])
    expect(form.locator("#rot-preview")).to_contain_text(f"En cours (depuis le {fr(anchor)}) : Tech Un")
    expect(form.locator("#rot-preview")).to_contain_text(f"{fr(anchor + WEEK)} : Tech Deux")
    screenshot(page, "console-planning-rotation")
    form.get_by_role("button", name="Enregistrer la rotation").click()
    expect(form).to_be_hidden()
    expect(head).to_contain_text("En ce moment : Tech Un")
    rotation = staff(live, "operator").get(f"/api/v1/groups/{world.tech_group_id}/rotation").json()
    assert rotation["member_ids"] == [world.techs[0], world.techs[1], world.techs[2]]


def test_an_operator_reads_only_and_a_replacement_by_nobody_shows_a_gap(live, desk, pages, playwright_browser):
    world = live.world
    set_rotation(live)
    chenove_hours(live)
    page = pages(desk)
    console_login(page, world.users["operator"])
    open_planning(page, live)
    head = page.locator(f".pl-rowhead[data-group-id='{world.tech_group_id}']")
    expect(head).to_contain_text("En ce moment : Tech Deux")
    expect(page.locator("#pl-mode")).to_contain_text("Consultation seule")
    expect(page.locator(".pl-rowhead button")).to_have_count(0)
    expect(page.locator("[data-cancel]")).to_have_count(0)
    page.locator(".pl-shift.current").click()
    expect(page.locator("#pl-dialog")).to_be_hidden()
    refused = staff(live, "operator").post(f"/api/v1/groups/{world.tech_group_id}/overrides", json={
        "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z", "person_id": None})
    assert refused.status_code == 403  # what the hidden buttons would have met

    # The commune's referent leaves the next night uncovered: nobody instead of the holder.
    now = datetime.now(PARIS)
    night = now.replace(hour=20, minute=0, second=0, microsecond=0)
    if night < now + timedelta(hours=1):
        night += timedelta(days=1)
    morning = (night + timedelta(days=1)).replace(hour=6)
    referent = pages(playwright_browser.new_context(base_url=live.url, **DESK))
    try:
        console_login(referent, world.users["referent"])
        open_planning(referent, live)
        show_week_of(referent, night)
        referent.locator(f".pl-rowhead[data-group-id='{world.tech_group_id}']").get_by_role(
            "button", name="Ajouter un remplacement").click()
        form = referent.locator("#override-form")
        form.get_by_label("Qui prend l'astreinte").select_option(label="Personne (trou assumé)")
        form.get_by_label("Du").fill(night.strftime("%d/%m/%Y %H:%M"))
        form.get_by_label("Au").fill(morning.strftime("%d/%m/%Y %H:%M"))
        form.get_by_label("Motif").fill("Aucun technicien disponible")
        form.get_by_role("button", name="Ajouter le remplacement").click()
        expect(form).to_be_hidden()
        expect(referent.locator(f".pl-track[data-group-id='{world.tech_group_id}'] "
                                f".pl-gap[title^=\"Personne d'astreinte : {fr(night)} → \"]")).to_be_visible()
    finally:
        referent.context.close()

    page.reload()
    expect(page.locator(".pl-day").first).to_be_visible()
    show_week_of(page, night)
    gap = page.locator(f".pl-track[data-group-id='{world.tech_group_id}'] "
                       f".pl-gap[title^=\"Personne d'astreinte : {fr(night)} → \"]")
    expect(gap).to_be_visible()
    expect(gap).to_contain_text("Personne")
    colour = gap.evaluate("e => getComputedStyle(e).backgroundColor")
    red, green, blue = (int(x) for x in re.findall(r"\d+", colour)[:3])
    assert red > 200 and green < 120 and blue < 120, colour
    panel = page.locator("#pl-gaps")
    expect(panel).to_contain_text("Personne n'est d'astreinte pendant ces heures couvertes par le PC")
    expect(panel.locator("li")).to_have_text([f"Astreinte technique — {fr(night)} → {fr(morning)}"])
    expect(page.locator(".pl-rowhead button")).to_have_count(0)
    screenshot(page, "console-planning-gap")

