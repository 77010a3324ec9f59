"""The PC operator console (/console) in a real browser: login, new event with its preview,
the live board, the event view's actions, and reconnection after a drop or a server restart."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESK, screenshot
from tests.factories import PASSWORD, build_world, login
from tests.smoke.harness import LiveServer, free_port

LIVE = "#live-status[data-state=live]"


# ---- helpers --------------------------------------------------------------------------------

@pytest.fixture
def pages():
    """Opens pages that must raise no uncaught JavaScript error (checked at teardown)."""
    errors: list[str] = []

    def open_page(context):
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    assert errors == [], f"uncaught errors in the console: {errors}"


def console_login(page, email: str) -> None:
    page.goto("/console/")
    page.fill("input[name=username]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Se connecter')")
    expect(page.locator(LIVE)).to_be_visible(timeout=10_000)


def operator_client(server):
    client = server.client()
    client.headers.update(login(client, server.world.users["operator"]))
    return client


def create_event(client, world, **extra) -> dict:
    body = {"organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
            "title": "Arbre sur la chaussée", "place": "Rue Roger Salengro", "source": "police",
            "caller_name": "Brigadier Martin", "callback_number": "+33639980199", **extra}
    response = client.post("/api/v1/events", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def card(page, event: dict):
    return page.locator(f".card[data-event-id='{event['id']}']")


def open_event_view(page, event: dict):
    """From the board to the event's screen, its main courante loaded; returns the trace."""
    card(page, event).locator(".title a").click()
    page.wait_for_url(f"**/console/#/evenement/{event['id']}")
    trace = page.locator("[data-testid=trace]")
    expect(trace.locator("[data-kind='event.created']")).to_have_count(1)
    return trace


def person_state(scope, person_id: int):
    return scope.locator(f"[data-person-id='{person_id}'] .pstate").first


# ---- login, session, logout --------------------------------------------------------------

