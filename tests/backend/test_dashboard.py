"""The convention's dashboard, for a seeded month whose figures were worked out by hand, and cross-checked
against the raw trace."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from backend.auth.models import User
from backend.calls.models import BypassedAlert, Call
from backend.db import transaction
from backend.events import service as event_service
from backend.events.models import Event
from backend.events.schemas import EventCreate
from backend.responses import service as response_service
from backend.trace import service as trace_service
from backend.trace.kinds import HUMAN_ACTIONS
from backend.trace.models import TraceEntry
from backend.trace.service import Actor
from tests.factories import login

API = "/api/v1"
PARIS = ZoneInfo("Europe/Paris")
NOVEMBER = {"start": "2026-11-01T00:00:00+01:00", "end": "2026-12-01T00:00:00+01:00"}
PC = Actor("user", None, "Opérateur")


def at(day, hour, minute=0, month=11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
def november(runtime, world):
    """Three events of November (and one of October), ten calls, alerts that bypassed the PC."""
    commune = frozenset({world.commune_id})
    tech, cadre = world.techs[0], world.cadres[0]
    with transaction(runtime.session_factory) as s:
        def create(when, **data):
            return event_service.create(db_session=s, org_ids=commune, actor=PC, user_id=None, now=when,
                       draft=EventCreate(organization_id=world.commune_id, **{"title": "t", **data}))

        # E1, grave, 3 Nov 22:00: the technician is asked at once and takes it at 22:04; a report is sent.
        e1 = create(at(3, 22), procedure_id=world.procedure_id, severity=3)
        response_service.record(db_session=s, event=e1, kind="ack", person_id=tech, actor=Actor("person", tech, "T"),
                                via="sms", now=at(3, 22, 4))
        trace_service.append(db_session=s, event=e1, kind="report.sent", at=at(4, 8), data={"lists": [1]})
        # Deliveries as the dispatcher traces them: an SMS handed over after a retry, an e-mail that failed.
        for kind, nid, channel in (("notification.retry", 901, "sms"), ("notification.sent", 901, "sms"),
                                   ("notification.failed", 902, "email")):
            trace_service.append(db_session=s, event=e1, kind=kind, at=at(3, 22, 1),
                                 data={"notification_id": nid, "channel": channel})
        # E2, modéré, 10 Nov 03:00, no procedure: nothing happens until the PC closes it at 04:30.
        e2 = create(at(10, 3), category="Animaux", severity=2)
        event_service.close(db_session=s, event=e2, reason="animal parti", actor=PC, now=at(10, 4, 30))
        # E3, critique, 20 Nov 12:30: every group at once; the cadre takes it at 12:33.
        e3 = create(at(20, 12, 30), procedure_id=world.procedure_id, severity=4)
        response_service.record(db_session=s, event=e3, kind="ack", person_id=cadre,
                                actor=Actor("person", cadre, "C"), via="app", now=at(20, 12, 33))
        create(at(31, 23, month=10), procedure_id=world.procedure_id, severity=3)  # October: not counted
        for n in range(10):  # 8 of 10 November calls answered
            rang = at(1 + n, 20)
            s.add(Call(organization_id=world.commune_id, received_at=rang, answered=n < 8,
                       answered_at=rang + timedelta(seconds=10 * (n + 1)) if n < 8 else None))
        s.add(Call(organization_id=world.commune_id, received_at=at(1, 1, month=12), answered=False))
        s.add_all([BypassedAlert(organization_id=world.commune_id, occurred_at=at(5, 21), category="Éclairage public",
                                 count=3),
                   BypassedAlert(organization_id=world.commune_id, occurred_at=at(6, 21), category="Voirie", count=1)])
    return {"events": [e1.id, e2.id, e3.id]}


def test_the_figures_of_a_seeded_month_are_the_ones_worked_out_by_hand(client, world, november):
    headers = login(client, world.users["operator"])
    response = client.get(f"{API}/dashboard", headers=headers,
                          params={**NOVEMBER, "organization_id": world.commune_id})
    assert response.status_code == 200, response.text
    f = response.json()
    assert f["events"] == 3
    assert (f["calls"]["total"], f["calls"]["answered"], f["calls"]["pickup_rate"]) == (10, 8, 0.8)
    assert f["calls"]["median_wait_s"] == 45  # waits 10…80 s: the median of eight is (40 + 50) / 2
    fa = f["first_action"]
    # E1's technician takes it after 4 min, E3's cadre after 3 min (the pages sent at once do not count);
    # E2's first action is its closure after 1 h 30.
    assert (fa["within_hour"], fa["within_target"], fa["without_action"]) == (2, 2, 0)
    assert fa["within_hour_rate"] == fa["within_target_rate"] == round(2 / 3, 4)
    assert fa["by_severity"]["2"] == {"events": 1, "target_s": 1800, "within_target": 0, "without_action": 0,
                                      "median_s": 5400}
    assert fa["by_severity"]["3"]["median_s"] == 240 and fa["by_severity"]["4"]["median_s"] == 180
    assert (f["reports"]["sent"], f["reports"]["per_event"], f["reports"]["events_without_report"]) == (
        1, round(1 / 3, 4), 2)
    assert f["by_severity"] == {"2": 1, "3": 1, "4": 1} and f["by_month"] == {"2026-11": 3}
    assert f["by_category"] == {"Chute d'arbre sur la voirie": 2, "Animaux": 1}
    assert {g: v["median_s"] for g, v in f["ack_by_group"].items()} == {
        "Astreinte technique": 240, "Astreinte cadre": 180}
    # E1's page asked one person, E3's two pages one each; the technician's page of E3 was stopped by the ack.
    assert f["escalation_depth"]["distribution"] == {"1": 3} and f["escalation_depth"]["acknowledged"] == 2
    assert f["bypassed"] == {"total": 4, "by_category": {"Éclairage public": 3, "Voirie": 1}}
    assert f["delivery_by_channel"] == {"email": {"ok": 0, "failed": 1, "success_rate": 0.0},
                                        "sms": {"ok": 1, "failed": 0, "success_rate": 1.0}}


DECEMBER = {"start": "2026-12-01T00:00:00+01:00", "end": "2026-12-02T00:00:00+01:00"}


@pytest.fixture
def answers(runtime, world):
    """Five events of 1 December, all paged at once by Vigie: answered in time, late, never, only by the PC (a note),
    and by the PC on the technician's behalf after a phone call."""
    commune = frozenset({world.commune_id})
    tech = world.techs[0]
    technician = Actor("person", tech, "T")
    with transaction(runtime.session_factory) as s:
        def create(when, severity):
            return event_service.create(db_session=s, org_ids=commune, actor=PC, user_id=None, now=when,
                                        draft=EventCreate(organization_id=world.commune_id, title="t",
                                                          procedure_id=world.procedure_id, severity=severity))

        def answer(event, when, kind="ack", person_id=tech, actor=technician, via="app"):
            response_service.record(db_session=s, event=event, kind=kind, person_id=person_id, actor=actor, via=via,
                                    now=when)

        in_time = create(at(1, 1, month=12), 3)
        answer(in_time, at(1, 1, 10, month=12))  # 10 min: within grave's 15 min
        late = create(at(1, 2, month=12), 3)
        answer(late, at(1, 2, 40, month=12))  # 40 min: within the hour, not within 15 min
        never = create(at(1, 3, month=12), 3)  # paged, escalated, nobody ever answers
        by_the_pc = create(at(1, 4, month=12), 2)
        answer(by_the_pc, at(1, 4, 5, month=12), kind="note", person_id=None, actor=PC, via="operator")
        operator = s.scalar(select(User).where(User.email == world.users["operator"]))
        on_behalf = create(at(1, 5, month=12), 3)
        response_service.record(db_session=s, event=on_behalf, kind="ack", person_id=tech, via="operator",
                                actor=Actor("user", operator.id, "Opérateur"), on_behalf_by_user_id=operator.id,
                                reason="joint par téléphone", now=at(1, 5, 12, month=12))  # 12 min: in time
    return {"never": never.id}


