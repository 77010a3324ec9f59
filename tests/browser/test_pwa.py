"""The on-call PWA at /app in a real Chromium at phone size: enrolment, my pages, the event screen,
a push delivered into the service worker and acknowledged from the notification path, offline answers."""

from __future__ import annotations

import base64
import os
import re
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect

from notifications.base import ChannelKind
from notifications.webpush import encode_document, push_document
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD
from tests.smoke.harness import login, wait_until

TECH1 = "+33639980101"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")
FRENCH_ONLY = re.compile(r"\b(Loading|Error|Submit|Cancel|Device|Offline|pending|undefined|null|NaN)\b")


# ---------- helpers ----------

@pytest.fixture(autouse=True)
def no_script_errors(request):
    """Every test also proves the app threw no uncaught error in the page."""
    if "phone" not in request.fixturenames:
        yield
        return
    errors: list[str] = []
    request.getfixturevalue("phone").on("weberror", lambda e: errors.append(str(e.error)))
    yield
    assert errors == []


def as_operator(live):
    http = live.client()
    return http, login(http, live.world.users["operator"], PASSWORD)


def enrolment_link(live, person_id: int, number: str) -> str:
    """The operator sends the link by SMS; we read it from the recorded SMS, as the phone would."""
    http, operator = as_operator(live)
    sent = http.post(f"/api/v1/people/{person_id}/enrolments", headers=operator, json={"channel": "sms"})
    assert sent.status_code == 201, sent.text
    sms = wait_until(lambda: [m for m in live.channels.get(ChannelKind.SMS).sent
                              if m.address == number and "/app/#/enrol/" in m.text], timeout=10, what="enrolment SMS")
    url = re.search(r"(\S+/app/#/enrol/\S+)", sms[-1].text).group(1)
    assert url.startswith(live.url)
    return url


def enrol(live, phone, url: str | None = None):
    page = phone.new_page()
    page.goto(url or enrolment_link(live, live.world.techs[0], TECH1))
    expect(page.locator("#step-enrol")).to_contain_text("Téléphone inscrit au nom de Tech Un")
    expect(page.locator("#step-push")).to_have_class(re.compile(r"\b(ok|ko)\b"), timeout=20000)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    return page


def device_headers(page) -> dict:
    token = page.evaluate("Vigie.kv.get('token')")
    assert token
    return {"Authorization": f"Bearer {token}"}


def new_event(live, title="Chute d'arbre sur la chaussée", severity=3) -> dict:
    http, operator = as_operator(live)
    created = http.post("/api/v1/events", headers=operator, json={
        "organization_id": live.world.commune_id, "procedure_id": live.world.procedure_id, "severity": severity,
        "title": title, "place": "avenue Roland Carraz, Chenôve", "source": "police",
        "description": "Un platane bloque les deux voies à hauteur du n° 12."})
    assert created.status_code == 201, created.text
    return created.json()


def event_detail(live, event_id: int) -> dict:
    http, operator = as_operator(live)
    return http.get(f"/api/v1/events/{event_id}", headers=operator).json()


def assert_french(page):
    text = page.locator("body").inner_text()
    assert not FRENCH_ONLY.search(text), text


def notifications(page) -> list[dict]:
    return page.evaluate("""async () => (await (await navigator.serviceWorker.ready).getNotifications())
        .map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data, requireInteraction: n.requireInteraction,
                    actions: (n.actions || []).map(a => ({action: a.action, title: a.title}))}))""")


