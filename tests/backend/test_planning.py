"""Who is on call, when: rotations, replacements, swaps, coverage hours, taking the watch, iCal feeds.

Times that matter are fixed instants (a Sunday night, a Tuesday morning) given to the services;
everything a person sees is read back through HTTP.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import delete, select

from backend.coverage.models import CoverageSettings
from backend.db import transaction, utcnow
from backend.events import service as event_service
from backend.events.schemas import EventCreate
from backend.outbox.models import Notification
from backend.trace.service import Actor
from backend.watch import service as watch_service
from backend.watch.models import WatchTurn
from tests.backend.test_inbound_sms import post_sms

API = "/api/v1"
PARIS = ZoneInfo("Europe/Paris")
SINCE = "2026-01-01T00:00:00+00:00"


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def chenove_hours(world, runtime):
    """The world's communes are covered around the clock; here the commune has the first customer's hours."""
    with transaction(runtime.session_factory) as s:
        s.execute(delete(CoverageSettings).where(CoverageSettings.organization_id == world.commune_id))


def set_rotation(client, h, group_id, members, anchor="2026-11-30T08:30:00", role="admin", **extra):
    response = client.put(f"{API}/groups/{group_id}/rotation", headers=h(role), json={
        "member_ids": members, "anchor_local": anchor, "turn_days": 7, "effective_from": SINCE, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def open_event_at(runtime, world, at: datetime, title="Arbre tombé", severity=3) -> int:
    with transaction(runtime.session_factory) as s:
        event = event_service.create(db_session=s, org_ids=frozenset({world.commune_id}), actor=Actor("user", None, "Opérateur"), user_id=None, now=at.astimezone(UTC),
                    draft=EventCreate(organization_id=world.commune_id, procedure_id=world.procedure_id, severity=severity, title=title, place="rue Paix"))
        return event.id


def trace_kinds(client, h, event_id):
    response = client.get(f"{API}/events/{event_id}/trace", headers=h("operator"))
    assert response.status_code == 200, response.text
    return response.json()


# --- the roster escalation uses ------------------------------------------------------------------
def test_a_sunday_night_event_solicits_the_technician_holding_the_turn(client, world, runtime, h):
    un, deux, trois = world.techs
    set_rotation(client, h, world.tech_group_id, [trois, deux, un])  # week of 30 Nov: Tech Trois holds it
    event_id = open_event_at(runtime, world, paris(2026, 12, 6, 3, 10))
    detail = client.get(f"{API}/events/{event_id}", headers=h("operator")).json()
    assert detail["in_coverage"] is True
    trace = trace_kinds(client, h, event_id)
    started = next(e for e in trace if e["kind"] == "page.started")
    assert started["data"]["chain"][0]["members"] == [trois, un, deux]  # holder first, then roster order
    first = next(e for e in trace if e["kind"] == "page.notify")
    assert first["data"]["person"] == "Tech Trois"


def test_each_group_of_the_procedure_is_asked_in_its_own_order_of_the_night(client, world, runtime, h):
    # Three groups, read together at the event's creation: each keeps its own rotation, its own
    # replacement and its own people, and the informed group without a rotation its roster order.
    un, deux, trois = world.techs
    cadre_un, cadre_deux = world.cadres
    set_rotation(client, h, world.tech_group_id, [trois, deux, un])  # week of 30 Nov: Tech Trois
    set_rotation(client, h, world.cadre_group_id, [cadre_un, cadre_deux])  # week of 30 Nov: Cadre Un...
    response = client.post(f"{API}/groups/{world.cadre_group_id}/overrides", headers=h("referent"), json={
        "starts_at": paris(2026, 12, 5, 18, 0).isoformat(), "ends_at": paris(2026, 12, 7, 8, 0).isoformat(),
        "person_id": cadre_deux, "replaces_person_id": None, "reason": "week-end"})
    assert response.status_code == 201, response.text  # ...but Cadre Deux holds this week-end
    response = client.patch(f"{API}/people/{deux}", headers=h("referent"), json={"active": False})
    assert response.status_code == 200, response.text  # Tech Deux has left
    event_id = open_event_at(runtime, world, paris(2026, 12, 6, 3, 10))
    trace = trace_kinds(client, h, event_id)
    started = next(e for e in trace if e["kind"] == "page.started")
    assert [(g["group_id"], g["members"]) for g in started["data"]["chain"]] == [
        (world.tech_group_id, [trois, un]), (world.cadre_group_id, [cadre_deux, cadre_un])]
    assert next(e for e in trace if e["kind"] == "page.notify")["data"]["person"] == "Tech Trois"
    informed = next(e for e in trace if e["kind"] == "event.informed")
    assert [p["person_id"] for p in informed["data"]["people"]] == world.elus


def test_the_same_category_on_a_tuesday_morning_is_out_of_coverage_and_only_the_referent_hears(
        client, world, runtime, h):
    set_rotation(client, h, world.tech_group_id, world.techs)
    response = client.patch(f"{API}/organizations/{world.commune_id}/coverage", headers=h("referent"),
                            json={"out_of_coverage": "inform_referent"})
    assert response.status_code == 200, response.text
    event_id = open_event_at(runtime, world, paris(2026, 12, 8, 10, 0))
    detail = client.get(f"{API}/events/{event_id}", headers=h("operator")).json()
    assert detail["in_coverage"] is False and detail["coverage_handling"] == "inform_referent"
    assert detail["pages"] == []
    kinds = [e["kind"] for e in trace_kinds(client, h, event_id)]
    assert "event.out_of_coverage" in kinds and "page.started" not in kinds
    with runtime.session_factory() as s:
        sent = list(s.scalars(select(Notification).where(Notification.event_id.is_(None),
                                                         Notification.purpose == "out_of_coverage")))
    assert [n.address for n in sent] == ["referent@example.org"]
    assert "Hors horaires PC" in sent[0].subject


def test_out_of_coverage_with_solicit_anyway_still_asks_and_says_so(client, world, runtime, h):
    event_id = open_event_at(runtime, world, paris(2026, 12, 8, 10, 0))
    trace = trace_kinds(client, h, event_id)
    marked = next(e for e in trace if e["kind"] == "event.out_of_coverage")
    assert marked["data"]["handling"] == "solicit"
    assert any(e["kind"] == "page.notify" for e in trace)


def test_a_page_started_before_a_hand_over_keeps_its_frozen_roster(client, world, runtime, h):
    un, deux, trois = world.techs
    set_rotation(client, h, world.tech_group_id, [un, deux, trois])
    event_id = open_event_at(runtime, world, paris(2026, 12, 7, 8, 25))  # Tech Un until 08:30
    set_rotation(client, h, world.tech_group_id, [trois, deux, un], effective_from="2026-12-07T07:29:00+00:00")
    trace = trace_kinds(client, h, event_id)
    started = next(e for e in trace if e["kind"] == "page.started")
    assert started["data"]["chain"][0]["members"] == [un, deux, trois]


def test_an_override_in_the_middle_of_a_turn_puts_the_replacement_first(client, world, runtime, h):
    un, deux, trois = world.techs
    set_rotation(client, h, world.tech_group_id, [un, deux, trois])
    response = client.post(f"{API}/groups/{world.tech_group_id}/overrides", headers=h("referent"), json={
        "starts_at": "2026-12-02T11:00:00+00:00", "ends_at": "2026-12-04T11:00:00+00:00", "person_id": trois,
        "replaces_person_id": un, "reason": "arrêt maladie"})
    assert response.status_code == 201, response.text
    sick = open_event_at(runtime, world, paris(2026, 12, 3, 2, 0))
    back = open_event_at(runtime, world, paris(2026, 12, 5, 2, 0))
    first = {e: next(t for t in trace_kinds(client, h, e) if t["kind"] == "page.notify")["data"]["person"]
             for e in (sick, back)}
    assert first == {sick: "Tech Trois", back: "Tech Un"}
    grid = client.get(f"{API}/organizations/{world.commune_id}/planning", headers=h("operator"), params={
        "start": "2026-11-30T07:30:00+00:00", "end": "2026-12-07T07:30:00+00:00"}).json()
    tech = next(g for g in grid["groups"] if g["group_id"] == world.tech_group_id)
    assert [(s["person"], s["replacing_name"]) for s in tech["shifts"]] == [
        ("Tech Un", None), ("Tech Trois", "Tech Un"), ("Tech Un", None)]
    assert len(tech["overrides"]) == 1 and tech["gaps"] == []


def test_a_rotation_across_the_autumn_change_hands_over_at_0830_local(client, world, h):
    set_rotation(client, h, world.tech_group_id, world.techs, anchor="2026-10-19T08:30:00")
    grid = client.get(f"{API}/organizations/{world.commune_id}/planning", headers=h("operator"), params={
        "start": "2026-10-19T06:30:00+00:00", "end": "2026-11-02T07:30:00+00:00",
        "group_id": world.tech_group_id}).json()
    shifts = grid["groups"][0]["shifts"]
    starts = [datetime.fromisoformat(s["starts_at"]).astimezone(PARIS) for s in shifts]
    assert [(t.day, t.hour, t.minute) for t in starts] == [(19, 8, 30), (26, 8, 30)]
    hours = [(datetime.fromisoformat(s["ends_at"]) - datetime.fromisoformat(s["starts_at"])) / timedelta(hours=1)
             for s in shifts]
    assert hours == [169.0, 168.0]


# --- editing rights and bad input ------------------------------------------------------------------
def test_only_admins_and_the_communes_referent_edit_the_planning(client, world, h):
    body = {"member_ids": world.techs, "anchor_local": "2026-11-30T08:30:00"}
    url = f"{API}/groups/{world.tech_group_id}/rotation"
    assert client.put(url, headers=h("operator"), json=body).status_code == 403
    assert client.put(url, headers=h("oncall"), json=body).status_code == 403
    assert client.put(url, headers=h("foreign_operator"), json=body).status_code == 404
    assert client.put(url, headers=h("referent"), json=body).status_code == 200
    assert client.get(url, headers=h("foreign_operator")).status_code == 404
    assert client.get(f"{API}/organizations/{world.commune_id}/planning", headers=h("foreign_operator")).status_code == 404
    assert client.get(f"{API}/organizations/{world.commune_id}/coverage", headers=h("foreign_operator")).status_code == 404


@pytest.mark.parametrize("body, code", [
    ({"member_ids": [], "anchor_local": "2026-11-30T08:30:00"}, "invalid_input"),
    ({"member_ids": [1], "anchor_local": "2026-11-30T08:30:00+01:00"}, "invalid_input"),
    ({"member_ids": [1], "anchor_local": "2026-11-30T08:30:00", "turn_days": 0}, "invalid_input"),
])
def test_bad_rotations_are_refused_clearly(client, world, h, body, code):
    response = client.put(f"{API}/groups/{world.tech_group_id}/rotation", headers=h("admin"), json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code


def test_a_rotation_with_someone_of_another_commune_is_refused_and_changes_nothing(client, world, h):
    url = f"{API}/groups/{world.tech_group_id}/rotation"
    response = client.put(url, headers=h("admin"), json={
        "member_ids": [world.techs[0], world.foreign_person_id], "anchor_local": "2026-11-30T08:30:00"})
    assert response.status_code in (404, 422)
    assert client.get(url, headers=h("admin")).json() is None


def test_an_override_on_a_group_without_rotation_is_a_clear_refusal(client, world, h):
    response = client.post(f"{API}/groups/{world.tech_group_id}/overrides", headers=h("admin"), json={
        "starts_at": "2026-12-02T11:00:00+00:00", "ends_at": "2026-12-04T11:00:00+00:00",
        "person_id": world.techs[1]})
    assert response.status_code == 422 and response.json()["error"]["code"] == "no_rotation"


# --- coverage hours ------------------------------------------------------------------------------------
def test_the_first_customers_hours_are_the_default_and_exceptions_change_a_date(client, world, h):
    url = f"{API}/organizations/{world.commune_id}/coverage"
    coverage = client.get(url, headers=h("operator")).json()
    assert coverage["weekly_hours"] == 130.5 and coverage["holidays"] == "FR"
    bridge = client.post(f"{url}/exceptions", headers=h("referent"), json={
        "day": "2026-05-15", "windows": [{"start": "00:00", "end": "24:00"}], "label": "Pont de l'Ascension"})
    assert bridge.status_code == 201, bridge.text
    covered = client.get(f"{url}/intervals", headers=h("operator"), params={
        "start": "2026-05-13T00:00:00+02:00", "end": "2026-05-19T00:00:00+02:00"}).json()
    # Wednesday 17:30 → Monday 08:30: Ascension, the bridge and the weekend, in one piece.
    assert {"starts_at": "2026-05-13T15:30:00Z", "ends_at": "2026-05-18T06:30:00Z"} in covered
    assert client.post(f"{url}/exceptions", headers=h("referent"), json={
        "day": "2026-05-15", "windows": []}).json()["error"]["code"] == "exception_exists"
    assert client.post(f"{url}/exceptions", headers=h("operator"), json={
        "day": "2026-05-16", "windows": []}).status_code == 403
    bad = client.patch(url, headers=h("referent"), json={"weekly": [{"weekday": 7, "start": "17:30", "end": "24:00"}]})
    assert bad.status_code == 422
    bad = client.patch(url, headers=h("referent"), json={"weekly": [{"weekday": 1, "start": "18:00", "end": "17:00"}]})
    assert bad.status_code == 422
    assert client.get(url, headers=h("operator")).json()["weekly_hours"] == 130.5


# --- swaps ---------------------------------------------------------------------------------------------
def _my_future_turns(client, h, role):
    response = client.get(f"{API}/me/oncall", headers=h(role))
    assert response.status_code == 200, response.text
    now = utcnow()
    return [t for t in response.json()["next_turns"] if datetime.fromisoformat(t["starts_at"]) > now]


def test_a_swap_asked_from_the_phone_and_accepted_exchanges_the_turns_and_tells_the_cadre(client, world, runtime, h):
    un, deux, trois = world.techs
    today = datetime.now(PARIS).date()
    monday = today - timedelta(days=today.weekday())
    set_rotation(client, h, world.tech_group_id, [un, deux, trois], anchor=f"{monday.isoformat()}T08:30:00")
    mine, theirs = _my_future_turns(client, h, "oncall")[0], _my_future_turns(client, h, "oncall2")[0]
    response = client.post(f"{API}/me/swaps", headers=h("oncall"), json={
        "group_id": world.tech_group_id, "rotation_id": mine["rotation_id"], "my_turn": mine["index"],
        "counterpart_id": deux, "their_turn": theirs["index"], "message": "mariage de ma sœur"})
    assert response.status_code == 201, response.text
    swap = response.json()
    assert swap["status"] == "pending"
    with runtime.session_factory() as s:
        told = s.scalars(select(Notification).where(Notification.purpose == "swap_request")).all()
    assert [n.person_id for n in told] == [deux]
    # Only the colleague answers it.
    assert client.post(f"{API}/me/swaps/{swap['id']}/accept", headers=h("oncall")).status_code == 404
    accepted = client.post(f"{API}/me/swaps/{swap['id']}/accept", headers=h("oncall2"))
    assert accepted.status_code == 200 and accepted.json()["status"] == "done"
    mine_now = {t["index"] for t in _my_future_turns(client, h, "oncall")}
    assert theirs["index"] in mine_now and mine["index"] not in mine_now
    with runtime.session_factory() as s:
        cadre = s.scalars(select(Notification).where(Notification.purpose == "swap_info")).all()
    assert [n.person_id for n in cadre] == [world.cadres[0]]
    again = client.post(f"{API}/me/swaps/{swap['id']}/accept", headers=h("oncall2"))
    assert again.status_code == 409
    trace = client.get(f"{API}/groups/{world.tech_group_id}/trace", headers=h("operator")).json()
    assert trace["intact"] is True
    assert [e["kind"] for e in trace["entries"] if e["kind"].startswith("swap.")] == [
        "swap.requested", "swap.accepted", "swap.done"]


def test_a_swap_the_commune_wants_approved_waits_for_a_cadre(client, world, runtime, h):
    un, deux, trois = world.techs
    today = datetime.now(PARIS).date()
    monday = today - timedelta(days=today.weekday())
    set_rotation(client, h, world.tech_group_id, [un, deux, trois], anchor=f"{monday.isoformat()}T08:30:00")
    client.patch(f"{API}/organizations/{world.commune_id}/coverage", headers=h("referent"),
                 json={"swap_needs_approval": True})
    mine = _my_future_turns(client, h, "oncall")[0]
    swap = client.post(f"{API}/me/swaps", headers=h("oncall"), json={
        "group_id": world.tech_group_id, "rotation_id": mine["rotation_id"], "my_turn": mine["index"],
        "counterpart_id": trois}).json()
    with transaction(runtime.session_factory) as s:  # Tech Trois has no phone app: answer as them via the service
        from backend.people.models import Person
        from backend.schedule import service as schedule_service
        from backend.schedule.models import SwapRequest

        row = s.get(SwapRequest, swap["id"])
        schedule_service.answer_swap(db_session=s, swap=row, person=s.get(Person, trois), accept=True,
                                     needs_approval=True, now=utcnow())
    assert client.post(f"{API}/swaps/{swap['id']}/approve", headers=h("oncall2"), json={}).status_code == 403
    approved = client.post(f"{API}/swaps/{swap['id']}/approve", headers=h("referent"), json={"note": "ok"})
    assert approved.status_code == 200 and approved.json()["status"] == "done"
    assert mine["index"] not in {t["index"] for t in _my_future_turns(client, h, "oncall")}
    assert client.post(f"{API}/swaps/{swap['id']}/approve", headers=h("foreign_operator"), json={}).status_code == 404


def test_one_cannot_offer_a_turn_one_does_not_hold(client, world, h):
    un, deux, trois = world.techs
    today = datetime.now(PARIS).date()
    set_rotation(client, h, world.tech_group_id, [un, deux, trois],
                 anchor=f"{(today - timedelta(days=today.weekday())).isoformat()}T08:30:00")
    theirs = _my_future_turns(client, h, "oncall2")[0]
    response = client.post(f"{API}/me/swaps", headers=h("oncall"), json={
        "group_id": world.tech_group_id, "rotation_id": theirs["rotation_id"], "my_turn": theirs["index"],
        "counterpart_id": trois})
    assert response.status_code == 422 and response.json()["error"]["code"] == "not_your_turn"


# --- taking the watch ------------------------------------------------------------------------------------
def _plan(runtime, group_id, now: datetime) -> None:
    """The group's watch turns planned as the worker plans them at `now`."""
    from backend.groups.models import OnCallGroup

    with transaction(runtime.session_factory) as s:
        watch_service.plan(db_session=s, group=s.get(OnCallGroup, group_id), now=now)


