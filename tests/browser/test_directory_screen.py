"""The directory in a real browser: the commune's referent imports its spreadsheet (Excel's French CSV)
after a preview that shows a bad row and imports nothing, creates a person, edits them, their numbers and
groups, and reads the history; an install link over the SMS flood limit says it waits."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from backend.db import db_now, transaction
from backend.outbox.models import Notification, NotificationStatus
from tests.browser.conftest import screenshot
from tests.browser.test_console import console_login, pages  # noqa: F401 (fixture)

HEADER = "Nom;Prénom;Matricule;Fonction;Mobile;E-mail;Groupes"
GOOD_ROWS = ["Lefèvre;Hélène;M-300;Technicienne voirie;06 39 98 03 01;helene.lefevre@example.org;Astreinte technique",
             "Deux;Tech;M-2;Chef d'équipe;;tech.deux@example.org;"]
BAD_ROW = "Faux;Numéro;M-301;;12345;;"


def excel_csv(tmp_path, rows: list[str], name: str):
    path = tmp_path / name
    path.write_bytes("\r\n".join([HEADER, *rows]).encode("cp1252"))
    return str(path)


def test_the_referent_imports_the_communes_spreadsheet_after_a_preview(live, desk, pages, tmp_path):  # noqa: F811
    page = pages(desk)
    console_login(page, live.world.users["referent"])
    page.click("a[data-nav=people]")
    page.get_by_role("link", name="Importer un annuaire (CSV)").click()
    screen = page.get_by_test_id("directory-import")

    # A bad row: its line and column are named, and the import cannot be confirmed.
    page.set_input_files("#di-form input[type=file]", excel_csv(tmp_path, [*GOOD_ROWS, BAD_ROW], "annuaire.csv"))
    screen.get_by_role("button", name="Prévisualiser").click()
    errors = page.get_by_test_id("import-errors")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors).to_contain_text("Mobile")
    expect(errors).to_contain_text("« 12345 » n'est pas un numéro de téléphone valide")
    expect(errors.locator("td").first).to_have_text("4")
    expect(page.locator("#di-confirm")).to_be_disabled()

    # The corrected file: one to create, one to update, then imported.
    page.set_input_files("#di-form input[type=file]", excel_csv(tmp_path, GOOD_ROWS, "annuaire-corrige.csv"))
    screen.get_by_role("button", name="Prévisualiser").click()
    expect(page.get_by_test_id("import-summary")).to_contain_text("1 à créer, 1 à mettre à jour")
    preview = page.get_by_test_id("import-preview")
    expect(preview).to_contain_text("Hélène Lefèvre")
    expect(preview).to_contain_text("+33 6 39 98 03 01")
    expect(preview).to_contain_text("matricule, fonction")
    screenshot(page, "console-directory-import-preview")
    page.locator("#di-confirm").click()
    detail = page.get_by_test_id("import-detail")
    expect(detail).to_contain_text("1 créée(s), 1 mise(s) à jour")
    expect(page.get_by_test_id("import-history").locator("tbody tr")).to_have_count(1)

    detail.get_by_role("link", name="Hélène Lefèvre").click()
    expect(page.locator(".person-view h1")).to_contain_text("Hélène Lefèvre")
    expect(page.locator("a[href='tel:+33639980301']")).to_have_text("+33 6 39 98 03 01")
    expect(page.get_by_test_id("person-groups").get_by_label("Astreinte technique")).to_be_checked()
    expect(page.get_by_test_id("person-history")).to_contain_text("a créé la fiche")
    expect(page.get_by_test_id("person-history")).to_contain_text("(import n° ")


def test_the_referent_creates_a_person_then_edits_them(live, desk, pages):  # noqa: F811
    page = pages(desk)
    page.on("dialog", lambda dialog: dialog.accept())
    console_login(page, live.world.users["referent"])
    page.click("a[data-nav=people]")
    new = page.get_by_test_id("new-person")
    new.locator("summary").click()
    new.get_by_label("Prénom").fill("Nina")
    new.get_by_label("Nom", exact=True).fill("Roux")
    new.get_by_label("Mobile").fill("06 39 98 01")
    new.get_by_role("button", name="Créer").click()
    expect(page.locator("#dir-new-error")).to_contain_text("n'est pas un numéro de téléphone valide")
    new.get_by_label("Mobile").fill("06.39.98.04.01")
    new.get_by_role("button", name="Créer").click()

    expect(page.locator(".person-view h1")).to_contain_text("Nina Roux")
    expect(page.locator("a[href='tel:+33639980401']")).to_have_text("+33 6 39 98 04 01")
    edit = page.get_by_test_id("person-edit")
    edit.locator("summary").click()
    edit.get_by_label("Fonction", exact=True).fill("Cheffe d'équipe")
    edit.get_by_label("Matricule", exact=True).fill("R-9")
    edit.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".person-view > p.muted")).to_contain_text("Cheffe d'équipe")
    expect(page.locator(".person-view > p.muted")).to_contain_text("matricule R-9")

    contacts = page.get_by_test_id("contacts-editor")
    contacts.locator("summary").click()
    contacts.get_by_label("Nouveau numéro ou adresse").fill("03 80 00 00 00")
    contacts.get_by_role("button", name="Ajouter").click()
    expect(page.locator("#dir-contact-error")).to_contain_text("ne peut pas recevoir de SMS")
    page.get_by_test_id("contacts-editor").get_by_label("Type").select_option("email")
    page.get_by_test_id("contacts-editor").get_by_label("Nouveau numéro ou adresse").fill("nina.roux@example.org")
    page.get_by_test_id("contacts-editor").get_by_role("button", name="Ajouter").click()
    expect(page.locator("a[href='mailto:nina.roux@example.org']")).to_be_visible()

    page.get_by_test_id("person-groups").get_by_label("Astreinte cadre").check()
    expect(page.locator(".toast").last).to_contain_text("Ajoutée à « Astreinte cadre »")
    expect(page.get_by_test_id("person-groups").get_by_label("Astreinte cadre")).to_be_checked()
    history = page.get_by_test_id("person-history")
    expect(history).to_contain_text("a créé la fiche")
    expect(history).to_contain_text("a modifié : matricule, fonction")
    expect(history).to_contain_text("a modifié : coordonnées")
    expect(history).to_contain_text("a modifié : groupes")
    screenshot(page, "console-person-edit")

    # The number has had its SMS for this quarter hour: the link waits, and the console says until when.
    person_id = int(page.url.rsplit("/", 1)[1])
    with transaction(live.app.state.runtime.session_factory) as s:
        now = db_now(s)
        for n in range(8):
            at = now - timedelta(minutes=10) + timedelta(seconds=n)
            s.add(Notification(organization_id=live.world.commune_id, person_id=person_id, channel="sms",
                               address="+33639980401", purpose="inform", text="info", status=NotificationStatus.SENT,
                               created_at=at, handed_off_at=at))
    page.get_by_test_id("person-devices").get_by_role("button", name="par SMS").click()
    expect(page.get_by_test_id("enrol-deferred")).to_contain_text("envoi différé jusqu'à")
    expect(page.get_by_test_id("enrol-deferred")).to_contain_text("(limite anti-rafale)")