def wait_in_browser(page, predicate, *, timeout=10.0, what="condition"):
    """Like wait_until, but lets Playwright dispatch its events (CDP) while waiting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


ARM_PUSH_HEARD = """() => {
  window.__pushHeard = new Promise((resolve) => {
    const heard = (e) => {
      if ((e.data || {}).type !== 'push') return;
      navigator.serviceWorker.removeEventListener('message', heard);
      resolve(true);
    };
    navigator.serviceWorker.addEventListener('message', heard);
    setTimeout(() => resolve(false), 10000);
  });
}"""


class ServiceWorker:
    """DevTools access to the app's service worker: deliver a push, run a notification action."""

    def __init__(self, live, context, page):
        self.live, self.page = live, page
        self.cdp = context.new_cdp_session(page)
        self.registrations: dict[str, str] = {}
        self.cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: self.registrations.update(
            {r["scopeURL"]: r["registrationId"] for r in e["registrations"] if not r.get("isDeleted")}))
        self.cdp.send("ServiceWorker.enable")
        self.scope = f"{live.url}/app/"
        wait_in_browser(page, lambda: self.scope in self.registrations, what="the service worker registration")

    def push(self, payload: str) -> None:
        """Deliver a push and wait until the service worker has shown its alert (it then tells the page):
        reading the notifications while Chromium is still displaying one can lose it."""
        self.page.evaluate(ARM_PUSH_HEARD)
        self.cdp.send("ServiceWorker.deliverPushMessage",
                      {"origin": self.live.url, "registrationId": self.registrations[self.scope], "data": payload})
        assert self.page.evaluate("window.__pushHeard"), "the service worker did not tell the page of the push"

    def shown(self, tag: str, title_start: str = "") -> dict:
        try:
            return wait_in_browser(self.page, lambda: [n for n in notifications(self.page) if n["tag"] == tag
                                                       and n["title"].startswith(title_start)],
                                   what=f"notification {tag}")[0]
        except AssertionError as timeout:
            shown = [(n["tag"], n["title"]) for n in notifications(self.page)]
            raise AssertionError(f"{timeout}; shown: {shown}") from None

    def action(self, action: str, data: dict) -> dict:
        # DevTools cannot tap a notification: the service worker runs the same path on a message.
        return self.page.evaluate("""async ([action, data]) => {
            const reg = await navigator.serviceWorker.ready;
            return await new Promise((resolve) => {
              navigator.serviceWorker.addEventListener('message', (e) => {
                if (e.data.type === 'notification-action-result') resolve(e.data);
              });
              reg.active.postMessage({type: 'notification-action', action, data});
            });
        }""", [action, data])


# ---------- tests ----------

def test_a_phone_is_enrolled_from_the_sms_link_without_a_password(live, phone):
    url = enrolment_link(live, live.world.techs[0], TECH1)
    page = enrol(live, phone, url)
    expect(page.locator("#step-perm")).to_contain_text("Autorisées")
    push = page.locator("#step-push")
    # Headless Chromium has no push service here: subscribe() fails, enrolment goes on, SMS remain.
    expect(push).to_contain_text(re.compile("Activées|Notifications push indisponibles, vous recevrez les SMS"))
    devices = page.locator("#enrol-devices li")
    expect(devices).to_have_count(1)
    expect(devices.first).to_contain_text("Cet appareil")
    expect(page.get_by_role("link", name="Voir mes sollicitations")).to_be_visible()
    assert page.url.endswith("/app/#/enrol"), "the single-use code is kept out of the address bar"
    assert_french(page)
    screenshot(page, "pwa-enrolment")

    http = live.client()
    admin = login(http, live.world.users["admin"], PASSWORD)
    listed = http.get(f"/api/v1/people/{live.world.techs[0]}/devices", headers=admin).json()
    assert len(listed) == 1 and listed[0]["revoked_at"] is None
    me = http.get("/api/v1/me", headers=device_headers(page)).json()
    assert me["person_id"] == live.world.techs[0]
    manifest = http.get("/app/manifest.webmanifest").json()
    assert manifest["name"] == "Vigie astreinte" and manifest["lang"] == "fr" and manifest["display"] == "standalone"

    # The link is single-use; the devices screen lists and revokes.
    again = phone.new_page()
    again.goto(url)
    expect(again.locator("#step-enrol")).to_contain_text("Échec : ce lien a déjà servi : demandez-en un nouveau au PC.")
    again.close()
    page.goto("/app/#/devices")
    expect(page.locator("#devices li")).to_have_count(1)
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Révoquer").click()
    expect(page.get_by_text("Ce téléphone n'est plus inscrit")).to_be_visible()
    listed = http.get(f"/api/v1/people/{live.world.techs[0]}/devices", headers=admin).json()
    assert listed[0]["revoked_at"] is not None