def _plan_and_fire(runtime, group_id, at: datetime):
    _plan(runtime, group_id, at - timedelta(hours=1))
    fired = []
    with transaction(runtime.session_factory) as s:
        claimed = watch_service.claim_due(db_session=s, worker_id="t", now=at, lease_until=at + timedelta(minutes=1),
                                          limit=50)
    for item in claimed:
        with transaction(runtime.session_factory) as s:
            fired.append(watch_service.step(db_session=s, watch_id=item.watch_id, worker_id="t", now=at))
    return fired


def test_taking_the_watch_is_asked_at_the_turn_start_and_confirmed_from_the_phone(client, world, runtime, h):
    un, deux, trois = world.techs
    set_rotation(client, h, world.tech_group_id, [deux, un, trois])  # Tech Un from Mon 7 Dec 08:30
    start = paris(2026, 12, 7, 8, 30)
    assert _plan_and_fire(runtime, world.tech_group_id, start + timedelta(seconds=1)) == [True]
    with runtime.session_factory() as s:
        turn = s.scalar(select(WatchTurn).where(WatchTurn.person_id == un))
        asks = s.scalars(select(Notification).where(Notification.purpose == "watch_ask")).all()
    assert turn.status == "asked" and turn.previous_person_id == deux
    assert [(n.person_id, n.channel) for n in asks] == [(un, "sms")]
    assert "Rep OK" in asks[0].text
    mine = client.get(f"{API}/me/oncall", headers=h("oncall")).json()
    assert any(w["id"] == turn.id and w["status"] == "asked" for w in mine["watch"]) or turn.ends_at < utcnow()
    confirmed = client.post(f"{API}/me/watch/{turn.id}/confirm", headers=h("oncall"), json={"via": "push"})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    assert client.post(f"{API}/me/watch/{turn.id}/confirm", headers=h("oncall2")).status_code == 404
    # Past its deadline nothing more happens: a confirmed turn alerts nobody.
    assert _plan_and_fire(runtime, world.tech_group_id, start + timedelta(hours=2)) == []
    entries = client.get(f"{API}/groups/{world.tech_group_id}/trace", headers=h("operator")).json()["entries"]
    assert [e["kind"] for e in entries if e["kind"].startswith("watch.")] == [
        "watch.started", "watch.asked", "watch.confirmed"]
    assert entries[-1]["data"]["via"] == "push"


