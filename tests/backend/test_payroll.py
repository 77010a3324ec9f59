"""On-call payroll export: a seeded November 2026 computed by hand, read back through HTTP.

November 2026: Sunday 1 (All Saints') and Wednesday 11 (Armistice) are public holidays. The technical
group hands over on Mondays at 08:30 in the order Un, Deux, Trois from 19 October, so its turns are:
26 Oct Deux, 2 Nov Trois, 9 Nov Un, 16 Nov Deux, 23 Nov Trois, 30 Nov Un. On top of it:
- Un takes Trois's weekend, Friday 6 Nov 17:30 → Monday 9 Nov 08:30 (agreed on 1 October);
- Un takes the first half of Deux's week, Monday 16 Nov 08:30 → Thursday 19 Nov 08:30 (1 October);
- Un takes Trois's Sunday, 29 Nov 08:30 → Monday 30 Nov 08:30, agreed on Wednesday 25 Nov: short notice.
The rotation was published on 1 September. Every notice instant is written into the rows, so nothing
depends on the day the tests run. Technical sector 2015, astreinte d'exploitation: week 159.20, weekend
116.20, night 10.75, Saturday 37.40, Sunday or holiday 46.55; interventions 16 €/h on a weekday, 22 €/h
at night, on Saturdays, Sundays and holidays.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import delete, select

from backend.coverage.models import CoverageSettings
from backend.db import transaction
from backend.events import service as event_service
from backend.events.schemas import EventCreate
from backend.groups.models import OnCallGroup
from backend.payroll.models import PayrollExport
from backend.people.models import Person
from backend.responses import service as response_service
from backend.schedule.models import Override, Rotation
from backend.trace.service import Actor

API = "/api/v1"
PARIS = ZoneInfo("Europe/Paris")
# The order payroll imports (README, « Payroll export »): who first (matricule, then the name for a row
# without one), then what.
COLUMNS = ["période", "collectivité", "matricule", "nom", "prénom", "code_rubrique", "libellé", "quantité", "taux",
           "montant", "référence"]


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


@pytest.fixture
def november(client, world, runtime, h):
    """The month described in the module docstring, with two interventions by Tech Un."""
    un, deux, trois = world.techs
    with transaction(runtime.session_factory) as s:
        # The first customer's hours (weekdays 08:30–12:00 and 13:30–17:30 are business hours).
        s.execute(delete(CoverageSettings).where(CoverageSettings.organization_id == world.commune_id))
        s.get(Person, un).employee_number = "T001"
        s.get(Person, deux).employee_number = "T002"  # Tech Trois has none
    rotations = [
        put_rotation(client, h, world.tech_group_id, [un, deux, trois]),
        put_rotation(client, h, world.elu_group_id, world.elus),  # the élu holds every turn: paid nothing
    ]
    overrides = {
        "weekend": add_override(client, h, world, paris(2026, 11, 6, 17, 30), paris(2026, 11, 9, 8, 30), un, trois),
        "split": add_override(client, h, world, paris(2026, 11, 16, 8, 30), paris(2026, 11, 19, 8, 30), un, deux),
        "short": add_override(client, h, world, paris(2026, 11, 29, 8, 30), paris(2026, 11, 30, 8, 30), un, trois),
    }
    with transaction(runtime.session_factory) as s:
        for rotation_id in rotations:
            s.get(Rotation, rotation_id).created_at = utc(paris(2026, 9, 1, 10))
        s.get(Override, overrides["weekend"]).created_at = utc(paris(2026, 10, 1, 9))
        s.get(Override, overrides["split"]).created_at = utc(paris(2026, 10, 1, 9))
        s.get(Override, overrides["short"]).created_at = utc(paris(2026, 11, 25, 14))

    # Event 2026-0001, Tuesday 10 Nov: Un is called at 21:30 (his own week), reports done at 01:15 on the 11th.
    first = open_event(runtime, world, paris(2026, 11, 10, 21, 30))
    answer(runtime, world, first, un, "ack", paris(2026, 11, 10, 21, 34))
    answer(runtime, world, first, un, "en_route", paris(2026, 11, 10, 21, 40))
    answer(runtime, world, first, un, "on_site", paris(2026, 11, 10, 22, 5))
    answer(runtime, world, first, un, "done", paris(2026, 11, 11, 1, 15))
    close(runtime, world, first, paris(2026, 11, 11, 1, 30))
    # Event 2026-0002, Monday 16 Nov 23:40 (Un replaces Deux): no "done", the operator closes at 02:10.
    second = open_event(runtime, world, paris(2026, 11, 16, 23, 40))
    answer(runtime, world, second, un, "ack", paris(2026, 11, 16, 23, 43))
    answer(runtime, world, second, un, "on_site", paris(2026, 11, 17, 0, 20))
    close(runtime, world, second, paris(2026, 11, 17, 2, 10))
    return {"rotations": rotations, "overrides": overrides, "events": (first, second)}


def put_rotation(client, h, group_id, members) -> int:
    response = client.put(f"{API}/groups/{group_id}/rotation", headers=h("admin"), json={
        "member_ids": members, "anchor_local": "2026-10-19T08:30:00", "turn_days": 7,
        "effective_from": "2026-01-01T00:00:00+00:00"})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def add_override(client, h, world, start, end, person_id, replaces) -> int:
    response = client.post(f"{API}/groups/{world.tech_group_id}/overrides", headers=h("referent"), json={
        "starts_at": start.isoformat(), "ends_at": end.isoformat(), "person_id": person_id,
        "replaces_person_id": replaces, "reason": "remplacement"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def open_event(runtime, world, at: datetime) -> int:
    with transaction(runtime.session_factory) as s:
        event = event_service.create(db_session=s, org_ids=frozenset({world.commune_id}), actor=Actor("user", None, "Opérateur"), user_id=None, now=utc(at),
                    draft=EventCreate(organization_id=world.commune_id, procedure_id=world.procedure_id, severity=3, title="Arbre tombé", place="rue Paix"))
        return event.id


def answer(runtime, world, event_id: int, person_id: int, kind: str, at: datetime) -> None:
    with transaction(runtime.session_factory) as s:
        event = event_service.get(db_session=s, event_id=event_id, org_ids=frozenset({world.commune_id}), lock=True)
        response_service.record(db_session=s, event=event, kind=kind, person_id=person_id,
                                actor=Actor("person", person_id, "Tech"), via="app", now=utc(at))


def close(runtime, world, event_id: int, at: datetime) -> None:
    with transaction(runtime.session_factory) as s:
        event = event_service.get(db_session=s, event_id=event_id, org_ids=frozenset({world.commune_id}), lock=True)
        event_service.close(db_session=s, event=event, reason="traité", actor=Actor("user", None, "Opérateur"),
                            now=utc(at))


def export(client, h, world, role="referent", month="2026-11") -> dict:
    response = client.post(f"{API}/organizations/{world.commune_id}/payroll-exports", headers=h(role),
                           json={"month": month})
    assert response.status_code == 201, response.text
    return response.json()


def csv_rows(client, h, export_id) -> list[list[str]]:
    response = client.get(f"{API}/payroll-exports/{export_id}.csv", headers=h("operator"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode("utf-8"))  # the BOM French Excel needs
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def d(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


# --- the month by hand ---------------------------------------------------------------------------------
# (local start, code, quantity, rate, amount) of Tech Un's lines, in time order.
UN = [
    # Weekend Friday 6 Nov 17:30 → Monday 9 Nov 08:30, replacing Trois, told on 1 October: 116.20.
    ("06/11/2026 17:30", "ASTWE", "1", "116,20", "116,20"),
    # His own week Monday 9 → Monday 16 Nov: 159.20 …
    ("09/11/2026 08:30", "ASTSEM", "1", "159,20", "159,20"),
    # … interrupted by event 2026-0001, 21:30 → 01:15 (called at 21:30, done at 01:15): Tuesday 21:30–22:00
    # = 30 min weekday, 22:00–24:00 = 120 min night, Wednesday 11 (Armistice) 00:00–01:15 = 75 min holiday.
    # 0.5 h × 16 = 8.00; 2 h × 22 = 44.00; 1.25 h × 22 = 27.50; 79.50 in all.
    ("10/11/2026 21:30", "INTSEM", "0,50", "16,00", "8,00"),
    ("10/11/2026 21:30", "INTNUIT", "2,00", "22,00", "44,00"),
    ("10/11/2026 21:30", "INTDIM", "1,25", "22,00", "27,50"),
    # … and the Armistice's daytime inside the week is paid on top: 46.55 (159.20 + 46.55 = 205.75).
    ("11/11/2026 08:30", "ASTFER", "1", "46,55", "46,55"),
    # Deux's week split on Thursday 19 Nov 08:30: Un holds Monday, Tuesday and Wednesday nights, 3 × 10.75.
    ("16/11/2026 17:30", "ASTNUIT", "1", "10,75", "10,75"),
    # Event 2026-0002, called 23:40, no "done", closed at 02:10: 150 min of night, 2.5 h × 22 = 55.00.
    ("16/11/2026 23:40", "INTNUIT", "2,50", "22,00", "55,00"),
    ("17/11/2026 17:30", "ASTNUIT", "1", "10,75", "10,75"),
    ("18/11/2026 17:30", "ASTNUIT", "1", "10,75", "10,75"),
    # Trois's Sunday 29 Nov, agreed on the 25th: 26, 27, 28 = 3 jours francs < 15, so + 50 %:
    # 46.55 × 1.5 = 69.825 → 69.83, the majoration 69.83 − 46.55 = 23.28 on its own line;
    ("29/11/2026 08:30", "ASTDIM", "1", "46,55", "46,55"),
    ("29/11/2026 08:30", "ASTMAJ", "1", "23,28", "23,28"),
    # the Sunday night, 10.75 × 1.5 = 16.125 → 16.13, majoration 5.38.
    ("29/11/2026 17:30", "ASTNUIT", "1", "10,75", "10,75"),
    ("29/11/2026 17:30", "ASTMAJ", "1", "5,38", "5,38"),
    # His week from Monday 30 Nov ends on 7 December but starts in November: November pays it whole.
    ("30/11/2026 08:30", "ASTSEM", "1", "159,20", "159,20"),
]
# Astreinte 116.20 + 159.20 + 46.55 + 3 × 10.75 + 46.55 + 10.75 + 159.20 = 570.70, majorations 23.28 + 5.38
# = 28.66, interventions 79.50 + 55.00 = 134.50: 570.70 + 28.66 + 134.50 = 733.86.
UN_TOTAL = Decimal("733.86")
# Deux keeps Thursday 19 Nov's night and the weekend of the 20th: 10.75 + 116.20 = 126.95 (with Un's three
# nights, 32.25 + 126.95 = 159.20, the week). His week from 26 October is October's, Sunday 1 Nov inside it.
DEUX_TOTAL = Decimal("126.95")
# Trois keeps the nights of 2–5 Nov, 4 × 10.75 = 43.00 (116.20 + 43.00 = 159.20), then 23 → 29 Nov 08:30:
# six nights 64.50 and Saturday 28's daytime 37.40 (64.50 + 37.40 + Un's 57.30 = 159.20): 144.90.
TROIS_TOTAL = Decimal("144.90")
TOTAL = UN_TOTAL + DEUX_TOTAL + TROIS_TOTAL  # 1005.71


def test_a_month_of_turns_replacements_and_interventions_against_figures_done_by_hand(client, world, h, november):
    un, deux, trois = world.techs
    body = export(client, h, world)
    assert body["version"] == 1 and body["month"] == "2026-11"
    assert Decimal(body["totals"]["amount"]) == TOTAL == Decimal("1005.71")
    agents = {a["person_id"]: a for a in body["agents"]}
    assert set(agents) == {un, deux, trois}  # the élu held every turn of his group and gets nothing
    assert Decimal(agents[un]["total_amount"]) == UN_TOTAL
    assert (agents[un]["astreinte_amount"], agents[un]["majoration_amount"], agents[un]["intervention_amount"]) == (
        "570.70", "28.66", "134.50")
    assert Decimal(agents[deux]["total_amount"]) == DEUX_TOTAL
    assert Decimal(agents[trois]["total_amount"]) == TROIS_TOTAL
    assert [e["person_id"] for e in body["excluded"]] == world.elus
    assert body["excluded"][0]["reason"].startswith("élu")

    rows = csv_rows(client, h, body["id"])
    assert rows[0] == COLUMNS
    lines = rows[1:]
    assert len(lines) == len(UN) + 2 + 11  # Deux: a night and a weekend; Trois: ten nights and a Saturday
    assert {tuple(r[:2]) for r in lines} == {("2026-11", "CHENOVE")}
    mine = [r for r in lines if r[2] == "T001"]
    assert [(r[10].split(" au ")[0].split("du ")[-1], r[5], r[7], r[8], r[9]) for r in mine] == UN
    assert sum(d(r[9]) for r in mine) == UN_TOTAL
    assert sum(d(r[9]) for r in lines) == TOTAL
    # The reference leads payroll back to the planning or the trace.
    by_code = {r[5]: r for r in mine}
    assert by_code["ASTWE"][10] == (f"Astreinte technique, du 06/11/2026 17:30 au 09/11/2026 08:30, "
                                   f"remplacement n° {november['overrides']['weekend']}")
    assert f"rotation n° {november['rotations'][0]}" in by_code["ASTSEM"][10]
    assert by_code["INTDIM"][10] == "Événement 2026-0001, intervention du 10/11/2026 21:30 au 11/11/2026 01:15"
    assert by_code["ASTMAJ"][10].endswith(f"remplacement n° {november['overrides']['short']}")
    assert by_code["ASTSEM"][6] == "Astreinte — semaine complète"
    deux_lines = [(r[5], r[9]) for r in lines if r[2] == "T002"]
    assert deux_lines == [("ASTNUIT", "10,75"), ("ASTWE", "116,20")]
    trois_lines = [r for r in lines if r[2] == ""]  # no matricule: exported empty, and said so
    assert {(r[3], r[4]) for r in trois_lines} == {("Trois", "Tech")}  # but the name says whose they are
    assert {(r[3], r[4]) for r in mine} == {("Un", "Tech")}
    assert len(trois_lines) == 11 and sum(d(r[9]) for r in trois_lines) == TROIS_TOTAL
    assert [r[5] for r in trois_lines].count("ASTSAM") == 1

    warnings = {a["person_id"]: a["warnings"] for a in body["agents"]}
    assert warnings[trois][0].startswith("Tech Trois n'a pas de matricule")
    # Where to fill it in: the person's page in the console, not a vague « annuaire ».
    assert re.search(rf"sur sa fiche, https?://[^ ]+/console/#/personne/{trois}, puis recalculer", warnings[trois][0])
    assert "annuaire" not in warnings[trois][0]
    assert warnings[deux] == []
    # The 16 November call-out leaves 02:10 → 08:30 before Tuesday's work: 6 h 20 of rest.
    assert warnings[un] == [
        "Intervention de l'événement 2026-0002 (du 16/11/2026 23:40 au 17/11/2026 02:10) : aucun « terminé », "
        "comptée jusqu'à la clôture de l'événement.",
        "Repos quotidien de 6 h 20 seulement (minimum 11 h) : fin du travail le mar. 17/11/2026 à 02:10, "
        "reprise le mar. 17/11/2026 à 08:30 (journée commencée le lun. 16/11/2026 à 08:30).",
    ]


def test_the_workbook_and_the_statements_carry_the_same_figures(client, world, h, november):
    un, deux, trois = world.techs
    body = export(client, h, world)
    response = client.get(f"{API}/payroll-exports/{body['id']}.xlsx", headers=h("referent"))
    assert response.status_code == 200 and response.content[:2] == b"PK"
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Éléments variables", "Synthèse", "Alertes"]
    items = list(book["Éléments variables"].iter_rows(values_only=True))
    assert list(items[0]) == COLUMNS and len(items) == 1 + 28
    assert {(r[2], r[3], r[4]) for r in items[1:]} == {("T001", "Un", "Tech"), ("T002", "Deux", "Tech"),
                                                       (None, "Trois", "Tech")}
    assert round(sum(Decimal(str(r[9])) for r in items[1:]), 2) == TOTAL
    summary = list(book["Synthèse"].iter_rows(values_only=True))
    assert [r[1] for r in summary[1:4]] == ["Tech Deux", "Tech Trois", "Tech Un"]
    assert Decimal(str(summary[3][6])) == UN_TOTAL
    assert summary[4][1] == "Total" and Decimal(str(summary[4][6])) == TOTAL
    alerts = [r[2] for r in book["Alertes"].iter_rows(values_only=True)]
    assert any(a.startswith("Tech Trois n'a pas de matricule") for a in alerts)
    assert any(a.startswith("Non payé : élu") for a in alerts)

    pdf = client.get(f"{API}/payroll-exports/{body['id']}/statements/{un}.pdf", headers=h("operator"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    missing = client.get(f"{API}/payroll-exports/{body['id']}/statements/{world.elus[0]}.pdf", headers=h("operator"))
    assert missing.status_code == 404
    archive = client.get(f"{API}/payroll-exports/{body['id']}/statements.zip", headers=h("operator"))
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert sorted(names) == sorted(f"paie-astreintes-2026-11-v1-{n}.pdf" for n in ("T001", "T002", f"agent-{trois}"))


def test_a_re_export_is_a_new_version_and_the_first_stays_as_it_was(client, world, h, runtime, november):
    trois = world.techs[2]
    first = export(client, h, world)
    before = csv_rows(client, h, first["id"])
    with transaction(runtime.session_factory) as s:
        s.get(Person, trois).employee_number = "T003"
    second = export(client, h, world, role="admin")
    assert (first["version"], second["version"]) == (1, 2) and second["id"] != first["id"]
    assert csv_rows(client, h, first["id"]) == before  # untouched
    assert sum(1 for r in csv_rows(client, h, second["id"]) if r[2] == "T003") == 11
    assert second["totals"]["amount"] == first["totals"]["amount"]
    listed = client.get(f"{API}/organizations/{world.commune_id}/payroll-exports", headers=h("operator")).json()
    assert [(e["month"], e["version"]) for e in listed] == [("2026-11", 2), ("2026-11", 1)]
    assert listed[1]["sha256"] == first["sha256"]
    with runtime.session_factory() as s:
        assert len(list(s.scalars(select(PayrollExport)))) == 2
    detail = client.get(f"{API}/payroll-exports/{first['id']}", headers=h("referent")).json()
    assert detail["agents"] == first["agents"]


def test_settings_codes_and_time_off_change_the_next_export(client, world, h, november):
    un = world.techs[0]
    url = f"{API}/organizations/{world.commune_id}/payroll-settings"
    read = client.get(url, headers=h("operator"))
    assert read.status_code == 200
    assert read.json()["kind_regimes"] == {
        "technique": {"regime": "technique-2015", "variant": "exploitation"},
        "cadre": {"regime": "autres-2015", "variant": "securite"}, "prestataire": None, "elu": None}
    assert client.patch(url, headers=h("operator"), json={"collectivite_code": "X"}).status_code == 403
    assert client.patch(url, headers=h("referent"), json={"kind_regimes": {"elu": None}}).status_code == 422
    bad = client.patch(url, headers=h("referent"), json={"kind_regimes": {"cadre": {"regime": "cadre-1999"}}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_regime"
    changed = client.patch(url, headers=h("referent"), json={
        "collectivite_code": "21166", "codes": {"astreinte.week": {"code": "0452", "label": "Astreinte semaine"}}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["codes"]["astreinte.week"] == {"code": "0452", "label": "Astreinte semaine"}
    rule = client.put(f"{url}/people/{un}", headers=h("referent"), json={"intervention_mode": "time_off"})
    assert rule.status_code == 200 and rule.json()["people"][0]["intervention_mode"] == "time_off"
    elu = client.put(f"{url}/people/{world.elus[0]}", headers=h("admin"), json={"regime": "autres-2015"})
    assert elu.status_code == 422 and elu.json()["error"]["code"] == "elected_not_paid"
    assert client.put(f"{url}/people/{world.foreign_person_id}", headers=h("admin"), json={}).status_code == 404

    body = export(client, h, world)
    rows = [r for r in csv_rows(client, h, body["id"])[1:] if r[2] == "T001"]
    assert {r[1] for r in rows} == {"21166"}
    assert [(r[5], r[6]) for r in rows if r[8] == "159,20"] == [("0452", "Astreinte semaine")] * 2
    # Technical time off: weekday +0 %, night +50 %, holiday +100 %. Event 2026-0001: 30 min → 30, 120 → 180,
    # 75 → 150, so 0.50 h + 3.00 h + 2.50 h; event 2026-0002: 150 → 225, 3.75 h. 9.75 h, and no amount.
    repos = [(r[5], r[7], r[8], r[9]) for r in rows if r[5].startswith("RC")]
    assert repos == [("RCSEM", "0,50", "", ""), ("RCNUIT", "3,00", "", ""), ("RCDIM", "2,50", "", ""),
                     ("RCNUIT", "3,75", "", "")]
    agent = next(a for a in body["agents"] if a["person_id"] == un)
    assert agent["time_off_hours"] == "9.75" and agent["intervention_amount"] == "0.00"
    assert Decimal(agent["total_amount"]) == Decimal("599.36")  # 733.86 − 134.50

    excluded = client.put(f"{url}/people/{un}", headers=h("referent"), json={"excluded": True})
    assert excluded.status_code == 200
    later = export(client, h, world)
    assert un not in {a["person_id"] for a in later["agents"]} and later["version"] == 2
    assert client.delete(f"{url}/people/{un}", headers=h("referent")).json()["people"] == []


def test_staff_only_and_other_tenants_see_nothing(client, world, h, november):
    body = export(client, h, world, role="operator")
    un = world.techs[0]
    org = f"{API}/organizations/{world.commune_id}"
    urls = [f"{org}/payroll-exports", f"{org}/payroll-settings", f"{API}/payroll-exports/{body['id']}",
            f"{API}/payroll-exports/{body['id']}.csv", f"{API}/payroll-exports/{body['id']}.xlsx",
            f"{API}/payroll-exports/{body['id']}/statements/{un}.pdf",
            f"{API}/payroll-exports/{body['id']}/statements.zip"]
    for url in urls:
        assert client.get(url, headers=h("foreign_operator")).status_code == 404, url
        assert client.get(url, headers=h("oncall")).status_code == 403, url
        assert client.get(url, headers=h("referent")).status_code == 200, url
    post = {"json": {"month": "2026-11"}}
    assert client.post(f"{org}/payroll-exports", headers=h("foreign_operator"), **post).status_code == 404
    assert client.post(f"{org}/payroll-exports", headers=h("oncall"), **post).status_code == 403
    assert client.patch(f"{org}/payroll-settings", headers=h("foreign_operator"), json={}).status_code == 404
    bad = client.post(f"{org}/payroll-exports", headers=h("referent"), json={"month": "2026-13"})
    assert bad.status_code == 422


def test_a_rotation_edit_keeps_the_notice_of_turns_it_does_not_change(client, world, h, runtime, november):
    # A new version from Friday 20 November, published that day, with the same order: the holders of the
    # turns of 23 and 30 November knew them since 1 September, so nothing becomes short-notice (the turn of
    # 30 November would otherwise be 21 … 29 = 9 jours francs away: 159.20 × 1.5).
    un, deux, trois = world.techs
    response = client.put(f"{API}/groups/{world.tech_group_id}/rotation", headers=h("admin"), json={
        "member_ids": [un, deux, trois], "anchor_local": "2026-10-19T08:30:00", "turn_days": 7,
        "effective_from": utc(paris(2026, 11, 20)).isoformat()})
    assert response.status_code == 200, response.text
    with transaction(runtime.session_factory) as s:
        s.get(Rotation, response.json()["id"]).created_at = utc(paris(2026, 11, 20, 9))
    body = export(client, h, world)
    assert Decimal(body["totals"]["amount"]) == TOTAL
    majorations = [r for r in csv_rows(client, h, body["id"])[1:] if r[5] == "ASTMAJ"]
    assert [r[9] for r in majorations] == ["23,28", "5,38"]  # only the Sunday agreed on the 25th
    # Deux's Thursday night, 19 → 20 November, now draws on both versions, and says so.
    night = next(r for r in csv_rows(client, h, body["id"])[1:] if r[2] == "T002" and r[5] == "ASTNUIT")
    assert night[10].endswith(f"tour 4 de la rotation n° {november['rotations'][0]} + "
                               f"tour 4 de la rotation n° {response.json()['id']}")


def test_the_manager_validates_the_latest_version_of_a_finished_month(client, world, h, runtime, november):
    first = export(client, h, world, role="operator")
    assert (first["status"], first["validated_by"]) == ("draft", None)
    validate = f"{API}/payroll-exports/{first['id']}/validation"
    # The PC's operators produce exports; signing them off for payroll is the commune's (or an admin's).
    refused = client.post(validate, headers=h("operator"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_forbidden"
    assert client.post(validate, headers=h("foreign_operator")).status_code == 404
    done = client.post(validate, headers=h("referent"))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "validated" and done.json()["validated_by"] and done.json()["validated_at"]
    again = client.post(validate, headers=h("admin"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_validated"

    # A correction after the sign-off is a new version to validate; the signed one is kept, superseded.
    second = export(client, h, world)
    listed = client.get(f"{API}/organizations/{world.commune_id}/payroll-exports", headers=h("operator")).json()
    assert [(e["version"], e["status"]) for e in listed] == [(2, "draft"), (1, "superseded")]
    assert listed[1]["validated_by"] == done.json()["validated_by"]
    assert client.get(f"{API}/payroll-exports/{first['id']}", headers=h("referent")).json()["status"] == "superseded"
    third = export(client, h, world)
    stale = client.post(f"{API}/payroll-exports/{second['id']}/validation", headers=h("referent"))
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "superseded"
    assert client.post(f"{API}/payroll-exports/{third['id']}/validation", headers=h("admin")).json()["status"] == \
        "validated"

    # A month still running cannot be signed off: its figures will change.
    running = export(client, h, world, month=datetime.now(PARIS).strftime("%Y-%m"))
    assert running["complete"] is False
    early = client.post(f"{API}/payroll-exports/{running['id']}/validation", headers=h("referent"))
    assert early.status_code == 409 and early.json()["error"]["code"] == "month_not_over"
    with runtime.session_factory() as s:
        assert s.get(PayrollExport, running["id"]).validated_at is None


def test_a_regime_can_have_its_own_payroll_codes(client, world, h, november):
    url = f"{API}/organizations/{world.commune_id}/payroll-settings"
    bad = client.patch(url, headers=h("referent"), json={"codes": {"cadre-1999/astreinte.week": {
        "code": "X", "label": "X"}}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_regime"
    bad = client.patch(url, headers=h("referent"), json={"codes": {"technique-2015/astreinte.month": {
        "code": "X", "label": "X"}}})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_item"
    changed = client.patch(url, headers=h("referent"), json={"codes": {
        "technique-2015/intervention.night": {"code": "0611", "label": "Intervention de nuit (filière technique)"},
        "autres-2015/intervention.night": {"code": "0612", "label": "Intervention de nuit (autres filières)"}}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["codes"]["technique-2015/intervention.night"]["code"] == "0611"

    rows = [r for r in csv_rows(client, h, export(client, h, world)["id"])[1:] if r[2] == "T001"]
    codes = {r[5] for r in rows}
    # Tech Un's night hours are technical: the technical code; the other slots keep the item's own code.
    assert "0611" in codes and "0612" not in codes and "INTNUIT" not in codes and "INTSEM" in codes
    assert {r[6] for r in rows if r[5] == "0611"} == {"Intervention de nuit (filière technique)"}

    reset = client.patch(url, headers=h("referent"), json={"codes": {"technique-2015/intervention.night": None}})
    assert "technique-2015/intervention.night" not in reset.json()["codes"]
    rows = [r for r in csv_rows(client, h, export(client, h, world)["id"])[1:] if r[2] == "T001"]
    assert "INTNUIT" in {r[5] for r in rows} and "0611" not in {r[5] for r in rows}


def test_figures_not_read_in_the_official_text_are_flagged_for_hr(client, world, h, november):
    url = f"{API}/organizations/{world.commune_id}/payroll-settings"
    sourced = export(client, h, world)  # technical sector, exploitation, interventions paid: all read
    assert not [w for w in sourced["warnings"] if "à confirmer par le service RH" in w["message"]]
    un = world.techs[0]
    assert client.put(f"{url}/people/{un}", headers=h("referent"),
                      json={"regime": "technique-2015", "variant": "decision"}).status_code == 200
    flagged = export(client, h, world)
    [warning] = [w for w in flagged["warnings"] if "à confirmer par le service RH" in w["message"]]
    assert warning["person_id"] is None  # about the export: every agent of that variant
    assert "Astreinte de décision" in warning["message"] and warning["message"].startswith("Filière technique")


def test_a_name_with_a_control_character_does_not_break_the_workbook(client, world, h, runtime, november):
    with transaction(runtime.session_factory) as s:
        s.get(Person, world.techs[0]).last_name = "Un\x07\x1b"  # pasted from a terminal
        s.get(OnCallGroup, world.tech_group_id).name = "Astreinte\x0b technique"
    body = export(client, h, world)
    response = client.get(f"{API}/payroll-exports/{body['id']}.xlsx", headers=h("referent"))
    assert response.status_code == 200
    summary = list(openpyxl.load_workbook(io.BytesIO(response.content))["Synthèse"].iter_rows(values_only=True))
    assert "Tech Un" in [r[1] for r in summary]