def test_the_first_action_is_the_first_human_response_not_the_automatic_paging(client, world, runtime, answers):
    with runtime.session_factory() as s:
        never = list(s.scalars(select(TraceEntry).where(TraceEntry.event_id == answers["never"])))
    assert "page.notify" in {e.kind for e in never}  # Vigie did solicit someone at once: that is not an action
    headers = login(client, world.users["operator"])
    fa = client.get(f"{API}/dashboard", headers=headers, params=DECEMBER).json()["first_action"]
    assert (fa["within_hour"], fa["within_target"], fa["without_action"]) == (4, 3, 1)
    assert (fa["within_hour_rate"], fa["within_target_rate"]) == (0.8, 0.6)
    assert fa["by_severity"]["3"] == {"events": 4, "target_s": 900, "within_target": 2, "without_action": 1,
                                      "median_s": 720}  # 10, 12 and 40 min; the unanswered one has no delay
    assert fa["by_severity"]["2"]["within_target"] == 1  # the PC's note after 5 min
    assert "première réponse humaine" in fa["definition"]
    rows = list(csv.reader(io.StringIO(client.get(f"{API}/dashboard", headers=headers,
                                                  params={**DECEMBER, "format": "csv"}).text.lstrip("\ufeff")),
                           delimiter=";"))
    assert ["première action", "dans le délai cible (taux)", "0,6", "1"] in rows
    assert ["première action", "sans action (aucune réponse humaine)", "1", "0"] in rows
    assert ["première action", "définition", fa["definition"], ""] in rows