def test_an_unconfirmed_watch_alerts_the_cadre_on_call(client, world, runtime, h):
    un, deux, trois = world.techs
    set_rotation(client, h, world.tech_group_id, [deux, un, trois])
    start = paris(2026, 12, 7, 8, 30)
    _plan_and_fire(runtime, world.tech_group_id, start)
    assert _plan_and_fire(runtime, world.tech_group_id, start + timedelta(minutes=31)) == [True]
    with runtime.session_factory() as s:
        turn = s.scalar(select(WatchTurn).where(WatchTurn.person_id == un))
        alerts = s.scalars(select(Notification).where(Notification.purpose == "watch_missed")).all()
    assert turn.status == "missed"
    assert {n.person_id for n in alerts} == {world.cadres[0]} and all(n.urgent for n in alerts)
    assert "Tech Un" in alerts[0].text
    missed = [e for e in client.get(f"{API}/groups/{world.tech_group_id}/trace", headers=h("operator")).json()[
        "entries"] if e["kind"] == "watch.missed"]
    assert len(missed) == 1 and missed[0]["data"]["cadre"] == "Cadre Un"


def test_a_basic_phone_confirms_the_watch_by_replying_ok(client, world, runtime, h):
    un, deux, trois = world.techs
    set_rotation(client, h, world.tech_group_id, [deux, un, trois])
    _plan_and_fire(runtime, world.tech_group_id, paris(2026, 12, 7, 8, 31))
    assert post_sms(client, "+33639980101", "OK").status_code == 200
    with runtime.session_factory() as s:
        turn = s.scalar(select(WatchTurn).where(WatchTurn.person_id == un))
        back = s.scalars(select(Notification).where(Notification.purpose == "watch_confirmed")).all()
    assert turn.status == "confirmed" and turn.confirmed_via == "sms"
    assert [n.address for n in back] == ["+33639980101"]


