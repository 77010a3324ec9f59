"""The Administration screens in a real Chromium: a PC admin creates a commune, sets its coverage hours and a
date with other hours, builds a group with an ordered roster and a rotation, a distribution list and user
accounts, and sees them (and the new commune in the other screens without a reload); refusals are said in
French next to the form, the typed values kept; a commune's referent sees only their commune and creates
none; a brand-new métropole with no commune is told where to start instead of waiting on « Chargement… »."""

from __future__ import annotations

from playwright.sync_api import expect

from backend.auth import service as auth_service
from backend.db import transaction
from backend.orgs.models import Organization
from tests.browser.conftest import screenshot
from tests.browser.test_console import console_login, pages  # noqa: F401  (fixture)
from tests.browser.test_csp import ENFORCED, watch_violations
from tests.factories import PASSWORD
from tests.smoke.harness import login


def api_as(live, role: str):
    http = live.client()
    http.headers.update(login(http, live.world.users[role], PASSWORD))
    return http


def accept_dialogs(page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def header_overflows(page) -> bool:
    return page.evaluate("""() => { const bar = document.querySelector('.topbar');
        const out = document.getElementById('logout').getBoundingClientRect();
        return bar.scrollWidth > bar.clientWidth || out.right > window.innerWidth
               || bar.getBoundingClientRect().height > 57; }""")


def test_an_admin_sets_up_a_commune_from_the_console(live, desk, pages):  # noqa: F811
    http = api_as(live, "admin")
    page = pages(desk)
    accept_dialogs(page)
    console_login(page, live.world.users["admin"])
    # Eight screens in an admin's header, on one line at 1440 px, with the alarm shown too.
    page.wait_for_function("document.getElementById('clock').textContent !== ''")
    assert not header_overflows(page)
    page.evaluate("""() => { const box = document.getElementById('alarm-indicator');
                             box.hidden = false; box.textContent = '2 événements sans réponse'; }""")
    assert not header_overflows(page)
    page.evaluate("document.getElementById('alarm-indicator').hidden = true")
    expect(page.locator("#nav-admin")).to_have_attribute("title", "Administration")
    page.click("#nav-admin")
    expect(page.get_by_test_id("admin")).to_be_visible()
    expect(page.get_by_test_id("api-docs")).to_have_attribute("href", "/docs")

    # A new commune; a bad code is refused in French and nothing typed is lost.
    page.click("#adm-new-commune")
    form = page.locator("#adm-commune-form")
    form.get_by_label("Nom").fill("Ville de Marsannay")
    form.get_by_label("Code (utilisé dans les SMS)").fill("M")
    form.get_by_role("button", name="Créer la commune").click()
    expect(form.locator(".form-error")).to_contain_text("le code compte 2 à 20 lettres")
    expect(form.get_by_label("Nom")).to_have_value("Ville de Marsannay")
    expect(form.locator("[name=code]")).to_have_attribute("aria-invalid", "")
    form.get_by_label("Code (utilisé dans les SMS)").fill("CHENOVE")  # taken
    form.get_by_role("button", name="Créer la commune").click()
    expect(form.locator(".form-error")).to_have_text("Ce code est déjà pris par une autre commune.")
    form.get_by_label("Code (utilisé dans les SMS)").fill("marsannay")
    form.get_by_role("button", name="Créer la commune").click()
    expect(page.locator(".adm-item.active")).to_contain_text("Ville de Marsannay")
    commune = next(o for o in http.get("/api/v1/organizations").json() if o["code"] == "MARSANNAY")

    # Coverage hours: around the clock on weekdays' evenings only, events outside inform the referent.
    coverage = page.get_by_test_id("coverage")
    expect(coverage.locator("tbody tr").first).to_be_visible()
    coverage.get_by_role("button", name="Toute la semaine, jour et nuit").click()
    expect(coverage.locator("tbody tr")).to_have_count(7)
    coverage.locator("tbody tr").nth(0).locator("[name=start]").fill("18:00")
    coverage.locator("tbody tr").nth(1).locator("[name=end]").fill("25:00")  # refused: not a time
    coverage.get_by_label("Un événement hors de ces heures").select_option("inform_referent")
    coverage.get_by_role("button", name="Enregistrer les horaires").click()
    expect(coverage.locator(".form-error")).to_contain_text("HH:MM")
    expect(coverage.locator("[aria-invalid]")).to_have_count(1)  # the second row's end, no other
    expect(coverage.locator("tbody tr").nth(1).locator("[name=end]")).to_have_attribute("aria-invalid", "")
    expect(coverage.locator("tbody tr").nth(0).locator("[name=start]")).to_have_value("18:00")
    coverage.locator("tbody tr").nth(1).locator("[name=end]").fill("24:00")
    coverage.get_by_role("button", name="Enregistrer les horaires").click()
    expect(coverage).to_contain_text("150 h par semaine")
    saved = http.get(f"/api/v1/organizations/{commune['id']}/coverage").json()
    assert saved["out_of_coverage"] == "inform_referent"
    assert {"weekday": 0, "start": "18:00", "end": "24:00"} in saved["weekly"]
    assert len(saved["weekly"]) == 7

    exceptions = page.get_by_test_id("exceptions")
    exceptions.get_by_label("Date").fill("14/07/2031")
    exceptions.get_by_label("Heures couvertes ce jour-là").fill("08:00-12:00")
    exceptions.get_by_label("Libellé").fill("Fête nationale")
    exceptions.get_by_role("button", name="Ajouter la date").click()
    expect(exceptions).to_contain_text("Fête nationale")
    assert http.get(f"/api/v1/organizations/{commune['id']}/coverage/exceptions").json()[0]["windows"] == [
        {"start": "08:00", "end": "12:00"}]

    # The commune's people (the people screen is another piece: made through the API here).
    ids = {}
    for first in ("Anne", "Bruno", "Chloé"):
        response = http.post("/api/v1/people", json={"organization_id": commune["id"], "first_name": first,
                                                      "last_name": "Voirie"})
        assert response.status_code == 201, response.text
        ids[first] = response.json()["id"]

    # A group, its roster in order (reordered from the keyboard), its rotation and the next turns.
    page.get_by_role("link", name="Groupes et rotations").click()
    expect(page.locator("#adm-org")).to_have_value(str(commune["id"]))
    new_group = page.locator("#adm-new-group")
    new_group.get_by_label("Nom").fill("Astreinte voirie")
    new_group.get_by_role("button", name="Créer le groupe").click()
    roster = page.get_by_test_id("roster")
    expect(roster).to_be_visible()
    for first in ("Anne", "Bruno", "Chloé"):
        roster.get_by_label("Ajouter une personne").select_option(label=f"{first} Voirie")
    roster.get_by_role("button", name="Descendre Anne Voirie").focus()
    page.keyboard.press("Enter")  # Anne goes second; the focus follows her
    page.keyboard.press("Enter")  # and third
    expect(roster.locator(".adm-who")).to_have_text(["Bruno Voirie", "Chloé Voirie", "Anne Voirie"])
    roster.get_by_role("button", name="Enregistrer la liste").click()
    expect(page.locator(".toast", has_text="Liste d'appel enregistrée.")).to_be_visible()
    group = next(g for g in http.get(f"/api/v1/groups?organization_id={commune['id']}").json()
                 if g["name"] == "Astreinte voirie")
    assert [m["name"] for m in group["members"]] == ["Bruno Voirie", "Chloé Voirie", "Anne Voirie"]

    rotation = page.get_by_test_id("rotation")
    expect(rotation.locator(".adm-who")).to_have_text(["Bruno Voirie", "Chloé Voirie", "Anne Voirie"])
    rotation.get_by_label("Durée d'un tour (jours)").fill("1")
    rotation.get_by_label("Heure de relève").fill("8:30")
    rotation.get_by_role("button", name="Définir la rotation").click()
    turns = page.get_by_test_id("next-turns")
    expect(turns.locator("li")).to_have_count(5)
    # The first hand-over is the last 08:30: someone holds the turn now, then each in their rank.
    holders = [text.rsplit(" : ", 1)[1] for text in turns.locator("li").all_inner_texts()]
    assert "Personne" not in holders
    assert holders[1] == {"Bruno Voirie": "Chloé Voirie", "Chloé Voirie": "Anne Voirie",
                          "Anne Voirie": "Bruno Voirie"}[holders[0]]
    stored = http.get(f"/api/v1/groups/{group['id']}/rotation").json()
    assert stored["member_ids"] == [ids["Bruno"], ids["Chloé"], ids["Anne"]]
    assert stored["turn_days"] == 1 and stored["anchor_local"].endswith("T08:30:00")
    screenshot(page, "admin-group-rotation")

    # A distribution list with its members.
    page.get_by_role("link", name="Listes de diffusion").click()
    page.locator("#adm-new-list").get_by_label("Nom").fill("Élus de Marsannay")
    page.locator("#adm-new-list").get_by_role("button", name="Créer la liste").click()
    detail = page.get_by_test_id("list-detail")
    detail.get_by_label("Ajouter une personne").select_option(label="Chloé Voirie")
    detail.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".adm-item.active")).to_contain_text("1")
    lists = http.get(f"/api/v1/distribution-lists?organization_id={commune['id']}").json()
    assert [(x["name"], [m["name"] for m in x["members"]]) for x in lists] == [("Élus de Marsannay", ["Chloé Voirie"])]

    # Accounts: an operator of the PC and the new commune's referent; a password too short is refused.
    page.get_by_role("link", name="Utilisateurs").click()
    new_user = page.locator("#adm-new-user")
    new_user.get_by_label("Nom complet").fill("Rémi Référent")
    new_user.get_by_label("E-mail (identifiant)").fill("remi@marsannay.example.org")
    new_user.get_by_label("Rôle").select_option("referent")
    new_user.get_by_label("Rattachement").select_option(label="Ville de Marsannay")
    new_user.get_by_label("Mot de passe initial").fill("court")
    new_user.get_by_role("button", name="Créer l'utilisateur").click()
    expect(new_user.locator(".form-error")).to_contain_text("au moins 10 caractères")
    expect(new_user.get_by_label("Nom complet")).to_have_value("Rémi Référent")
    new_user.get_by_label("Mot de passe initial").fill("marsannay-2026!")
    new_user.get_by_role("button", name="Créer l'utilisateur").click()
    row = page.locator("tr", has_text="remi@marsannay.example.org")
    expect(row).to_contain_text("Ville de Marsannay")
    expect(row.get_by_label("Rôle de Rémi Référent")).to_have_value("referent")

    # A referent cannot be made an operator (the PC's roles belong to the métropole): said, and undone.
    row.get_by_label("Rôle de Rémi Référent").select_option("operator")
    expect(page.locator("#adm-users .form-error")).to_contain_text("appartient à la métropole")
    expect(row.get_by_label("Rôle de Rémi Référent")).to_have_value("referent")

    # Rémi forgot his password: a new one, too short first (refused, kept), then saved with Enter.
    row.get_by_role("button", name="Nouveau mot de passe").click()
    new_password = page.get_by_label("Nouveau mot de passe de Rémi Référent")
    expect(new_password).to_be_focused()
    new_password.fill("oublie")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.locator("#adm-users .form-error")).to_contain_text("au moins 10 caractères")
    expect(new_password).to_have_value("oublie")
    new_password.fill("retrouve-2026!")
    new_password.press("Enter")
    expect(page.locator(".toast", has_text="Mot de passe enregistré")).to_be_visible()
    assert "retrouve" not in page.url
    assert login(live.client(), "remi@marsannay.example.org", "retrouve-2026!")
    expect(page.locator("tr", has_text="admin@example.org").get_by_label("Rôle de Admin")).to_be_disabled()

    operator = page.locator("tr", has_text="operator@example.org")
    operator.get_by_role("button", name="Désactiver").click()
    expect(operator).to_contain_text("Désactivé")
    users = {u["email"]: u for u in http.get("/api/v1/users").json()}
    assert users["remi@marsannay.example.org"]["role"] == "referent"
    assert users["remi@marsannay.example.org"]["organization_id"] == commune["id"]
    assert users["operator@example.org"]["is_active"] is False
    refused = live.client().post("/api/v1/auth/token", data={"username": "operator@example.org", "password": PASSWORD})
    assert refused.status_code == 401

    # The new commune is in the other screens without a reload.
    page.click("a[data-nav=planning]")
    expect(page.locator("#pl-org option", has_text="Ville de Marsannay")).to_have_count(1)
    expect(page.locator("#cb-org option", has_text="Ville de Marsannay")).to_have_count(1)