def test_my_pages_list_the_event_and_je_prends_acknowledges_it(live, phone):
    page = enrol(live, phone)
    http = live.client()
    admin = login(http, live.world.users["admin"], PASSWORD)
    pc = http.patch(f"/api/v1/organizations/{live.world.commune_id}", headers=admin, json={"pc_phone": "03 80 51 00 00"})
    assert pc.status_code == 200, pc.text
    event = new_event(live)
    page.goto("/app/#/")
    card = page.locator("a.card", has_text=event["title"])
    expect(card).to_be_visible()
    expect(card).to_contain_text("Vous êtes sollicité")
    expect(card).to_contain_text(re.compile(r"Escalade dans \d+ min \d\d s"))
    expect(card).to_contain_text("Grave")
    expect(card).to_contain_text("avenue Roland Carraz")
    assert "sev3" in card.get_attribute("class")
    assert_french(page)
    screenshot(page, "pwa-list")

    card.click()
    expect(page.locator("h1")).to_have_text(event["title"])
    take = page.get_by_role("button", name="Je prends")
    expect(take).to_be_visible()
    sizes = page.eval_on_selector_all("main .btn", "els => els.map(e => [e.textContent.trim(), "
                                      "e.getBoundingClientRect().width, e.getBoundingClientRect().height])")
    assert len(sizes) >= 6 and all(w >= 48 and h >= 48 for _, w, h in sizes), sizes
    assert [h for name, _, h in sizes if name == "Je prends"][0] >= 60, "the main action is big"
    expect(page.locator("#ev-trace li").first).to_be_visible()
    expect(page.locator("#ev-trace")).to_contain_text("Événement ouvert")
    expect(page.get_by_role("link", name="Appeler le PC")).to_have_attribute("href", "tel:" + pc.json()["pc_phone"])
    expect(page.get_by_role("link", name="Voir sur la carte")).to_have_attribute(
        "href", re.compile(r"^https://www\.openstreetmap\.org/search\?query=avenue"))
    assert_french(page)
    screenshot(page, "pwa-event")

    take.click()
    detail = wait_until(lambda: (d := event_detail(live, event["id"]))["pages"][0]["status"] == "acknowledged" and d,
                        timeout=10, what="the page acknowledged")
    assert detail["pages"][0]["acknowledged_by_person_id"] == live.world.techs[0]
    assert [(r["kind"], r["via"]) for r in detail["responses"]] == [("ack", "app")]
    expect(page.locator("#ev-head")).to_contain_text("Pris en charge par vous")
    expect(page.get_by_role("button", name="Sur place")).to_be_visible()
    expect(page.locator("#ev-trace")).to_contain_text("Je prends — Tech Un")
    page.evaluate("localStorage.setItem('vigie-theme', 'day')")  # the day theme, whatever the hour of the run
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "day")
    expect(page.get_by_role("button", name="Sur place")).to_be_visible()
    screenshot(page, "pwa-event-taken")
    expect(page.locator("#ev-trace")).to_contain_text("Sollicitation acquittée")
    page.locator("#ev-trace li").first.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, document.querySelector('#ev-trace').getBoundingClientRect().top - 80)")
    assert_french(page)
    screenshot(page, "pwa-event-trace")


def test_a_push_shows_a_notification_and_its_je_prends_action_is_posted_by_the_service_worker(live, phone):
    page = enrol(live, phone)
    # A push address for this person (the real one cannot exist without a push service here).
    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()  # noqa: E731
    http = live.client()
    registered = http.post("/api/v1/me/push-subscriptions", headers=device_headers(page), json={
        "endpoint": "http://127.0.0.1:9/push/test", "keys": {"p256dh": b64(key), "auth": b64(os.urandom(16))},
        "label": "test"})
    assert registered.status_code == 201, registered.text

    event = new_event(live)
    pushed = wait_until(lambda: [m for m in live.channels.get(ChannelKind.PUSH).sent
                                 if m.data.get("purpose") == "solicit"], timeout=10, what="the push to Tech Un")[0]
    payload = encode_document(push_document(pushed)).decode()  # exactly what the backend encrypts

    worker = ServiceWorker(live, phone, page)
    worker.push(payload)
    shown = worker.shown(f"page-{pushed.data['page_id']}")
    assert event["number"] in shown["title"] and shown["requireInteraction"] is True
    assert shown["actions"] == [{"action": "ack", "title": "Je prends"}, {"action": "decline", "title": "Indisponible"}]
    assert shown["data"]["event_id"] == event["id"]

    posted_by_page = []
    page.on("request", lambda r: posted_by_page.append(r.url) if r.method == "POST" else None)
    result = worker.action("ack", shown["data"])
    assert result["outcome"] == "sent", result
    assert posted_by_page == [], "the page posted nothing: the service worker did"

    detail = event_detail(live, event["id"])
    assert detail["pages"][0]["status"] == "acknowledged"
    assert [(r["kind"], r["via"], r["person_id"]) for r in detail["responses"]] == [
        ("ack", "push", live.world.techs[0])]
    confirmed = worker.shown(f"page-{pushed.data['page_id']}", "Pris en charge")
    assert confirmed["title"] == f"Pris en charge — {event['number']}"
    assert confirmed["requireInteraction"] is False and confirmed["actions"] == []