def test_replanning_drops_the_watch_of_a_turn_given_away(client, world, runtime, h):
    un, deux, trois = world.techs
    set_rotation(client, h, world.tech_group_id, [deux, un, trois])
    start = paris(2026, 12, 7, 8, 30)
    _plan(runtime, world.tech_group_id, start - timedelta(days=1))
    client.post(f"{API}/groups/{world.tech_group_id}/overrides", headers=h("admin"), json={
        "starts_at": "2026-12-07T07:30:00+00:00", "ends_at": "2026-12-14T07:30:00+00:00", "person_id": trois,
        "replaces_person_id": un})
    _plan(runtime, world.tech_group_id, start - timedelta(days=1))
    with runtime.session_factory() as s:
        rows = {r.person_id: r.status for r in s.scalars(select(WatchTurn).where(WatchTurn.starts_at == start))}
    assert rows == {un: "dropped", trois: "scheduled"}


# --- gaps ----------------------------------------------------------------------------------------------------
def test_a_gap_in_covered_hours_is_shown_and_reported_to_the_referent_once(client, world, runtime, h):
    with transaction(runtime.session_factory) as s:
        from backend.auth.models import User

        s.scalar(select(User).where(User.email == world.users["referent"])).person_id = world.cadres[1]
    set_rotation(client, h, world.tech_group_id, world.techs)
    now = utcnow()
    hole_start = (now + timedelta(days=2)).replace(microsecond=0)
    client.post(f"{API}/groups/{world.tech_group_id}/overrides", headers=h("admin"), json={
        "starts_at": hole_start.isoformat(), "ends_at": (hole_start + timedelta(days=1)).isoformat(),
        "person_id": None, "reason": "congés, pas de remplaçant"})
    gaps = client.get(f"{API}/organizations/{world.commune_id}/gaps", headers=h("operator")).json()
    assert [g["group_id"] for g in gaps] == [world.tech_group_id]
    holes = gaps[0]["gaps"]
    assert holes and all(hole_start <= datetime.fromisoformat(g["starts_at"]) < hole_start + timedelta(days=1)
                         for g in holes)
    for _ in range(2):
        with transaction(runtime.session_factory) as s:
            from backend.orgs.models import Organization

            watch_service.report_gaps(db_session=s, organization=s.get(Organization, world.commune_id), now=now)
    with runtime.session_factory() as s:
        reports = s.scalars(select(Notification).where(Notification.purpose == "gap_report")).all()
    assert [(n.person_id, n.channel) for n in reports] == [(world.cadres[1], "email")]