def test_login_session_and_logout(live, desk, pages):
    world = live.world
    page = pages(desk)
    page.goto("/")  # the root redirects to the console
    page.wait_for_url("**/console/")
    page.fill("input[name=username]", world.users["operator"])
    page.fill("input[name=password]", "not the password")
    page.click("button:has-text('Se connecter')")
    expect(page.locator("#login-error")).to_have_text("Identifiant ou mot de passe incorrect.")
    screenshot(page, "console-login")

    page.fill("input[name=username]", world.users["oncall"])  # a phone user, not a PC operator
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Se connecter')")
    expect(page.locator("#login-error")).to_have_text("Ce compte n'a pas accès à la console du PC.")

    console_login(page, world.users["operator"])
    expect(page.locator("#user-name")).to_have_text("Operator")
    bearer = page.evaluate("sessionStorage.getItem('vigie.console.token')")
    assert bearer
    page.reload()  # the token is kept for the tab's life
    expect(page.locator(LIVE)).to_be_visible()

    page.click("button:has-text('Se déconnecter')")
    expect(page.locator("#login-form")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('vigie.console.token')") is None
    assert live.client().get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"}).status_code == 401

    # A session revoked elsewhere: the server closes the live socket at once, and the console
    # sends the operator back to the login without waiting for a request to fail.
    console_login(page, world.users["operator"])
    expect(page.locator(LIVE)).to_be_visible()
    bearer = page.evaluate("sessionStorage.getItem('vigie.console.token')")
    assert live.client().post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {bearer}"}).status_code == 204
    expect(page.locator("#login-error")).to_have_text("Votre session a expiré : reconnectez-vous.", timeout=5000)


# ---- (1) new event through the form, preview first; then the board -------------------------

def test_new_event_form_shows_who_will_be_solicited_then_the_board(live, desk, pages):
    world = live.world
    page = pages(desk)
    console_login(page, world.users["operator"])

    page.click("nav >> text=Nouvel événement")
    page.select_option("select[name=organization_id]", str(world.commune_id))
    expect(page.locator("select[name=procedure_id]")).to_have_value(str(world.procedure_id))  # the only one
    page.check("input[name=severity][value='3']")
    page.fill("input[name=title]", "Arbre tombé en travers de la chaussée")
    page.fill("textarea[name=description]", "Platane de 15 m, la voie est coupée dans les deux sens. Pas de blessé.")
    page.fill("input[name=place]", "Avenue Roland Carraz, face au n° 42")
    page.select_option("select[name=source]", "sdis")
    page.fill("input[name=caller_name]", "Chef d'agrès Dupont (SDIS 21)")
    page.fill("input[name=callback_number]", "06 39 98 01 99")

    preview = page.locator("[data-testid=preview]")
    expect(preview.locator(".pv-person").first).to_be_visible()
    names = preview.locator(".pv-name").all_inner_texts()
    assert names == ["Tech Un", "Tech Deux", "Tech Trois", "Cadre Un", "Cadre Deux"]  # roster order, techs first
    expect(preview).to_contain_text("Astreinte technique")
    expect(preview).to_contain_text("Informés (sans acquittement)")
    expect(preview).to_contain_text("Elu Un")
    confirm = page.locator("#confirm-event")
    expect(confirm).to_be_enabled()
    screenshot(page, "console-new-event")

    # Changing the severity refreshes the preview (severity 1: nobody is solicited).
    page.check("input[name=severity][value='1']")
    expect(preview).to_contain_text("personne n'est sollicité")
    page.check("input[name=severity][value='3']")
    expect(preview.locator(".pv-name").first).to_have_text("Tech Un")
    expect(confirm).to_be_enabled()
    confirm.click()

    page.wait_for_url("**/console/#/evenement/*")
    trace = page.locator("[data-testid=trace]")
    expect(trace.locator("[data-kind='event.created'] .tkind")).to_have_text("Événement créé")
    expect(trace.locator("[data-kind='page.notify']").first).to_contain_text("Tech Un")

    client = operator_client(live)
    events = client.get("/api/v1/events", params={"status": "open"}).json()
    assert [e["title"] for e in events] == ["Arbre tombé en travers de la chaussée"]
    created = client.get(f"/api/v1/events/{events[0]['id']}").json()
    assert created["source"] == "sdis" and created["severity"] == 3
    assert created["callback_number"] and created["caller_name"] == "Chef d'agrès Dupont (SDIS 21)"
    # A second event, gravest, to see the board sort and group.
    other = create_event(client, world, severity=4, title="Inondation du passage souterrain",
                         place="Passage sous la voie ferrée, rue de Longvic")

    page.click("nav >> text=Tableau de bord")
    board = page.locator("[data-testid=board]")
    expect(board.locator(".commune h2").first).to_contain_text("Ville de Chenôve")
    first = card(page, created)
    expect(first).to_contain_text("Arbre tombé en travers de la chaussée")
    expect(first).to_contain_text("Grave")
    expect(person_state(first, world.techs[0])).to_have_text("Remis")  # queued → sent → delivered
    expect(person_state(first, world.techs[1])).to_have_text("Pas encore sollicité")
    expect(first.locator(".countdown")).to_contain_text("Tech Deux")
    expect(card(page, other)).to_contain_text("Critique")
    # Gravest first within the commune.
    assert board.locator(".card").first.get_attribute("data-event-id") == str(other["id"])
    screenshot(page, "console-board")


# ---- (2) an acknowledgement reaches the console within a second -------------------------------

def test_acknowledgement_appears_on_the_board_within_one_second(live, desk, pages):
    world = live.world
    page = pages(desk)
    console_login(page, world.users["operator"])
    event = create_event(operator_client(live), world)
    tech = world.techs[0]
    expect(person_state(card(page, event), tech)).to_have_text("Remis")

    oncall = live.client()
    oncall.headers.update(login(oncall, world.users["oncall"]))
    response = oncall.post(f"/api/v1/events/{event['id']}/responses", json={"kind": "ack", "via": "app"})
    returned = time.monotonic()
    assert response.status_code == 201, response.text
    page.wait_for_function(
        """([eventId, personId]) => {
             const node = document.querySelector(
               `.card[data-event-id='${eventId}'] [data-person-id='${personId}'] .pstate`);
             return node && node.textContent.trim() === "Pris en charge";
           }""", arg=[event["id"], tech], polling="raf", timeout=3000)
    elapsed = time.monotonic() - returned
    assert elapsed <= 1.0, f"the acknowledgement took {elapsed:.3f} s to show"
    expect(card(page, event).locator(".status")).to_have_text("Pris en charge")
    print(f"acknowledgement shown {elapsed * 1000:.0f} ms after the POST returned")


# ---- (3) the event view: on someone's behalf, note, requalify, close ----------------------------

def test_event_view_acknowledge_on_behalf_note_requalify_close(live, desk, pages):
    world = live.world
    client = operator_client(live)
    event = create_event(client, world, description="Signalé par une patrouille, branches sur les câbles.")
    page = pages(desk)
    console_login(page, world.users["operator"])
    trace = open_event_view(page, event)

    # On someone's behalf: anyone on call in the commune (Tech Un, solicited, first), and a reason is required.
    ack = page.locator("#ack-form")
    expect(ack.locator("select[name=person_id] option")).to_have_count(7)  # the prompt + the 6 on call
    expect(ack.locator("optgroup[label='Déjà sollicités'] option")).to_have_count(1)
    expect(ack.locator("optgroup[label='Déjà sollicités'] option")).to_contain_text("Tech Un")
    ack.locator("select[name=person_id]").select_option(str(world.techs[0]))
    ack.locator("button[type=submit]").click()
    expect(ack.locator(".form-error")).to_contain_text("Indiquez pourquoi vous répondez à sa place")
    refused = client.post(f"/api/v1/events/{event['id']}/responses",
                          json={"kind": "ack", "person_id": world.techs[0], "reason": ""})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "reason_required"
    ack.locator("textarea[name=reason]").fill("Joint par téléphone au 06 39 98 01 01, part sur place")
    ack.locator("button[type=submit]").click()
    on_behalf = trace.locator("[data-kind='response.ack']")
    expect(on_behalf.locator(".tkind")).to_have_text("Pris en charge")
    expect(on_behalf).to_contain_text("saisi par Operator pour son compte : Joint par téléphone")
    expect(page.locator("#ev-status")).to_have_text("Pris en charge")
    expect(person_state(page.locator("#ev-pages"), world.techs[0])).to_have_text("Pris en charge")

    note = page.locator("#note-form")
    note.locator("textarea[name=text]").fill("La police sécurise le périmètre en attendant l'astreinte.")
    note.locator("button[type=submit]").click()
    expect(trace.locator("[data-kind='response.note']")).to_contain_text("La police sécurise le périmètre")

    requalify = page.locator("#requalify-form")
    requalify.locator("select[name=severity]").select_option("4")
    requalify.locator("textarea[name=reason]").fill("Ligne électrique touchée")
    requalify.locator("button[type=submit]").click()
    expect(trace.locator("[data-kind='event.requalified']")).to_contain_text("Grave → Critique · Ligne électrique touchée")
    expect(page.locator("#ev-severity")).to_have_text("Critique")
    expect(page.locator(".toast").last).to_have_text("Événement requalifié.")
    expect(page.locator(".toast")).to_have_count(0, timeout=5000)
    screenshot(page, "console-event")

    close = page.locator("#close-form")
    close.locator("button[type=submit]").click()
    expect(close.locator(".form-error")).to_have_text("Indiquez le motif de clôture.")
    close.locator("textarea[name=reason]").fill("Arbre dégagé, voie rouverte à 23 h 40")
    close.locator("button[type=submit]").click()
    expect(trace.locator("[data-kind='event.closed']")).to_contain_text("Motif : Arbre dégagé, voie rouverte")
    expect(page.locator("#ev-status")).to_have_text("Clos")
    expect(page.locator("#ev-actions")).to_be_hidden()
    expect(page.locator(".closed-box")).to_contain_text("Arbre dégagé")
    assert client.get(f"/api/v1/events/{event['id']}").json()["status"] == "closed"

    page.click("nav >> text=Tableau de bord")
    expect(page.locator(".empty")).to_contain_text("Aucun événement en cours")


# ---- unreached pages flash, with a sound ---------------------------------------------------

def test_unreached_page_flashes_and_sounds(live, desk, pages):
    world = live.world
    admin = live.client()
    admin.headers.update(login(admin, world.users["admin"]))
    fast = admin.post("/api/v1/procedures", json={
        "organization_id": world.commune_id, "category": "Alerte capteur de crue",
        "timings": {"2": {"ack_timeout_s": 1, "repeats": 0}},
        "steps": [{"group_id": world.tech_group_id}], "validate": True})
    assert fast.status_code == 201, fast.text
    page = pages(desk)
    console_login(page, world.users["operator"])
    event = create_event(operator_client(live), world, procedure_id=fast.json()["id"], severity=2,
                         title="Niveau haut au capteur de l'Ouche", source="sensor")
    ringing = card(page, event)
    expect(page.locator(f".card.alarm-ringing[data-event-id='{event['id']}']")).to_be_visible(timeout=10_000)
    expect(ringing.locator(".alarm-box")).to_contain_text("Personne n'a répondu")
    expect(page.locator("#alarm-indicator")).to_have_text("1 événement sans réponse")
    assert page.evaluate("window.vigieConsole.sound.beeps") >= 1
    screenshot(page, "console-alarm")

    ringing.locator("button:has-text('Couper le son')").click()
    expect(page.locator(f".card.alarm-silenced[data-event-id='{event['id']}']")).to_be_visible()
    beeps = page.evaluate("window.vigieConsole.sound.beeps")
    page.wait_for_timeout(8500)  # past the repeat period: silenced means silent
    assert page.evaluate("window.vigieConsole.sound.beeps") == beeps


# ---- (4) reconnection ---------------------------------------------------------------------

class RestartableServer:
    """The whole app on one fixed port, stopped and started again on the same database."""

    def __init__(self, settings, channels):
        self.settings = settings
        self.channels = channels
        self.port = free_port()
        self.server: LiveServer | None = None
        self.world = None
        settings.public_url = self.url

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from backend.app import create_app

        app = create_app(self.settings, channels=self.channels, run_worker=True)
        self.server = LiveServer(app, port=self.port).__enter__()
        if self.world is None:
            self.world = build_world(app.state.runtime.session_factory, ack_timeout_s=120)

    def stop(self) -> None:
        self.server.__exit__(None, None, None)
        self.server = None

    def client(self):
        return self.server.client()


@pytest.fixture
def restartable(settings, recording_channels):
    server = RestartableServer(settings, recording_channels)
    server.start()
    yield server
    if server.server is not None:
        server.stop()


@pytest.fixture
def desk_on_restartable(playwright_browser, restartable):
    context = playwright_browser.new_context(base_url=restartable.url, **DESK)
    yield context
    context.close()


def test_console_resumes_after_a_server_restart(restartable, desk_on_restartable, pages):
    world = restartable.world
    page = pages(desk_on_restartable)
    console_login(page, world.users["operator"])
    before = create_event(operator_client(restartable), world, title="Avant le redémarrage")
    expect(card(page, before)).to_be_visible()

    restartable.stop()
    expect(page.locator("#reconnect-banner")).to_be_visible()
    expect(page.locator("#reconnect-banner")).to_contain_text("Reconnexion…")
    screenshot(page, "console-reconnecting")
    restartable.start()  # same port, same database
    expect(page.locator(LIVE)).to_be_visible(timeout=10_000)  # backoff capped at 5 s
    expect(page.locator("#reconnect-banner")).to_be_hidden()

    client = operator_client(restartable)
    after = create_event(client, world, title="Après le redémarrage")
    expect(card(page, after)).to_be_visible()
    note = client.post(f"/api/v1/events/{before['id']}/responses",
                       json={"kind": "note", "text": "Toujours suivi après le redémarrage"})
    assert note.status_code == 201
    card(page, before).locator(".title a").click()
    expect(page.locator("[data-testid=trace] [data-kind='response.note']")).to_contain_text("Toujours suivi")
    assert page.evaluate("window.vigieConsole.store.connections") == 2


def test_entries_made_while_the_socket_was_closed_arrive_exactly_once(restartable, desk_on_restartable, pages):
    world = restartable.world
    page = pages(desk_on_restartable)
    console_login(page, world.users["operator"])
    client = operator_client(restartable)
    first = create_event(client, world, title="Premier événement")
    expect(card(page, first)).to_be_visible()

    page.evaluate("window.vigieConsole.live.ws.close()")  # the console's socket drops
    missed = create_event(client, world, title="Créé pendant la coupure", severity=2)
    note = client.post(f"/api/v1/events/{first['id']}/responses", json={"kind": "note", "text": "Pendant la coupure"})
    assert note.status_code == 201
    # Still down when the API answered: these entries can only come from the resume (?after=).
    assert page.evaluate("window.vigieConsole.live.connected") is False
    expect(page.locator("#reconnect-banner")).to_be_visible()

    expect(page.locator(LIVE)).to_be_visible(timeout=10_000)
    expect(card(page, missed)).to_have_count(1)
    expect(card(page, missed)).to_contain_text("Créé pendant la coupure")
    replayed = page.evaluate(f"""[...window.vigieConsole.store.traces.get({missed['id']}).values()]
                                 .filter(e => e.kind === 'event.created')
                                 .map(e => window.vigieConsole.store.viaBacklog.has(e.id))""")
    assert replayed == [True], "the missed entry comes once, from the replay after reconnecting"

    card(page, missed).locator(".title a").click()
    trace = page.locator("[data-testid=trace]")
    expect(trace.locator("[data-kind='page.notify']").first).to_be_visible()
    expect(trace.locator("[data-kind='event.created']")).to_have_count(1)
    entries = trace.locator("[data-id]")
    ids = [entries.nth(i).get_attribute("data-id") for i in range(entries.count())]
    assert len(ids) == len(set(ids))
    page.goto(f"/console/#/evenement/{first['id']}")
    expect(trace.locator("[data-kind='response.note']")).to_have_count(1)
