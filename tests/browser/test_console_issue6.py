"""The console's side of issue 6 in a real Chromium (1440×900): the call log in one click and an event opened
from a call, the « Indicateurs » screen (figures against their targets, charts, projected full screen, the CSV export,
alerts that bypassed the PC, the main courante's export), and the event's reports (version 1 at closure,
PDF download, a new version on demand)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_console import console_login, create_event, operator_client, pages  # noqa: F401  (pages: the console's page fixture)
from tests.factories import PASSWORD
from tests.smoke.harness import login

MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]
RAW = re.compile(r"undefined|NaN|null|\d{4}-\d{2}-\d{2}T|\[object")


def assert_readable(locator) -> None:
    """What a user reads: no raw ISO date, no undefined / NaN / null left by the code."""
    text = locator.inner_text()
    assert not RAW.search(text), f"raw value on screen: {RAW.search(text).group(0)!r} in {text!r}"


def reports_to_direction(live) -> None:
    """The procedure's reports go to the commune's « Direction générale » list (Cadre Un, by e-mail)."""
    admin = live.client()
    admin.headers.update(login(admin, live.world.users["admin"], PASSWORD))
    lists = admin.get("/api/v1/distribution-lists", params={"organization_id": live.world.commune_id}).json()
    direction = next(d["id"] for d in lists if d["name"] == "Direction générale")
    response = admin.patch(f"/api/v1/procedures/{live.world.procedure_id}",
                           json={"report_list_ids": [direction], "validate": True})  # an admin: in force at once
    assert response.status_code == 200, response.text


def clear_toasts(page) -> None:
    """The confirmations fade by themselves; a screenshot does not wait for them."""
    page.evaluate("document.getElementById('toasts').replaceChildren()")


def downloaded(page, click) -> tuple[str, bytes]:
    with page.expect_download() as info:
        click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


# ---- (1) the call log: one click per call, an event opened from the answered one ----------------

def test_calls_in_one_click_and_an_event_opened_from_the_answered_call(live, desk, pages):
    world = live.world
    page = pages(desk)
    console_login(page, world.users["operator"])

    strip = page.locator("[data-testid=callbar]")
    expect(strip).to_be_visible()  # from the board
    strip.locator("#cb-org").select_option(str(world.commune_id))
    expect(strip.locator("#cb-day")).to_have_text("Aucun appel aujourd'hui")

    strip.get_by_role("button", name="Appel manqué").click()
    expect(strip.locator(".cb-last")).to_contain_text("Appel manqué enregistré à")
    expect(strip.locator("#cb-day")).to_have_text("1 appel aujourd'hui · 0 % décrochés")

    strip.locator("#cb-category").select_option("police")
    strip.get_by_role("button", name="Appel décroché").click()
    open_from_call = strip.get_by_role("link", name="Ouvrir un événement depuis cet appel")
    expect(open_from_call).to_be_visible()
    expect(strip.locator(".cb-done")).to_have_text(re.compile(r"^Décroché \d{2}:\d{2}$"))
    expect(strip.locator("#cb-day")).to_have_text("2 appels aujourd'hui · 50 % décrochés")
    expect(strip.locator("#cb-category")).to_have_value("citizen")  # ready for the next call

    calls = operator_client(live).get("/api/v1/calls", params={"organization_id": world.commune_id}).json()
    assert sorted((c["answered"], c["caller_category"]) for c in calls) == [(False, "citizen"), (True, "police")]
    answered = next(c for c in calls if c["answered"])

    # The New event form, pre-linked to the call: its commune and its caller are already there.
    open_from_call.click()
    page.wait_for_url(f"**/console/#/nouvel-evenement?appel={answered['id']}")
    expect(page.locator("[data-testid=from-call]")).to_contain_text("Appel décroché à")
    expect(page.locator("[data-testid=from-call]")).to_contain_text("Police, gendarmerie")
    expect(page.locator("select[name=organization_id]")).to_have_value(str(world.commune_id))
    expect(page.locator("select[name=source]")).to_have_value("police")
    expect(page.locator("select[name=procedure_id]")).to_have_value(str(world.procedure_id))
    page.check("input[name=severity][value='2']")
    page.fill("input[name=title]", "Feu de poubelle contre la façade de l'école")
    confirm = page.locator("#confirm-event")
    expect(confirm).to_be_enabled()
    confirm.click()
    page.wait_for_url("**/console/#/evenement/*")
    number = page.locator(".ev-title .number").inner_text()
    assert number
    # The strip says what became of the call, on every screen.
    expect(strip.locator(".cb-last")).to_contain_text(re.compile(rf"Appel de \d{{2}}:\d{{2}} → événement {number}"))

    linked = operator_client(live).get(f"/api/v1/calls/{answered['id']}").json()
    assert linked["event_id"] == int(page.url.rsplit("/", 1)[1])

    # « Journal d'appels »: today's calls, the event's number on the answered one, the day's pick-up rate.
    page.click("nav >> text=Appels")
    view = page.locator("[data-testid=calls-view]")
    expect(view.locator("h1")).to_have_text("Journal d'appels")
    page.locator("#cl-org").select_option(str(world.commune_id))
    rows = view.locator("tbody tr")
    expect(rows).to_have_count(2)
    answered_row = view.locator(f"tr[data-call-id='{answered['id']}']")
    expect(answered_row).to_contain_text("Décroché")
    expect(answered_row).to_contain_text("Police, gendarmerie")
    expect(answered_row.get_by_role("link", name=number)).to_be_visible()
    missed_row = view.locator("tr.missed")
    expect(missed_row).to_contain_text("Manqué")
    expect(missed_row).to_contain_text("Particulier")
    for row in (answered_row, missed_row):
        expect(row.locator(".cl-time")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2}$"))
    pickup = view.locator("[data-testid=tile-pickup]")
    expect(pickup).to_contain_text("50 %")
    expect(pickup).to_contain_text("objectif ≥ 85 %")
    expect(pickup).to_have_class(re.compile(r"\bko\b"))  # below the target: red
    expect(view.locator("#cl-day")).to_contain_text("Aujourd'hui")
    assert_readable(view)
    assert_readable(strip)
    clear_toasts(page)
    screenshot(page, "console-calls")

    # The missed call was an élu's: corrected in its row, the change kept by the server.
    expect(answered_row.locator(".cl-fix-box")).to_have_count(0)  # an event came of it: it stays as it is
    missed_row.locator("summary", has_text="Corriger").click()
    missed_row.locator("select[name=category]").select_option("elu")
    missed_row.get_by_role("button", name="Enregistrer").click()
    expect(view.locator("tr.missed")).to_contain_text("Élu")
    expect(view.locator("tr.missed .tag-inline", has_text="corrigé")).to_be_visible()
    missed = next(c for c in operator_client(live).get("/api/v1/calls").json() if not c["answered"])
    assert missed["corrections"][0]["changes"]["caller_category"] == ["citizen", "elu"]
    expect(pickup).to_contain_text("50 %")  # still one of two

    # The event's number is a way into the event.
    answered_row.get_by_role("link", name=number).click()
    expect(page.locator(".ev-title .number")).to_have_text(number)

    # The same two calls on « Indicateurs »: pick-up rate 50 %, and the charts of the projected page.
    page.click("nav >> text=Indicateurs")
    page.locator("#db-org").select_option(str(world.commune_id))
    tile = page.locator("[data-testid=tile-pickup]")
    expect(tile).to_contain_text("50 %")
    expect(tile).to_contain_text("1 décroché sur 2 appels")
    by_month = page.locator("[data-testid=dashboard-charts] figure[data-chart='Événements par mois']")
    expect(by_month.locator("svg rect")).not_to_have_count(0)
    expect(by_month.locator("svg")).to_be_visible()


# ---- (2) « Indicateurs »: figures, charts, CSV, alerts outside the PC, the main courante ---------

def test_dashboard_figures_charts_csv_bypassed_alerts_and_archive(live, desk, pages):
    world = live.world
    reports_to_direction(live)
    client = operator_client(live)
    for answered in (True, False, True, True):
        assert client.post("/api/v1/calls", json={"organization_id": world.commune_id, "answered": answered,
                                                  "caller_category": "citizen"}).status_code == 201
    assert client.post("/api/v1/calls", json={"organization_id": world.other_commune_id, "answered": False}
                       ).status_code == 201
    event = create_event(client, world)
    assert client.post(f"/api/v1/events/{event['id']}/close", json={"reason": "Voie dégagée"}).status_code == 200

    page = pages(desk)
    console_login(page, world.users["operator"])
    page.click("nav >> text=Indicateurs")
    view = page.locator("[data-testid=dashboard]")
    expect(view.locator("h1")).to_have_text("Indicateurs de la convention")
    # Default: the last two months, all the communes.
    expect(view.get_by_role("button", name="Deux derniers mois")).to_have_class(re.compile(r"\bactive\b"))
    expect(view.locator("#db-period-text")).to_contain_text("Toutes les communes")
    expect(view.locator("[data-testid=tile-pickup]")).to_contain_text("60 %")  # 3 of 5, both communes
    expect(view.locator("[data-testid=tile-pickup]")).to_contain_text("3 décrochés sur 5 appels")

    view.locator("#db-org").select_option(str(world.commune_id))
    pickup = view.locator("[data-testid=tile-pickup]")
    expect(pickup).to_contain_text("75 %")
    expect(pickup).to_have_class(re.compile(r"\bko\b"))
    reports = view.locator("[data-testid=tile-reports]")
    expect(reports).to_contain_text("1")  # the closure's report, sent to the procedure's list
    expect(reports).to_have_class(re.compile(r"\bok\b"))
    expect(view.locator("[data-testid=tile-events]")).to_contain_text("1")
    expect(view.locator("#db-period-text")).to_contain_text("Ville de Chenôve")

    # The charts, drawn from the figures.
    charts = view.locator("[data-testid=dashboard-charts] figure")
    expect(charts).to_have_count(8)
    by_month = view.locator("figure[data-chart='Événements par mois']")
    expect(by_month.locator("svg rect")).not_to_have_count(0)  # one bar per month of the period
    expect(by_month.locator("svg")).to_contain_text("1")
    expect(view.locator("figure[data-chart='Événements par catégorie']")).to_contain_text("Chute d'arbre sur la voirie")
    expect(view.locator("figure[data-chart='Événements par gravité']")).to_contain_text("Grave")
    box = by_month.locator("svg").bounding_box()
    assert box["width"] > 500 and box["height"] > 180  # big enough to be looked at

    # « Ce mois » and « Mois dernier »: the period follows, the figures too.
    view.get_by_role("button", name="Mois dernier").click()
    expect(view.get_by_role("button", name="Mois dernier")).to_have_class(re.compile(r"\bactive\b"))
    expect(pickup).to_contain_text("—")
    expect(pickup).to_contain_text("aucun appel")
    view.get_by_role("button", name="Ce mois").click()
    expect(pickup).to_contain_text("75 %")
    local = datetime.now(ZoneInfo("Europe/Paris"))
    expect(view.locator("input[name=from]")).to_have_value(f"01/{local:%m/%Y}")
    expect(view.locator("input[name=to]")).to_have_value(f"{local:%d/%m/%Y}")

    # The CSV export, downloaded with the token.
    name, body = downloaded(page, lambda: view.get_by_role("button", name="Exporter CSV").click())
    assert name.startswith("indicateurs-") and name.endswith(".csv")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == "rubrique;indicateur;valeur;objectif"
    assert "appels;appels reçus;4;" in lines

    # Alerts that bypassed the PC: recorded here, listed for the period, counted in the tile.
    form = view.locator("#bypassed-form")
    form.locator("button[type=submit]").click()
    expect(form.locator(".form-error")).to_have_text("Indiquez la nature des alertes.")
    form.locator("input[name=category]").fill("Chute d'arbre sur la voirie")
    form.locator("input[name=count]").fill("3")
    form.locator("input[name=description]").fill("Signalées directement aux services techniques")
    form.locator("button[type=submit]").click()
    listed = view.locator("[data-testid=bypassed-list]")
    expect(listed.locator("tbody tr")).to_have_count(1)
    expect(listed).to_contain_text("Sur la période : 3 alertes")
    expect(listed).to_contain_text("Chute d'arbre sur la voirie")
    expect(listed.locator("tbody tr td").first).to_have_text(re.compile(r"^\d{2}/\d{2}/\d{4} à \d{2}:\d{2}$"))
    expect(view.locator("[data-testid=tile-bypassed]")).to_contain_text("3")
    assert_readable(view.locator("#db-tiles"))
    assert_readable(listed)
    view.get_by_role("button", name="Deux derniers mois").click()  # back to the meeting's period
    expect(view.get_by_role("button", name="Deux derniers mois")).to_have_class(re.compile(r"\bactive\b"))
    expect(pickup).to_contain_text("75 %")
    expect(view.locator("figure[data-chart='Événements par mois'] svg")).to_contain_text(MONTHS[local.month - 1])
    page.evaluate("window.scrollTo(0, 0)")
    clear_toasts(page)
    screenshot(page, "console-dashboard")

    # The main courante of the period, for the archives.
    name, body = downloaded(page, lambda: view.get_by_role("button", name="Exporter la main courante (CSV)").click())
    assert name.startswith("main-courante-") and name.endswith(".csv")
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("commune;evenement;seq;")
    assert event["number"] in text
    name, body = downloaded(page, lambda: view.get_by_role("button", name="JSON", exact=True).click())
    assert name.endswith(".json") and event["number"] in body.decode()

    # « Projeter »: this screen's figures and charts, full screen.
    view.get_by_role("button", name="Projeter").click()
    page.wait_for_function("document.fullscreenElement?.id === 'db-projection'")
    page.evaluate("document.exitFullscreen()")
    page.wait_for_function("!document.fullscreenElement")

    # Longvic (a missed call, no event): projected full screen, with its name and the same eight charts.
    view.locator("#db-org").select_option(str(world.other_commune_id))
    expect(pickup).to_contain_text("0 %")
    expect(pickup).to_contain_text("0 décroché sur 1 appel")
    expect(view.locator("figure[data-chart='Événements par mois']")).to_contain_text("Aucune donnée sur la période")
    view.get_by_role("button", name="Projeter").click()
    page.wait_for_function("document.fullscreenElement?.id === 'db-projection'")
    projected = page.locator("[data-testid=dashboard-projection]")
    expect(projected.locator("#db-projection-title")).to_contain_text("Ville de Longvic")
    expect(projected.locator(".tiles")).to_contain_text("Taux de décroché")
    expect(projected.locator("figure.chart")).to_have_count(8)
    assert projected.bounding_box()["width"] == 1440
    page.evaluate("document.exitFullscreen()")
    page.wait_for_function("!document.fullscreenElement")


# ---- (3) the event's reports -----------------------------------------------------------------

def test_closed_event_shows_its_report_version_1_and_downloads_the_pdf(live, desk, pages):
    world = live.world
    reports_to_direction(live)
    event = create_event(operator_client(live), world, title="Candélabre tombé sur le trottoir")
    page = pages(desk)
    console_login(page, world.users["operator"])
    page.goto(f"/console/#/evenement/{event['id']}")
    section = page.locator("[data-testid=reports]")
    expect(section).to_contain_text("Le rapport est rédigé à la clôture")

    close = page.locator("#close-form")
    close.locator("textarea[name=reason]").fill("Candélabre mis en sécurité par l'astreinte technique")
    close.locator("textarea[name=follow_up]").fill("Remplacement à programmer par le service éclairage public")
    close.locator("button[type=submit]").click()
    expect(page.locator(".closed-box")).to_contain_text("Suite à donner (heures ouvrées) : Remplacement à programmer")

    first = section.locator(".report[data-version='1']")
    expect(first).to_contain_text("Version 1")
    expect(first).to_contain_text("à la clôture")
    expect(first).to_contain_text("envoyé à Direction générale : Cadre Un")
    expect(page.locator("[data-testid=trace] [data-kind='report.sent']")).to_contain_text("Version 1, à la clôture")

    name, body = downloaded(page, lambda: first.get_by_role("button", name="PDF").click())
    assert body.startswith(b"%PDF")
    assert name == f"rapport-{event['id']}-v1.pdf"
    name, body = downloaded(page, lambda: first.get_by_role("button", name="HTML").click())
    assert name.endswith(".html") and "Candélabre tombé sur le trottoir" in body.decode()

    # « Nouveau rapport », not sent this time: version 2, on top.
    section.locator("input[name=send]").uncheck()
    section.get_by_role("button", name="Nouveau rapport").click()
    second = section.locator(".report").first
    expect(second).to_have_attribute("data-version", "2")
    expect(second).to_contain_text("à la demande")
    expect(second).to_contain_text("non diffusé")
    expect(section.locator(".report")).to_have_count(2)
    assert_readable(section)
    clear_toasts(page)
    screenshot(page, "console-event-reports")

    # « Voir »: the report itself, in the console.
    first.get_by_role("button", name="Voir").click()
    dialog = page.locator("#report-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_contain_text("version 1")
    expect(page.frame_locator("#report-frame").locator("body")).to_contain_text("Candélabre tombé sur le trottoir")
    expect(dialog.get_by_text("Chargement…")).to_be_hidden()
    dialog.get_by_role("button", name="Fermer").click()
    expect(dialog).to_be_hidden()


# ---- (4) a referent reads the figures and the reports, and does not log the PC's calls ---------------

def test_referent_reads_figures_and_reports_without_the_call_strip(live, desk, pages):
    world = live.world
    client = operator_client(live)
    event = create_event(client, world)
    assert client.post(f"/api/v1/events/{event['id']}/close", json={"reason": "Voie dégagée"}).status_code == 200
    page = pages(desk)
    console_login(page, world.users["referent"])
    expect(page.locator("[data-testid=callbar]")).to_be_hidden()
    page.goto(f"/console/#/evenement/{event['id']}")
    section = page.locator("[data-testid=reports]")
    expect(section.locator(".report[data-version='1']")).to_be_visible()
    expect(section.get_by_role("button", name="Nouveau rapport")).to_have_count(0)
    page.click("nav >> text=Indicateurs")
    expect(page.locator("[data-testid=tile-reports]")).to_contain_text("1")
    # A referent records their own commune's alerts outside the PC.
    form = page.locator("#bypassed-form")
    form.locator("input[name=category]").fill("Inondation de cave")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=bypassed-list]")).to_contain_text("Inondation de cave")
    http = live.client()
    http.headers.update(login(http, world.users["referent"], PASSWORD))
    assert [a["category"] for a in http.get("/api/v1/bypassed-alerts").json()] == ["Inondation de cave"]


# ---- (4) live lists: a call from the telephony and a planning change appear without a reload --------------

def test_calls_from_the_telephony_and_planning_changes_appear_live(live, desk, pages):
    world = live.world
    page = pages(desk)
    console_login(page, world.users["operator"])
    api = operator_client(live)
    page.click("nav >> text=Appels")
    view = page.locator("[data-testid=calls-view]")
    page.locator("#cl-org").select_option(str(world.commune_id))
    expect(view.locator(".empty-line")).to_be_visible()
    response = api.post("/api/v1/calls", json={"organization_id": world.commune_id, "answered": False,
                                               "external_id": "pbx-live-1", "caller_number": "+33639980177"})
    assert response.status_code == 201, response.text
    # The screens re-read on the socket's notice (their timer is 5 minutes): well within 5 seconds.
    expect(view.locator("tbody tr")).to_have_count(1, timeout=5000)
    expect(view.locator("tbody tr")).to_contain_text("+33639980177")
    expect(page.locator("[data-testid=callbar] #cb-day")).to_contain_text("1 appel aujourd'hui", timeout=5000)

    admin = live.client()
    admin.headers.update(login(admin, world.users["admin"], PASSWORD))
    page.click("nav >> text=Planning")
    page.select_option("#pl-org", str(world.commune_id))
    grid = page.locator("#pl-grid")
    expect(grid).to_contain_text("aujourd'hui")  # the week is read: no rotation yet, nobody holds a turn
    expect(grid.locator(".pl-shift")).to_have_count(0)
    un, deux, trois = world.techs
    today = datetime.now(ZoneInfo("Europe/Paris")).date()  # a turn from today 00:00: Tech Trois holds it now
    rotation = admin.put(f"/api/v1/groups/{world.tech_group_id}/rotation", json={
        "member_ids": [trois, un, deux], "anchor_local": f"{today}T00:00:00", "turn_days": 7,
        "effective_from": "2026-01-01T00:00:00+00:00"})
    assert rotation.status_code == 200, rotation.text
    expect(grid.locator(".pl-shift").first).to_be_visible(timeout=5000)
    expect(grid.locator(".pl-shift", has_text="Tech Trois").first).to_be_visible()