def test_a_group_used_by_a_procedure_is_kept_with_the_reason(live, desk, pages):  # noqa: F811
    page = pages(desk)
    accept_dialogs(page)
    console_login(page, live.world.users["admin"])
    page.goto("/console/#/admin/groupes")
    page.locator("#adm-org").select_option(label="Ville de Chenôve")
    page.get_by_role("button", name="Astreinte technique").click()
    page.get_by_test_id("group-detail").get_by_label("Nom").fill("Astreinte technique (voirie)")
    page.get_by_role("button", name="Supprimer le groupe").click()
    alert = page.locator("#adm-group-form .form-error")
    expect(alert).to_contain_text("Des procédures utilisent ce groupe")
    expect(alert).to_contain_text("Chute d'arbre sur la voirie")
    expect(page.get_by_test_id("group-detail").get_by_label("Nom")).to_have_value("Astreinte technique (voirie)")
    assert api_as(live, "admin").get(f"/api/v1/groups/{live.world.tech_group_id}").status_code == 200


def test_a_referent_administers_their_commune_only(live, desk, pages):  # noqa: F811
    page = pages(desk)
    console_login(page, live.world.users["referent"])
    expect(page.locator("#nav-admin")).to_be_visible()
    page.click("#nav-admin")
    communes = page.get_by_test_id("communes")
    expect(communes.locator(".adm-item")).to_have_text(["Ville de Chenôve CHENOVE"])
    expect(page.locator("#adm-new-commune")).to_have_count(0)
    expect(page.locator(".adm-tabs a")).to_have_text(["Communes", "Groupes et rotations", "Listes de diffusion",
                                                    "Webhooks", "Intégrations"])
    expect(page.get_by_test_id("commune-identity").get_by_label("Nom")).to_have_attribute("readonly", "")
    # Their commune's hours are theirs to set.
    coverage = page.get_by_test_id("coverage")
    coverage.get_by_label("Un événement hors de ces heures").select_option("inform_referent")
    coverage.get_by_role("button", name="Enregistrer les horaires").click()
    expect(page.locator(".toast", has_text="Horaires enregistrés.")).to_be_visible()
    # The users' section and a new commune are not theirs, even typed in the address bar.
    page.goto("/console/#/admin/utilisateurs")
    expect(page.locator(".adm-tabs a.active")).to_have_text("Communes")
    page.goto("/console/#/admin/communes/nouvelle")
    expect(page.locator("#adm-commune-form")).to_have_count(0)
    page.goto("/console/#/admin/groupes")
    expect(page.locator("#adm-org")).to_have_count(0)  # one commune: no choice
    expect(page.get_by_test_id("groups").locator(".adm-item")).to_have_count(3)
    referent = api_as(live, "referent")
    assert referent.post("/api/v1/organizations", json={"name": "Ville pirate", "code": "PIRATE"}).status_code == 403