# --- iCal feeds ------------------------------------------------------------------------------------------------
def test_my_ical_feed_lists_my_turns_and_dies_when_revoked(client, world, h):
    un, deux, trois = world.techs
    today = datetime.now(PARIS).date()
    set_rotation(client, h, world.tech_group_id, [un, deux, trois],
                 anchor=f"{(today - timedelta(days=today.weekday())).isoformat()}T08:30:00")
    created = client.post(f"{API}/me/calendar-feeds", headers=h("oncall"), json={"label": "Téléphone"})
    assert created.status_code == 201, created.text
    url = created.json()["url"].replace("http://127.0.0.1:8000", "")
    response = client.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    events = [c for c in cal.walk("VEVENT")]
    assert events and all(str(e["summary"]) == "Astreinte technique" for e in events)
    starts = sorted(e.decoded("dtstart").astimezone(PARIS).replace(tzinfo=None) for e in events)
    assert len(starts) >= 9 and all((b - a) == timedelta(days=21) for a, b in zip(starts, starts[1:]))  # 1 in 3
    assert {(s.weekday(), s.hour, s.minute) for s in starts} == {(0, 8, 30)}
    assert client.get(f"{API}/me/calendar-feeds", headers=h("oncall2")).json() == []
    feed_id = created.json()["id"]
    assert client.delete(f"{API}/me/calendar-feeds/{feed_id}", headers=h("oncall2")).status_code == 404
    assert client.delete(f"{API}/me/calendar-feeds/{feed_id}", headers=h("oncall")).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get("/ical/not-a-token.ics").status_code == 404


