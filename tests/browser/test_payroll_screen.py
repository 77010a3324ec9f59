"""« Paie des astreintes » in a real Chromium (1440×900): the month computed from the console (a version « À valider »,
its total in French, the agents, what to check, who is not paid), the CSV downloaded with the token, the referent's
sign-off, a re-computation that supersedes it, the operator who computes but does not validate, and the commune's
payroll settings edited from the screen.

The month is November 2026, seeded in the live server's database as tests/backend/test_payroll.py seeds it (the
figures there are computed by hand); the screen is checked against what the API returns.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete

from backend.coverage.models import CoverageSettings
from backend.db import transaction
from backend.people.models import Person
from backend.schedule.models import Override, Rotation
from tests.backend.test_payroll import PARIS, add_override, answer, close, open_event, paris, put_rotation, utc
from tests.browser.conftest import screenshot
from tests.browser.test_console import console_login, pages  # noqa: F401  (pages: the console's page fixture)
from tests.browser.test_console_issue6 import assert_readable, clear_toasts, downloaded
from tests.factories import PASSWORD
from tests.smoke.harness import login

API = "/api/v1"
MONTH = "2026-11"
CSV_HEADER = "période;collectivité;matricule;nom;prénom;code_rubrique;libellé;quantité;taux;montant;référence"
NOT_EDITOR = "La validation revient au référent de la commune ou à un administrateur."


def euros(amount: str) -> str:
    """"1005.71" as the screen writes it: "1 005,71 €" (spaces normalised)."""
    return f"{Decimal(amount):,.2f}".replace(",", " ").replace(".", ",") + " €"


def spaces(text: str) -> str:
    return re.sub(r"[\s\u00a0\u202f]+", " ", text)


class Staff:
    """Logged-in HTTP clients of the live server, one per role of the test world."""

    def __init__(self, live):
        self.live = live
        self.headers: dict[str, dict] = {}

    def __call__(self, role: str) -> dict:
        if role not in self.headers:
            self.headers[role] = login(self.live.client(), self.live.world.users[role], PASSWORD)
        return self.headers[role]

    def client(self, role: str):
        return self.live.client(self(role))


@pytest.fixture
def november(live):
    """November 2026 as tests/backend/test_payroll.py's `november`: a rotation, three replacements (one agreed at
    short notice), two interventions by Tech Un (one without « terminé », one that breaks his daily rest)."""
    world = live.world
    runtime = live.app.state.runtime
    staff = Staff(live)
    http = live.client()
    un, deux, trois = world.techs
    with transaction(runtime.session_factory) as s:
        s.execute(delete(CoverageSettings).where(CoverageSettings.organization_id == world.commune_id))
        s.get(Person, un).employee_number = "T001"
        s.get(Person, deux).employee_number = "T002"  # Tech Trois has none
    rotations = [put_rotation(http, staff, world.tech_group_id, [un, deux, trois]),
                 put_rotation(http, staff, world.elu_group_id, world.elus)]
    # (from, to, who, in place of whom, when it was agreed)
    overrides = [(add_override(http, staff, world, paris(*start), paris(*end), person, replaced), told)
                 for start, end, person, replaced, told in (
                     ((2026, 11, 6, 17, 30), (2026, 11, 9, 8, 30), un, trois, (2026, 10, 1, 9)),
                     ((2026, 11, 16, 8, 30), (2026, 11, 19, 8, 30), un, deux, (2026, 10, 1, 9)),
                     ((2026, 11, 29, 8, 30), (2026, 11, 30, 8, 30), un, trois, (2026, 11, 25, 14)))]
    with transaction(runtime.session_factory) as s:
        for rotation_id in rotations:
            s.get(Rotation, rotation_id).created_at = utc(paris(2026, 9, 1, 10))
        for override_id, told in overrides:
            s.get(Override, override_id).created_at = utc(paris(*told))
    first = open_event(runtime, world, paris(2026, 11, 10, 21, 30))
    for kind, at in (("ack", (2026, 11, 10, 21, 34)), ("en_route", (2026, 11, 10, 21, 40)),
                     ("on_site", (2026, 11, 10, 22, 5)), ("done", (2026, 11, 11, 1, 15))):
        answer(runtime, world, first, un, kind, paris(*at))
    close(runtime, world, first, paris(2026, 11, 11, 1, 30))
    second = open_event(runtime, world, paris(2026, 11, 16, 23, 40))
    answer(runtime, world, second, un, "ack", paris(2026, 11, 16, 23, 43))
    answer(runtime, world, second, un, "on_site", paris(2026, 11, 17, 0, 20))
    close(runtime, world, second, paris(2026, 11, 17, 2, 10))
    return staff


def open_payroll(page, world) -> None:
    page.click("nav >> text=Paie des astreintes")
    page.wait_for_url("**/console/#/paie")
    view = page.locator("[data-testid=payroll]")
    expect(view.locator("h1")).to_have_text("Paie des astreintes")
    view.locator("#py-org").select_option(str(world.commune_id))
    view.locator("#py-month").select_option(MONTH)
    expect(view.locator("#py-month option:checked")).to_have_text("novembre 2026")


def versions(live, staff) -> list[dict]:
    response = staff.client("operator").get(f"{API}/organizations/{live.world.commune_id}/payroll-exports",
                                            params={"month": MONTH})
    assert response.status_code == 200, response.text
    return response.json()


def header_overflows(page) -> bool:
    return page.evaluate("""() => { const bar = document.querySelector('.topbar');
        const out = document.getElementById('logout').getBoundingClientRect();
        return bar.scrollWidth > bar.clientWidth || out.right > window.innerWidth
               || bar.getBoundingClientRect().height > 57; }""")


def log_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.locator("#login")).to_be_visible()


def test_the_month_computed_downloaded_validated_then_computed_again(live, desk, pages, november):
    world = live.world
    un, deux, trois = world.techs
    page = pages(desk)
    console_login(page, world.users["operator"])
    # The header holds its six screens, the clock and the user on one line at 1440 px; with the alarm shown too
    # (« N événements sans réponse »), the payroll link says « Paie » only.
    page.wait_for_function("document.getElementById('clock').textContent !== ''")
    link = page.locator("nav a[data-nav=payroll]")
    expect(link).to_have_text("Paie des astreintes")
    assert not header_overflows(page)
    page.evaluate("""() => { const box = document.getElementById('alarm-indicator');
                             box.hidden = false; box.textContent = '2 événements sans réponse'; }""")
    expect(link.locator(".nav-long")).to_be_hidden()
    assert link.inner_text() == "Paie"
    expect(link).to_have_attribute("title", "Paie des astreintes")
    assert not header_overflows(page)
    page.evaluate("document.getElementById('alarm-indicator').hidden = true")

    page.click("nav >> text=Paie des astreintes")
    view = page.locator("[data-testid=payroll]")
    expect(page.locator("nav a[data-nav=payroll]")).to_have_class(re.compile(r"\bactive\b"))
    # Default: the month before this one, in the commune's time.
    now = datetime.now(PARIS)
    previous = f"{now.year - 1}-12" if now.month == 1 else f"{now.year}-{now.month - 1:02d}"
    expect(view.locator("#py-month")).to_have_value(previous)
    open_payroll(page, world)
    expect(view.locator("[data-testid=payroll-versions]")).to_contain_text(
        "Aucune version pour novembre 2026 : « Calculer le mois » produit la première.")
    expect(view).to_contain_text("les versions précédentes restent telles qu'elles ont été produites")

    # « Calculer le mois »: version 1, to validate.
    view.get_by_role("button", name="Calculer le mois").click()
    first = view.locator(".py-version[data-version='1']")
    expect(first).to_be_visible()
    expect(first.locator("[data-testid=status]")).to_have_text("À valider")
    [listed] = versions(live, november)
    assert listed["version"] == 1 and listed["status"] == "draft" and listed["complete"] is True
    amount = listed["totals"]["amount"]
    assert Decimal(amount) == Decimal("1005.71")  # the hand-computed month of tests/backend/test_payroll.py
    expect(first.locator("[data-testid=amount]")).to_have_text(euros(amount))
    assert spaces(first.locator("[data-testid=amount]").inner_text()) == "1 005,71 €"
    totals = listed["totals"]
    expect(first).to_contain_text(f"{totals['agents']} agents · {totals['lines']} lignes · 0 h de repos")
    expect(first).to_contain_text(f"{listed['warning_count']} alertes")
    expect(first).to_contain_text(re.compile(r"Calculée le \d{2}/\d{2}/\d{4} à \d{2}:\d{2} par Operator"))
    expect(first.locator("[data-testid=incomplete]")).to_have_count(0)

    # The version's detail: one row per agent, the matricule payroll needs, what to check, who is not paid.
    detail = view.locator("[data-testid=payroll-detail]")
    expect(detail.locator("h2")).to_have_text("Version 1 — novembre 2026")
    agents = detail.locator("[data-testid=payroll-agents] tbody tr")
    expect(agents).to_have_count(3)
    expect(agents.nth(0)).to_contain_text("Tech Deux")  # in name order, as payroll reads them
    row_un = detail.locator(f"tr[data-person-id='{un}']")
    expect(row_un).to_contain_text("T001")
    expect(row_un).to_contain_text("733,86 €")
    expect(row_un).to_contain_text("570,70 €")
    expect(row_un).to_contain_text("28,66 €")
    expect(row_un).to_contain_text("134,50 €")
    expect(row_un).to_contain_text("payées")
    expect(row_un).to_contain_text("Filière technique — barème 2015 — Astreinte d'exploitation")
    expect(row_un).to_contain_text("2 alertes")
    no_number = detail.locator(f"tr[data-person-id='{trois}'] .py-no-number")
    expect(no_number).to_have_text("sans matricule")
    expect(no_number).to_have_attribute("href", f"#/personne/{trois}")  # where to fill it in
    expect(detail.locator("[data-testid=detail-total]")).to_have_text(euros(amount))
    warnings = detail.locator("[data-testid=payroll-warnings]")
    expect(warnings).to_contain_text("Repos quotidien de 6 h 20 seulement (minimum 11 h)")
    expect(warnings).to_contain_text("Tech Trois n'a pas de matricule")
    expect(warnings).to_contain_text(f"/console/#/personne/{trois}")
    expect(warnings.get_by_role("link", name="Tech Trois")).to_have_attribute("href", f"#/personne/{trois}")
    excluded = detail.locator("[data-testid=payroll-excluded]")
    expect(excluded).to_contain_text("Elu Un")
    expect(excluded).to_contain_text("élu : jamais payé d'astreinte")

    # An operator computes the month; signing it off is the commune's, or an admin's.
    button = detail.get_by_role("button", name="Valider pour la paie")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", NOT_EDITOR)
    expect(detail).to_contain_text(NOT_EDITOR)
    assert_readable(view)
    clear_toasts(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "console-payroll-computed")
    row_un.get_by_role("button", name="2 alertes").click()  # to his warnings, on the same screen
    expect(warnings.locator(f"li[data-person-id='{un}']")).to_be_in_viewport()
    assert page.url.endswith("#/paie")

    # The CSV, downloaded with the token: the header payroll reads.
    name, body = downloaded(page, lambda: first.get_by_role("button", name="CSV").click())
    assert name == "paie-astreintes-2026-11-v1.csv"
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0] == CSV_HEADER
    assert len(lines) == 1 + listed["totals"]["lines"]
    assert sum(1 for line in lines if line.startswith("2026-11;CHENOVE;;Trois;Tech;")) == 11  # attributable by name
    name, body = downloaded(page, lambda: first.get_by_role("button", name="XLSX").click())
    assert name == "paie-astreintes-2026-11-v1.xlsx" and body[:2] == b"PK"
    name, body = downloaded(page, lambda: row_un.get_by_role("button", name="PDF").click())
    assert body.startswith(b"%PDF")
    name, body = downloaded(page, lambda: detail.get_by_role("button", name="Tous les relevés (ZIP)").click())
    assert name == "paie-astreintes-2026-11-v1-releves.zip" and body[:2] == b"PK"

    # The referent signs version 1 off.
    log_out(page)
    console_login(page, world.users["referent"])
    open_payroll(page, world)
    button = detail.get_by_role("button", name="Valider pour la paie")
    expect(button).to_be_enabled()
    page.once("dialog", lambda dialog: dialog.accept())
    button.click()
    status = first.locator("[data-testid=status]")
    expect(status).to_have_text(re.compile(r"^Validée par Referent le \d{2}/\d{2}/\d{4} à \d{2}:\d{2}$"))
    expect(detail.get_by_role("button", name="Valider pour la paie")).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("Version 1 validée pour la paie.")
    [listed] = versions(live, november)
    assert listed["status"] == "validated" and listed["validated_by"] == "Referent"
    assert_readable(view)
    clear_toasts(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "console-payroll-validated")

    # A correction after the sign-off: version 2, to validate; version 1 kept, superseded.
    with transaction(live.app.state.runtime.session_factory) as s:
        s.get(Person, trois).employee_number = "T003"
    view.get_by_role("button", name="Calculer le mois").click()
    second = view.locator(".py-version[data-version='2']")
    expect(second.locator("[data-testid=status]")).to_have_text("À valider")
    expect(view.locator(".py-version").first).to_have_attribute("data-version", "2")  # newest first
    expect(first.locator("[data-testid=status]")).to_have_text("Remplacée par une version plus récente")
    expect(first).to_contain_text("avait été validée par Referent le")
    expect(second).to_have_class(re.compile(r"\bselected\b"))
    expect(detail.locator("h2")).to_have_text("Version 2 — novembre 2026")
    expect(detail.locator(f"tr[data-person-id='{trois}']")).to_contain_text("T003")
    expect(detail.locator(".py-no-number")).to_have_count(0)
    expect(second.locator("[data-testid=amount]")).to_have_text(euros(amount))
    assert_readable(view)
    clear_toasts(page)
    screenshot(page, "console-payroll-version-2")

    # Version 1 is still there to read, as it was.
    first.get_by_role("button", name="Voir le détail").click()
    expect(detail.locator("h2")).to_have_text("Version 1 — novembre 2026")
    expect(detail.locator(f"tr[data-person-id='{trois}'] .py-no-number")).to_have_text("sans matricule")
    expect(detail).to_contain_text("Seule la dernière version du mois se valide.")
    second.get_by_role("button", name="Voir le détail").click()
    expect(detail.locator("h2")).to_have_text("Version 2 — novembre 2026")

    # Someone signs version 2 off meanwhile: the referent's click is refused, said in French, the screen follows.
    assert november.client("admin").post(f"{API}/payroll-exports/{second.get_attribute('data-export-id')}/validation"
                                          ).status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    detail.get_by_role("button", name="Valider pour la paie").click()
    expect(page.locator("#toasts")).to_contain_text("Validation refusée : Cette version a déjà été validée.")
    expect(second.locator("[data-testid=status]")).to_have_text(re.compile(r"^Validée par Admin le "))
    assert_readable(view)


def test_operator_reads_the_settings_the_referent_edits_them(live, desk, pages, november):
    world = live.world
    un = world.techs[0]
    url = f"{API}/organizations/{world.commune_id}/payroll-settings"
    page = pages(desk)
    console_login(page, world.users["operator"])
    open_payroll(page, world)
    settings = page.locator("[data-testid=payroll-settings]")
    settings.locator("summary").click()
    expect(settings).to_contain_text("Consultation seule")
    expect(settings.locator("select[name=kind-technique]")).to_be_disabled()
    expect(settings.locator("select[name=kind-technique] option:checked")).to_have_text(
        "Filière technique — barème 2015 — Astreinte d'exploitation")
    expect(settings.locator("tr[data-item='astreinte.week'] input[name=code]")).to_have_value("ASTSEM")
    expect(settings.get_by_role("button", name="Enregistrer")).to_have_count(0)
    assert_readable(settings)
    log_out(page)

    console_login(page, world.users["referent"])
    open_payroll(page, world)
    settings.locator("summary").click()
    expect(settings).to_contain_text("Réglages par défaut : jamais modifiés pour cette commune.")
    # Only what changed goes to the server.
    week = settings.locator("tr[data-item='astreinte.week']")
    week.locator("input[name=code]").fill("0452")
    week.locator("input[name=label]").fill("Indemnité d'astreinte semaine")
    settings.locator("input[name=collectivite_code]").fill("21166")
    settings.locator("select[name=kind-prestataire]").select_option("autres-2015|securite")
    settings.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Réglages de paie enregistrés")
    expect(settings).to_contain_text(re.compile(r"Modifiés le \d{2}/\d{2}/\d{4} à \d{2}:\d{2}\."))
    saved = november.client("referent").get(url).json()
    assert saved["collectivite_code"] == "21166"
    assert saved["codes"]["astreinte.week"] == {"code": "0452", "label": "Indemnité d'astreinte semaine"}
    assert saved["codes"]["astreinte.weekend"]["code"] == "ASTWE"
    assert saved["kind_regimes"]["prestataire"] == {"regime": "autres-2015", "variant": "securite"}
    assert saved["kind_regimes"]["technique"] == {"regime": "technique-2015", "variant": "exploitation"}
    # A code of its own for one regime (payroll keeps the sectors' indemnities apart), then taken away.
    settings.locator("select[name=add-regime]").select_option("autres-2015")
    settings.locator("select[name=add-item]").select_option("astreinte.week")
    settings.get_by_role("button", name="Ajouter", exact=True).click()
    own = settings.locator("tr[data-item='autres-2015/astreinte.week']")
    expect(own.locator(".py-item")).to_have_text(re.compile(r"^Astreinte — semaine complète — Autres filières .* seulement$"))
    own.locator("input[name=code]").fill("0455")
    own.locator("input[name=label]").fill("Astreinte semaine (autres filières)")
    settings.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Réglages de paie enregistrés")
    saved = november.client("referent").get(url).json()["codes"]
    assert saved["autres-2015/astreinte.week"] == {"code": "0455", "label": "Astreinte semaine (autres filières)"}
    assert saved["astreinte.week"]["code"] == "0452"  # the item's own code is untouched
    settings.locator("tr[data-item='autres-2015/astreinte.week']").get_by_role("button", name="Retirer").click()
    settings.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(settings.locator("tr[data-item='autres-2015/astreinte.week']")).to_have_count(0)
    assert "autres-2015/astreinte.week" not in november.client("referent").get(url).json()["codes"]

    settings.locator("input[name=morning]").fill("18:00")
    settings.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(settings.locator("#py-settings-form .form-error")).to_have_text(
        "Le début de la journée d'astreinte doit précéder sa fin.")

    # An agent's own rule: interventions as time off; then back to the group's.
    rule = settings.locator("#py-rule-form")
    rule.locator("select[name=person_id]").select_option(str(un))
    rule.locator("select[name=intervention_mode]").select_option("time_off")
    rule.get_by_role("button", name="Enregistrer la règle").click()
    row = settings.locator(f"[data-testid=payroll-rules] tr[data-person-id='{un}']")
    expect(row).to_contain_text("Tech Un")
    expect(row).to_contain_text("en repos compensateur")
    expect(row).to_contain_text("celui de son groupe")
    assert november.client("referent").get(url).json()["people"] == [{
        "person_id": un, "person": "Tech Un", "regime": None, "variant": None, "excluded": False,
        "intervention_mode": "time_off"}]
    assert_readable(settings)

    # The next computation pays his interventions as time off.
    page.locator("[data-testid=payroll]").get_by_role("button", name="Calculer le mois").click()
    row_un = page.locator(f"[data-testid=payroll-agents] tr[data-person-id='{un}']")
    expect(row_un).to_contain_text("en repos")
    expect(row_un).to_contain_text("9,75 h")
    expect(page.locator(".py-version[data-version='1']")).to_contain_text("9,75 h de repos")
    clear_toasts(page)
    page.evaluate("document.getElementById('py-settings').scrollIntoView()")
    screenshot(page, "console-payroll-settings")
    page.evaluate("document.querySelector('.py-rules').scrollIntoView()")
    screenshot(page, "console-payroll-rules")

    row.get_by_role("button", name="Revenir au réglage par défaut").click()
    expect(settings.locator("[data-testid=payroll-rules]")).to_contain_text("Aucune règle particulière")
    assert november.client("referent").get(url).json()["people"] == []