def test_the_dashboard_agrees_with_the_raw_trace(client, world, runtime, november):
    f = client.get(f"{API}/dashboard", headers=login(client, world.users["operator"]), params=NOVEMBER).json()
    with runtime.session_factory() as s:
        entries = list(s.scalars(select(TraceEntry).where(TraceEntry.event_id.in_(november["events"]))))
        events = list(s.scalars(select(Event).where(Event.id.in_(november["events"]))))
    kinds = Counter(e.kind for e in entries)
    depth = f["escalation_depth"]["distribution"]
    assert sum(int(k) * v for k, v in depth.items()) == kinds["page.notify"]
    assert f["reports"]["sent"] == kinds["report.sent"]
    assert sum(f["by_category"].values()) == len(events) == f["events"]
    assert f["escalation_depth"]["acknowledged"] == kinds["page.acknowledged"]


def test_the_csv_says_its_period_with_the_last_day_included(client, world, november):
    headers = login(client, world.users["referent"])
    response = client.get(f"{API}/dashboard", headers=headers, params={**NOVEMBER, "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    # The period ends at midnight on 1 December: its last day is 30 November, in the name and in the rows.
    assert 'filename="indicateurs-20261101-20261130.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["rubrique", "indicateur", "valeur", "objectif"]
    assert rows[1:3] == [["période", "du", "01/11/2026", ""], ["période", "au (inclus)", "30/11/2026", ""]]
    assert ["appels", "taux de décroché", "0,8", "0,85"] in rows


def test_there_is_one_rendering_of_the_figures_the_consoles(client, world, november):
    # The projection is the console's own screen made full screen: the server no longer draws a second one.
    headers = login(client, world.users["operator"])
    assert client.get(f"{API}/dashboard", headers=headers, params={**NOVEMBER, "format": "html"}).status_code == 422


def test_the_dashboard_is_scoped(client, world, november):
    foreign = login(client, world.users["foreign_operator"])
    assert client.get(f"{API}/dashboard", headers=foreign,
                      params={**NOVEMBER, "organization_id": world.commune_id}).status_code == 404
    assert client.get(f"{API}/dashboard", headers=foreign, params=NOVEMBER).json()["events"] == 0
    assert client.get(f"{API}/dashboard", headers=login(client, world.users["oncall"]),
                      params=NOVEMBER).status_code == 403
    bad = client.get(f"{API}/dashboard", headers=foreign, params={**NOVEMBER, "end": NOVEMBER["start"]})
    assert bad.status_code == 422


def test_the_readme_names_every_kind_of_entry_that_is_a_first_action():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    paragraph = readme[readme.index("The **first action** is"):].split("\n- ")[0]
    for kind in HUMAN_ACTIONS:
        assert f"`{kind}`" in paragraph or (kind.startswith("response.") and "`response.*`" in paragraph), kind
    assert "`page.notify`" not in paragraph  # the automatic paging is no action