def test_answers_given_offline_wait_and_arrive_once_in_order_when_the_network_returns(live, phone):
    page = enrol(live, phone)
    event = new_event(live)
    page.goto(f"/app/#/event/{event['id']}")
    page.get_by_role("button", name="Je prends").click()
    expect(page.get_by_role("button", name="Sur place")).to_be_visible()
    wait_until(lambda: event_detail(live, event["id"])["pages"][0]["status"] == "acknowledged", what="ack")

    phone.set_offline(True)
    page.get_by_role("button", name="Sur place").click()
    page.get_by_role("button", name="Terminé").click()
    expect(page.locator(".chip.wait")).to_have_count(2)
    expect(page.locator(".chip.wait").first).to_contain_text("Sur place — en attente d'envoi")
    expect(page.locator("#net")).to_contain_text("Hors ligne · 2 en attente")
    expect(page.locator(".toast")).to_have_count(0, timeout=6000)
    page.locator(".chip.wait").last.scroll_into_view_if_needed()
    screenshot(page, "pwa-offline")
    page.wait_for_timeout(1000)
    assert [r["kind"] for r in event_detail(live, event["id"])["responses"]] == ["ack"]

    phone.set_offline(False)
    wait_until(lambda: len(event_detail(live, event["id"])["responses"]) == 3, timeout=20, what="the queued answers")
    expect(page.locator(".chip.wait")).to_have_count(0)
    expect(page.locator("#net")).to_be_hidden()
    page.wait_for_timeout(1500)  # nothing more may arrive
    responses = event_detail(live, event["id"])["responses"]
    assert [(r["kind"], r["via"]) for r in responses] == [("ack", "app"), ("on_site", "app"), ("done", "app")]
    assert page.evaluate("Vigie.outbox.all()") == []


def test_indisponible_with_a_quick_reason_passes_the_hand(live, phone):
    page = enrol(live, phone)
    event = new_event(live, title="Inondation de cave")
    page.goto(f"/app/#/event/{event['id']}")
    page.get_by_role("link", name="Indisponible").click()
    for reason in ("Malade", "Hors secteur", "Déjà en intervention", "Autre raison…"):
        expect(page.get_by_role("button", name=reason)).to_be_visible()
    page.get_by_role("button", name="Hors secteur").click()
    detail = wait_until(lambda: (d := event_detail(live, event["id"]))["responses"] and d, what="the decline")
    assert [(r["kind"], r["text"]) for r in detail["responses"]] == [("decline", "Hors secteur")]
    wait_until(lambda: event_detail(live, event["id"])["pages"][0]["current_person_id"] == live.world.techs[1],
               what="the hand passed to Tech Deux")
    expect(page.locator("#ev-head")).to_contain_text("En attente de réponse : Tech Deux")


def test_a_note_and_a_photo_land_in_the_trace(live, phone):
    page = enrol(live, phone)
    event = new_event(live)
    page.goto(f"/app/#/event/{event['id']}")
    expect(page.locator("#photo")).to_have_attribute("capture", "environment")
    page.locator("#note").fill("Balisage posé, voie fermée")
    page.get_by_role("button", name="Envoyer la note").click()
    page.locator("#photo").set_input_files({"name": "arbre.png", "mimeType": "image/png", "buffer": PNG})
    expect(page.locator("#ev-trace")).to_contain_text("Photo ajoutée", timeout=10000)
    expect(page.locator("#ev-trace")).to_contain_text("Balisage posé, voie fermée")
    detail = event_detail(live, event["id"])
    assert [(r["kind"], r["text"]) for r in detail["responses"]] == [("note", "Balisage posé, voie fermée")]


def test_the_app_opens_offline_with_the_last_known_pages(live, phone):
    page = enrol(live, phone)
    event = new_event(live)
    page.goto("/app/#/")
    expect(page.locator("a.card", has_text=event["title"])).to_be_visible()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    phone.set_offline(True)
    page.reload()
    expect(page.locator("a.card", has_text=event["title"])).to_be_visible()
    expect(page.locator(".stale")).to_contain_text("Hors ligne — dernières informations connues")
    expect(page.locator("#net")).to_contain_text("Hors ligne")
    phone.set_offline(False)


@pytest.mark.parametrize("hour,theme", [(23, "night"), (12, "day")])
def test_night_theme_by_default_after_eight_pm(live, phone, hour, theme):
    page = phone.new_page()
    page.add_init_script(f"Date.prototype.getHours = function () {{ return {hour}; }};")
    page.goto("/app/")
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    expect(page.get_by_text("Ce téléphone n'est pas encore inscrit.")).to_be_visible()
    expect(page.get_by_role("link", name="Appareils")).to_be_hidden()


def test_a_link_pasted_into_the_installed_app_enrols_it_too(live, phone):
    """iOS keeps the home-screen app's storage apart from Safari's: the link can be pasted instead."""
    page = phone.new_page()
    page.goto("/app/")
    page.get_by_label("Ou collez ici le lien reçu").fill(enrolment_link(live, live.world.techs[0], TECH1))
    page.get_by_role("button", name="Inscrire ce téléphone").click()
    expect(page.locator("#step-enrol")).to_contain_text("Téléphone inscrit au nom de Tech Un")