def test_a_new_metropole_with_no_commune_is_shown_where_to_start(live, desk, pages):  # noqa: F811
    with transaction(live.app.state.runtime.session_factory) as s:
        metropole = Organization(name="Métropole Neuve", code="NEUVE", kind="metropole")
        s.add(metropole)
        s.flush()
        auth_service.create_user(db_session=s, email="neuve@example.org", full_name="Admin Neuve", role="admin",
                                 organization_id=metropole.id, password=PASSWORD)
    page = pages(desk)
    console_login(page, "neuve@example.org")
    expect(page.locator("#cb-org option")).to_have_text(["aucune commune"])
    expect(page.locator("#cb-answered")).to_be_disabled()
    page.click("a[data-nav=planning]")
    empty = page.get_by_test_id("planning-empty")
    expect(empty).to_contain_text("Aucune commune dans votre périmètre.")
    expect(page.get_by_test_id("gaps")).not_to_contain_text("Chargement")
    expect(page.get_by_test_id("gaps")).to_contain_text("Aucune commune")
    screenshot(page, "admin-planning-empty")
    empty.get_by_role("link", name="Créer une commune").click()
    form = page.locator("#adm-commune-form")
    form.get_by_label("Nom").fill("Ville de Départ")
    form.get_by_label("Code (utilisé dans les SMS)").fill("DEPART")
    form.get_by_role("button", name="Créer la commune").click()
    expect(page.locator(".adm-item.active")).to_contain_text("Ville de Départ")
    expect(page.locator("#cb-org option")).to_have_text(["Ville de Départ"])
    expect(page.locator("#cb-answered")).to_be_enabled()


