"""A drill (« EXERCICE ») end to end: every message says so within its road's rules, the convention's
figures leave it out and show it apart, its report says so in the title, and pay never counts it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.db import transaction
from backend.events import service as event_service
from backend.events.models import Event
from backend.events.schemas import EventCreate
from backend.outbox.models import Notification
from backend.trace.service import Actor
from notifications.base import ChannelKind
from notifications.render import EventSummary, render
from tests.backend.test_payroll import answer, close, csv_rows, export, november, paris, utc  # noqa: F401

API = "/api/v1"
DRILL = EventSummary(org_code="CHENOVE", number="2026-0042", severity=4, title="Inondation du sous-sol de l'école "
                     "maternelle Jules Ferry, rue Roger Salengro, pompes en panne", place="12 rue Roger Salengro",
                     category="Inondation", description="Exercice annuel du plan communal de sauvegarde",
                     exercise=True)


@pytest.mark.parametrize("purpose", ["solicit", "inform", "unreached", "closing", "confirm"])
def test_every_sms_of_a_drill_starts_with_exercice_and_keeps_to_one_segment(purpose):
    sms = render(purpose, ChannelKind.SMS, DRILL, reply_code="4821", acked_by="Tech Un", note="Réponse enregistrée")
    assert sms.text.startswith("EXERCICE - [CHENOVE] CRITIQUE 2026-0042")
    assert len(sms.text) <= 160
    if purpose == "solicit":  # the reply hint stays whole: the body gives way
        assert sms.text.endswith("Rep 1 4821=je prends 2 4821=indispo")


def test_a_drills_push_title_and_email_subject_and_body_say_exercice():
    push = render("solicit", ChannelKind.PUSH, DRILL)
    assert push.subject.startswith("EXERCICE — [CHENOVE CRITIQUE 2026-0042]")
    assert push.text.startswith("EXERCICE — Inondation")
    assert push.data["exercise"] is True
    mail = render("solicit", ChannelKind.EMAIL, DRILL, person_name="Tech Un")
    assert mail.subject.startswith("EXERCICE — ")
    assert "\nEXERCICE — Inondation" in mail.text
    assert "<h1 style='font-size:20px'>EXERCICE — Inondation" in mail.html


def test_a_real_events_messages_say_nothing_of_the_kind():
    real = EventSummary(**{**DRILL.__dict__, "exercise": False})
    for channel in (ChannelKind.SMS, ChannelKind.PUSH, ChannelKind.EMAIL):
        rendered = render("solicit", channel, real, person_name="Tech Un")
        assert "EXERCICE" not in rendered.subject + rendered.text + (rendered.html or "")
        assert "exercise" not in rendered.data


def _open(client, h, world, **extra) -> dict:
    response = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Fuite de gaz", "place": "École Jules Ferry", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_drill_is_marked_and_its_queued_messages_say_exercice(client, h, world, runtime):
    drill = _open(client, h, world, exercise=True)
    assert drill["exercise"] is True
    assert client.get(f"{API}/events/{drill['id']}", headers=h("referent")).json()["exercise"] is True
    trace = client.get(f"{API}/events/{drill['id']}/trace", headers=h("operator")).json()
    assert trace[0]["kind"] == "event.created" and trace[0]["data"]["exercise"] is True
    with transaction(runtime.session_factory) as session:
        rows = list(session.scalars(select(Notification).where(Notification.event_id == drill["id"])))
        assert {r.channel for r in rows} >= {"sms"}
        assert all(r.subject.startswith(("EXERCICE — ", "EXERCICE - ")) for r in rows)
        assert all(r.text.startswith("EXERCICE") or "\nEXERCICE — " in r.text for r in rows)
    assert _open(client, h, world)["exercise"] is False


def test_drills_are_counted_apart_from_the_conventions_figures(client, h, world):
    real = _open(client, h, world)
    drill = _open(client, h, world, exercise=True, title="Exercice crue")
    _open(client, h, world, exercise=True, title="Exercice sans réponse", severity=2)
    answer = client.post(f"{API}/events/{drill['id']}/responses", headers=h("oncall"), json={"kind": "ack"})
    assert answer.status_code == 201, answer.text
    assert real["exercise"] is False

    figures = client.get(f"{API}/dashboard", headers=h("operator"),
                         params={"organization_id": world.commune_id}).json()
    assert figures["events"] == 1
    assert figures["by_severity"] == {"3": 1}
    assert figures["first_action"]["without_action"] == 1  # the real one, unanswered; not the drills
    assert figures["escalation_depth"]["pages"] == 1
    drills = figures["exercises"]
    assert drills["events"] == 2
    assert drills["first_action"]["within_hour"] == 1 and drills["first_action"]["without_action"] == 1
    assert drills["first_action"]["within_hour_rate"] == 0.5
    assert list(drills["ack_by_group"]) == ["Astreinte technique"]
    assert figures["ack_by_group"] == {}  # the real event was not acknowledged

    csv = client.get(f"{API}/dashboard", headers=h("operator"),
                     params={"organization_id": world.commune_id, "format": "csv"}).content.decode("utf-8-sig")
    assert "événements;événements;1;" in csv
    assert "exercices (hors convention);exercices;2;" in csv
    assert "exercices (hors convention);première action dans l'heure (taux);0,5;" in csv
    assert "exercices : acquittement par groupe (médiane s);Astreinte technique;" in csv


def test_a_drills_report_says_exercice_in_its_title(client, h, world):
    drill = _open(client, h, world, exercise=True)
    closed = client.post(f"{API}/events/{drill['id']}/close", headers=h("operator"), json={"reason": "Fin de l'exercice"})
    assert closed.status_code == 200, closed.text
    reports = client.get(f"{API}/events/{drill['id']}/reports", headers=h("operator")).json()
    html = client.get(f"{API}/reports/{reports[-1]['id']}.html", headers=h("operator")).text
    assert f"<title>EXERCICE — Rapport {drill['number']}" in html
    assert f"<h1>EXERCICE — Rapport d'événement {drill['number']}</h1>" in html
    pdf = client.get(f"{API}/reports/{reports[-1]['id']}.pdf", headers=h("operator"))
    assert pdf.status_code == 200 and b"EXERCICE" in pdf.content

    real = _open(client, h, world)
    client.post(f"{API}/events/{real['id']}/close", headers=h("operator"), json={"reason": "Traité"})
    report = client.get(f"{API}/events/{real['id']}/reports", headers=h("operator")).json()[-1]
    assert "EXERCICE" not in client.get(f"{API}/reports/{report['id']}.html", headers=h("operator")).text


def test_pay_never_counts_a_drills_intervention(client, h, world, runtime, november):  # noqa: F811
    before = export(client, h, world)
    un = world.techs[0]
    # Thursday 12 Nov, in Tech Un's own week: a night drill he takes and works through.
    with transaction(runtime.session_factory) as s:
        drill = event_service.create(
            db_session=s, org_ids=frozenset({world.commune_id}), actor=Actor("user", None, "Opérateur"), user_id=None,
            now=utc(paris(2026, 11, 12, 22, 0)),
            draft=EventCreate(organization_id=world.commune_id, procedure_id=world.procedure_id, severity=3,
                              title="Exercice inondation", exercise=True))
        drill_id, number = drill.id, drill.number
    answer(runtime, world, drill_id, un, "ack", paris(2026, 11, 12, 22, 3))
    answer(runtime, world, drill_id, un, "on_site", paris(2026, 11, 12, 22, 30))
    answer(runtime, world, drill_id, un, "done", paris(2026, 11, 13, 1, 0))
    close(runtime, world, drill_id, paris(2026, 11, 13, 1, 10))
    with transaction(runtime.session_factory) as s:
        assert s.get(Event, drill_id).exercise is True

    after = export(client, h, world)
    assert after["version"] == before["version"] + 1
    assert after["totals"] == before["totals"]
    rows = csv_rows(client, h, after["id"])
    assert not [r for r in rows if number in r[10]]
    assert rows == csv_rows(client, h, before["id"])


def test_the_referents_out_of_hours_notice_and_the_reports_mail_say_exercice_for_a_drill():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from notifications import notice as notices
    from notifications.notice import render_notice

    told = notices.out_of_coverage(org_code="CHENOVE", number="2026-0042", title="Fuite", place="École",
                                   category="Réseaux", received=datetime(2026, 12, 5, 2, tzinfo=ZoneInfo("Europe/Paris")),
                                   exercise=True)
    assert render_notice(told, ChannelKind.SMS).text.startswith("[CHENOVE] EXERCICE - Hors horaires PC")
    assert render_notice(told, ChannelKind.EMAIL).subject == "[CHENOVE] EXERCICE — Hors horaires PC — 2026-0042 Fuite"
    subject, text = notices.report_mail(org_code="CHENOVE", org_name="Ville de Chenôve", number="2026-0042",
                                        title="Fuite", version=1, exercise=True)
    assert subject.startswith("EXERCICE — [CHENOVE] Rapport 2026-0042") and text.startswith("EXERCICE — Rapport")
    real, _ = notices.report_mail(org_code="CHENOVE", org_name="Ville de Chenôve", number="2026-0042", title="Fuite",
                                  version=1)
    assert "EXERCICE" not in real