def test_a_group_feed_is_made_by_staff_of_the_commune_only(client, world, h):
    set_rotation(client, h, world.tech_group_id, world.techs)
    url = f"{API}/groups/{world.tech_group_id}/calendar-feeds"
    assert client.post(url, headers=h("foreign_operator"), json={}).status_code == 404
    assert client.post(url, headers=h("oncall"), json={}).status_code == 403
    created = client.post(url, headers=h("operator"), json={"label": "Tableau PC"})
    assert created.status_code == 201
    body = client.get(created.json()["url"].replace("http://127.0.0.1:8000", "")).content
    summaries = {str(e["summary"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")}
    assert summaries == {"Astreinte technique — Tech Un", "Astreinte technique — Tech Deux",
                         "Astreinte technique — Tech Trois"}


def test_mon_astreinte_shows_my_groups_my_colleagues_turns_and_how_to_call_the_holder(client, world, h):
    un, deux, trois = world.techs
    today = datetime.now(PARIS).date()
    set_rotation(client, h, world.tech_group_id, [deux, un, trois],
                 anchor=f"{(today - timedelta(days=today.weekday() + 7)).isoformat()}T08:30:00")
    mine = client.get(f"{API}/me/oncall", headers=h("oncall")).json()
    [tech] = [g for g in mine["groups"] if g["group_id"] == world.tech_group_id]
    assert [m["name"] for m in tech["members"]] == ["Tech Un", "Tech Deux", "Tech Trois"]
    assert {t["person"] for t in mine["group_turns"]} == {"Tech Deux", "Tech Trois"}
    holder = next(x for x in mine["holders"] if x["group_id"] == world.tech_group_id)
    assert holder["phone"] and holder["phone"].startswith("+3363998010")
    current = next((t for t in mine["next_turns"] if datetime.fromisoformat(t["starts_at"]) <= utcnow()), None)
    if current is not None:  # the turn in progress keeps its real start, a Monday 08:30
        local = datetime.fromisoformat(current["starts_at"]).astimezone(PARIS)
        assert (local.weekday(), local.hour, local.minute) == (0, 8, 30)
    theirs = mine["group_turns"][0]
    my_turn = mine["next_turns"][-1]
    swap = client.post(f"{API}/me/swaps", headers=h("oncall"), json={
        "group_id": world.tech_group_id, "rotation_id": my_turn["rotation_id"], "my_turn": my_turn["index"],
        "counterpart_id": theirs["person_id"], "their_turn": theirs["index"]})
    assert swap.status_code == 201, swap.text
    assert swap.json()["their_turn"]["person"] == theirs["person"]


@pytest.mark.parametrize("query, code", [
    ("start=9000-01-01T00:00:00Z", "period_too_far"),
    ("start=2026-01-01T00:00:00Z&end=2028-01-01T00:00:00Z", "period_too_long"),
    ("start=1990-01-01T00:00:00Z&end=1990-01-02T00:00:00Z", "period_too_far"),
])
def test_a_planning_too_long_or_too_far_is_refused_before_any_work(client, world, h, query, code):
    referent = h("referent")  # the login (argon2) before the clock starts
    began = time.monotonic()
    answer = client.get(f"/api/v1/organizations/{world.commune_id}/planning?{query}", headers=referent)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == code
    assert time.monotonic() - began < 5  # a refusal, not a planning computed (2 s flaked twice in full CI runs)


def test_the_worker_asks_for_a_watch_due_now_when_no_page_is_due(client, world, runtime, h):
    un, deux, trois = world.techs
    set_rotation(client, h, world.tech_group_id, [deux, un, trois])
    start = paris(2026, 12, 7, 8, 30)
    _plan(runtime, world.tech_group_id, start - timedelta(hours=1))
    with transaction(runtime.session_factory) as s:
        turn = s.scalar(select(WatchTurn).where(WatchTurn.person_id == un))
        turn.due_at = utcnow() - timedelta(seconds=1)  # its start is now: the question is due
    worker = runtime.start_worker()
    worker.run_once()
    with runtime.session_factory() as s:
        assert s.get(WatchTurn, turn.id).status == "asked"
        assert s.scalars(select(Notification.person_id).where(Notification.purpose == "watch_ask")).all() == [un]