def test_the_administration_runs_under_the_console_policy(playwright_browser, live):
    context = playwright_browser.new_context(base_url=live.url, **ENFORCED)
    try:
        page = context.new_page()
        violations = watch_violations(page)
        console_login(page, live.world.users["admin"])
        page.click("#nav-admin")
        expect(page.get_by_test_id("coverage").locator("tbody tr").first).to_be_visible()
        page.get_by_role("link", name="Groupes et rotations").click()
        expect(page.get_by_test_id("rotation")).to_contain_text("Première relève")
        page.get_by_test_id("roster").get_by_role("button", name="Descendre").first.click()
        page.get_by_role("link", name="Listes de diffusion").click()
        expect(page.get_by_test_id("list-detail")).to_contain_text("Destinataires")
        page.get_by_role("link", name="Utilisateurs").click()
        expect(page.locator("tr", has_text="referent@example.org")).to_be_visible()
        assert violations == []
    finally:
        context.close()


def test_an_oncall_account_is_a_person_of_the_directory(live, desk, pages):  # noqa: F811
    page = pages(desk)
    console_login(page, live.world.users["admin"])
    page.goto("/console/#/admin/utilisateurs")
    form = page.locator("#adm-new-user")
    expect(form.get_by_label("Rattachement")).to_have_value(str(live.world.metropole_id))
    form.get_by_label("Rôle").select_option("oncall")
    # An on-call account belongs to a commune and logs in from the app: a person, no password.
    expect(form.get_by_label("Rattachement")).not_to_have_value(str(live.world.metropole_id))
    form.get_by_label("Rattachement").select_option(label="Ville de Chenôve")
    expect(form.get_by_label("Mot de passe initial")).to_be_hidden()
    form.get_by_label("Nom complet").fill("Tech Trois")
    form.get_by_label("E-mail (identifiant)").fill("tech3@example.org")
    form.get_by_role("button", name="Créer l'utilisateur").click()
    expect(form.locator(".form-error")).to_have_text("Un compte d'astreinte est une personne de l'annuaire : choisissez-la.")
    form.get_by_label("Personne de l'annuaire").select_option(label="Tech Trois")
    form.get_by_role("button", name="Créer l'utilisateur").click()
    row = page.locator("tr", has_text="tech3@example.org")
    expect(row.get_by_label("Rôle de Tech Trois")).to_have_value("oncall")
    expect(row.get_by_role("button", name="Nouveau mot de passe")).to_have_count(0)
    created = next(u for u in api_as(live, "admin").get("/api/v1/users").json() if u["email"] == "tech3@example.org")
    assert (created["person_id"], created["organization_id"]) == (live.world.techs[2], live.world.commune_id)
