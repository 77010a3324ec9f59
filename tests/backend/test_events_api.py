"""The events API: open, list, read, requalify, close, answer, and the trace (main courante).

Every route is also checked for tenant scoping: a foreign métropole, another commune's
referent and an on-call person who was never notified all get a 404, never the event.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update

from backend.auth import service as auth_service
from backend.db import transaction, utcnow
from backend.events import service as event_service
from backend.events.models import Event
from backend.events.schemas import EventCreate
from backend.outbox.models import Notification
from backend.pages.models import Page
from backend.people.models import Person
from backend.procedures.models import Procedure
from backend.responses.models import Response
from backend.trace.models import TraceEntry
from backend.trace.service import Actor
from backend.worker.engine import Worker
from tests.factories import PASSWORD, login
from tests.smoke.harness import wait_until

API = "/api/v1"
MISSING = 10**6
TABLES = (Event, Page, Notification, Response, TraceEntry)
PARIS = ZoneInfo("Europe/Paris")


def code_of(response) -> str:
    return response.json()["error"]["code"]


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


class Api:
    """The HTTP client with one cached login per role."""

    def __init__(self, client, world):
        self.client, self.world = client, world
        self._headers: dict[str, dict] = {}

    def h(self, role: str) -> dict:
        if role not in self._headers:
            self._headers[role] = login(self.client, self.world.users[role])
        return self._headers[role]

    def open(self, role: str = "operator", **body) -> dict:
        payload = {"organization_id": self.world.commune_id, "procedure_id": self.world.procedure_id,
                   "severity": 3, "title": "Arbre tombé rue de la Paix", "place": "Rue de la Paix",
                   "caller_name": "M. Martin", "callback_number": "0639980199"}
        payload.update(body)
        response = self.client.post(f"{API}/events", json=payload, headers=self.h(role))
        assert response.status_code == 201, response.text
        return response.json()

    def detail(self, event_id: int, role: str = "operator") -> dict:
        response = self.client.get(f"{API}/events/{event_id}", headers=self.h(role))
        assert response.status_code == 200, response.text
        return response.json()

    def trace(self, event_id: int, role: str = "operator") -> list[dict]:
        response = self.client.get(f"{API}/events/{event_id}/trace", headers=self.h(role))
        assert response.status_code == 200, response.text
        return response.json()

    def respond(self, event_id: int, role: str, **body):
        return self.client.post(f"{API}/events/{event_id}/responses", json=body, headers=self.h(role))

    def me(self, role: str) -> dict:
        return self.client.get(f"{API}/me", headers=self.h(role)).json()


@pytest.fixture
def api(client, world, runtime) -> Api:
    """`referent_other` is the referent of the second commune (Longvic) of the same métropole."""
    with transaction(runtime.session_factory) as s:
        auth_service.create_user(db_session=s, email="referent_other@example.org", full_name="Referent Longvic",
                                 role="referent", organization_id=world.other_commune_id, password=PASSWORD)
    world.users["referent_other"] = "referent_other@example.org"
    return Api(client, world)


def counts(runtime) -> dict[str, int]:
    with transaction(runtime.session_factory) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in TABLES}


def set_timings(runtime, procedure_id: int, timeouts: dict[int, int]) -> None:
    timings = {str(sev): {"ack_timeout_s": t, "repeats": 1} for sev, t in timeouts.items()}
    with transaction(runtime.session_factory) as s:
        s.execute(update(Procedure).where(Procedure.id == procedure_id).values(timings=timings))


def kinds(trace: list[dict]) -> list[str]:
    return [entry["kind"] for entry in trace]


@pytest.fixture
def worker(runtime, recording_channels):
    """A real worker thread on the test database, started on demand."""
    started = []

    def _start() -> Worker:
        w = Worker(session_factory=runtime.session_factory, channels=recording_channels,
                   max_sleep_seconds=0.1, lease_seconds=5)
        runtime.signals.on_wake(w.wake)
        w.start()
        started.append(w)
        return w

    yield _start
    for w in started:
        w.stop()


# --- opening an event --------------------------------------------------------------------------------------------


def test_an_operator_opens_an_event_and_the_first_technician_is_paged(api, world):
    event = api.open()
    received = parse(event["received_at"])
    assert re.fullmatch(r"\d{4}-0001", event["number"])
    assert event["number"].startswith(str(received.astimezone(PARIS).year))
    assert (event["category"], event["severity"], event["cap_severity"], event["status"]) == (
        "Chute d'arbre sur la voirie", 3, "Severe", "open")
    assert (event["caller_name"], event["callback_number"], event["place"]) == (
        "M. Martin", "0639980199", "Rue de la Paix")

    [page] = event["pages"]
    assert (page["status"], page["current_person_id"], page["current_group_id"]) == (
        "active", world.techs[0], world.tech_group_id)
    assert parse(page["due_at"]) - parse(page["notified_at"]) == timedelta(seconds=300)
    by_purpose = {(n["person_id"], n["purpose"]) for n in event["notifications"]}
    # The technician on duty is solicited; the élu is informed (severity 3); nobody else yet.
    assert by_purpose == {(world.techs[0], "solicit"), (world.elus[0], "inform")}
    assert all(n["status"] == "queued" for n in event["notifications"])
    assert event["responses"] == []

    trace = api.trace(event["id"])
    assert kinds(trace) == ["event.created", "page.started", "page.notify", "event.informed"]
    created = trace[0]
    assert (created["actor_type"], created["actor_label"]) == ("user", "Operator")
    assert created["data"]["number"] == event["number"] and created["data"]["severity_defaulted"] is False
    assert trace[2]["data"]["person_id"] == world.techs[0]


def test_an_event_of_unknown_severity_is_handled_as_grave(api):
    event = api.open(severity=None)
    assert (event["severity"], event["cap_severity"]) == (3, "Severe")
    assert len(event["pages"]) == 1 and event["pages"][0]["severity"] == 3
    assert api.trace(event["id"])[0]["data"]["severity_defaulted"] is True


def test_severity_one_informs_by_email_and_asks_nobody_to_acknowledge(api, world):
    event = api.open(severity=1, title="Branche au sol, pas de danger")
    assert event["pages"] == []
    notifications = event["notifications"]
    assert notifications and {n["purpose"] for n in notifications} == {"inform"}
    assert {n["channel"] for n in notifications} == {"email"}
    # Each group's person on call is told (no rotation here: the first of each roster), not every member.
    assert {n["person_id"] for n in notifications} == {world.techs[0], world.cadres[0]}


def test_severity_four_solicits_every_group_at_once(api, world):
    event = api.open(severity=4, title="Tempête, arbres sur plusieurs axes")
    pages = event["pages"]
    assert len(pages) == 2
    assert {(p["current_group_id"], p["current_person_id"]) for p in pages} == {
        (world.tech_group_id, world.techs[0]), (world.cadre_group_id, world.cadres[0])}
    solicited = {n["person_id"] for n in event["notifications"] if n["purpose"] == "solicit"}
    assert solicited == {world.techs[0], world.cadres[0]}
    # Severity 4 adds e-mail to push and SMS.
    assert {n["channel"] for n in event["notifications"] if n["person_id"] == world.techs[0]} == {"sms", "email"}


def test_an_event_without_a_procedure_needs_a_category_and_pages_nobody(api, world):
    event = api.open(procedure_id=None, category="Fuite d'eau", organization_id=world.other_commune_id)
    assert (event["category"], event["procedure_id"], event["pages"], event["notifications"]) == (
        "Fuite d'eau", None, [], [])
    assert event["number"].endswith("-0001")


def test_events_are_numbered_per_commune(api, world):
    numbers = [api.open(title=f"Arbre {n}")["number"] for n in range(3)]
    year = numbers[0][:4]
    assert numbers == [f"{year}-0001", f"{year}-0002", f"{year}-0003"]
    other = api.open(organization_id=world.other_commune_id, procedure_id=None, category="Voirie")
    assert other["number"] == f"{year}-0001"
    assert api.open(title="Arbre 4")["number"] == f"{year}-0004"


def test_numbering_restarts_each_year_in_the_communes_own_time(api, world, runtime):
    actor = Actor("system", None, "test")

    def open_at(now: datetime) -> str:
        with transaction(runtime.session_factory) as s:
            event = event_service.create(db_session=s, org_ids=frozenset({world.commune_id}), actor=actor, user_id=None, now=now,
                        draft=EventCreate(organization_id=world.commune_id, category="Voirie", title="Nid de poule"))
            return event.number

    assert open_at(datetime(2030, 12, 31, 12, 0, tzinfo=UTC)) == "2030-0001"
    assert open_at(datetime(2030, 12, 31, 15, 0, tzinfo=UTC)) == "2030-0002"
    # 23:30 UTC on 31 December is already New Year's Day in Chenôve (Europe/Paris).
    assert open_at(datetime(2030, 12, 31, 23, 30, tzinfo=UTC)) == "2031-0001"
    assert open_at(datetime(2031, 1, 2, 8, 0, tzinfo=UTC)) == "2031-0002"
    listed = api.client.get(f"{API}/events", headers=api.h("operator")).json()
    assert [e["number"] for e in listed] == ["2031-0002", "2031-0001", "2030-0002", "2030-0001"]


def event_refusals(world):
    base = {"organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
            "title": "Arbre"}
    return [
        ("no title", {k: v for k, v in base.items() if k != "title"}, 422, "invalid_input"),
        ("empty title", {**base, "title": ""}, 422, "invalid_input"),
        ("severity 5", {**base, "severity": 5}, 422, "invalid_input"),
        ("severity 0", {**base, "severity": 0}, 422, "invalid_input"),
        ("unknown field", {**base, "priority": "high"}, 422, "invalid_input"),
        ("unknown source", {**base, "source": "twitter"}, 422, "invalid_input"),
        ("latitude", {**base, "latitude": 91.0}, 422, "invalid_input"),
        ("cap urgency", {**base, "cap_urgency": "Now"}, 422, "invalid_input"),
        ("no organization", {k: v for k, v in base.items() if k != "organization_id"}, 422, "invalid_input"),
        ("missing procedure", {**base, "procedure_id": MISSING}, 422, "unknown_procedure"),
        ("foreign procedure", {**base, "procedure_id": world.foreign_procedure_id}, 422, "unknown_procedure"),
        ("procedure of another commune", {**base, "organization_id": world.other_commune_id}, 422,
         "unknown_procedure"),
        ("no category nor procedure", {**base, "procedure_id": None}, 422, "category_required"),
        ("foreign commune", {**base, "organization_id": world.foreign_commune_id, "procedure_id": None,
                             "category": "Voirie"}, 404, "not_found"),
        ("missing commune", {**base, "organization_id": MISSING, "procedure_id": None, "category": "Voirie"},
         404, "not_found"),
    ]


def test_refused_events_answer_the_error_shape_and_write_nothing(api, world, runtime):
    api.open()  # something already there, so the counts are not trivially zero
    before = counts(runtime)
    refusals = event_refusals(world)
    outcomes = {}
    for name, body, _status, _code in refusals:
        response = api.client.post(f"{API}/events", json=body, headers=api.h("operator"))
        error = response.json()["error"]
        assert isinstance(error["message"], str) and error["message"], name
        if error["code"] == "invalid_input":
            assert isinstance(error["details"], list) and error["details"][0]["loc"], name
        outcomes[name] = (response.status_code, error["code"])
    assert outcomes == {name: (status, code) for name, _body, status, code in refusals}
    assert counts(runtime) == before
    garbage = api.client.post(f"{API}/events", content=b"{not json", headers={
        **api.h("operator"), "Content-Type": "application/json"})
    assert (garbage.status_code, code_of(garbage)) == (422, "invalid_input")
    assert counts(runtime) == before


def test_only_operators_and_admins_open_events(api, world, runtime):
    body = {"organization_id": world.commune_id, "procedure_id": world.procedure_id, "title": "Arbre"}
    for role in ("referent", "oncall"):
        response = api.client.post(f"{API}/events", json=body, headers=api.h(role))
        assert (response.status_code, code_of(response)) == (403, "role_forbidden"), role
    assert counts(runtime)["events"] == 0
    assert api.open(role="admin")["number"].endswith("-0001")


# --- listing and reading -------------------------------------------------------------------------------------------


def test_the_event_list_is_filtered(api, world):
    moderate = api.open(severity=2, title="Nid de poule")
    critical = api.open(severity=4, title="Tempête")
    longvic = api.open(organization_id=world.other_commune_id, procedure_id=None, category="Voirie",
                       severity=3, title="Poteau")
    closed = api.client.post(f"{API}/events/{moderate['id']}/close", json={"reason": "Rebouché"},
                             headers=api.h("operator"))
    assert closed.status_code == 200, closed.text

    def listed(role: str = "operator", **params) -> list[int]:
        response = api.client.get(f"{API}/events", params=params, headers=api.h(role))
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()]

    # Newest first.
    assert listed() == [longvic["id"], critical["id"], moderate["id"]]
    assert listed(status="closed") == [moderate["id"]]
    assert listed(status="open") == [longvic["id"], critical["id"]]
    assert listed(organization_id=world.other_commune_id) == [longvic["id"]]
    assert listed(severity_min=3) == [longvic["id"], critical["id"]]
    assert listed(severity_min=4) == [critical["id"]]
    assert listed(since=critical["received_at"]) == [longvic["id"], critical["id"]]
    assert listed(until=critical["received_at"]) == [moderate["id"]]
    assert listed(limit=1) == [longvic["id"]]
    assert listed(limit=2, offset=1) == [critical["id"], moderate["id"]]
    assert listed(organization_id=world.foreign_commune_id) == []
    # The referent of Chenôve sees Chenôve only; Longvic's sees Longvic only.
    assert listed("referent") == [critical["id"], moderate["id"]]
    assert listed("referent_other") == [longvic["id"]]
    assert listed("admin") == listed()
    bad = api.client.get(f"{API}/events", params={"severity_min": 5}, headers=api.h("operator"))
    assert (bad.status_code, code_of(bad)) == (422, "invalid_input")


def test_the_list_accepts_a_date_without_timezone_as_utc(api):
    event = api.open()
    received = parse(event["received_at"]).astimezone(UTC)
    naive_before = (received - timedelta(minutes=5)).replace(tzinfo=None).isoformat()
    naive_after = (received + timedelta(minutes=5)).replace(tzinfo=None).isoformat()
    response = api.client.get(f"{API}/events", params={"since": naive_before}, headers=api.h("operator"))
    assert response.status_code == 200, response.text
    assert [e["id"] for e in response.json()] == [event["id"]]
    response = api.client.get(f"{API}/events", params={"since": naive_after}, headers=api.h("operator"))
    assert response.status_code == 200 and response.json() == []


def test_the_detail_shows_pages_notifications_and_answers(api, world):
    event = api.open()
    assert api.respond(event["id"], "oncall", kind="ack").status_code == 201
    assert api.respond(event["id"], "oncall", kind="en_route", text="10 minutes").status_code == 201
    detail = api.detail(event["id"])
    assert (detail["status"], detail["number"]) == ("acknowledged", event["number"])
    assert detail["acknowledged_at"] is not None
    [page] = detail["pages"]
    assert (page["status"], page["acknowledged_by_person_id"], page["due_at"]) == (
        "acknowledged", world.techs[0], None)
    assert [(r["kind"], r["person_id"], r["text"]) for r in detail["responses"]] == [
        ("ack", world.techs[0], ""), ("en_route", world.techs[0], "10 minutes")]
    assert {n["id"] for n in detail["notifications"]} >= {n["id"] for n in event["notifications"]}
    missing = api.client.get(f"{API}/events/{MISSING}", headers=api.h("operator"))
    assert (missing.status_code, code_of(missing)) == (404, "not_found")


# --- requalify and close -----------------------------------------------------------------------------------------------


def test_requalifying_makes_the_running_page_adopt_the_new_timeout(api, world, runtime, worker):
    set_timings(runtime, world.procedure_id, {2: 600, 3: 1, 4: 1})
    event = api.open(severity=2, title="Branche sur la chaussée")
    [page] = event["pages"]
    assert parse(page["due_at"]) - parse(page["notified_at"]) == timedelta(seconds=600)

    response = api.client.post(f"{API}/events/{event['id']}/requalify",
                               json={"severity": 3, "reason": "La branche bloque la route"},
                               headers=api.h("operator"))
    assert response.status_code == 200, response.text
    requalified = response.json()
    assert (requalified["severity"], requalified["cap_severity"]) == (3, "Severe")
    [page] = requalified["pages"]
    assert page["severity"] == 3
    assert parse(page["due_at"]) - parse(page["notified_at"]) == timedelta(seconds=1)
    entry = next(e for e in api.trace(event["id"]) if e["kind"] == "event.requalified")
    assert entry["data"] == {"from": 2, "to": 3, "reason": "La branche bloque la route"}
    assert entry["actor_label"] == "Operator"

    # The new one-second timeout is what the worker now honours: the second technician is called.
    worker()
    wait_until(lambda: api.detail(event["id"])["pages"][0]["current_person_id"] == world.techs[1],
               timeout=10, what="the escalation to the second technician")
    notify = [e for e in api.trace(event["id"]) if e["kind"] == "page.notify"]
    assert [(e["data"]["person_id"], e["data"]["reason"]) for e in notify][:2] == [
        (world.techs[0], "start"), (world.techs[1], "timeout")]


def test_raised_to_critical_while_unanswered_every_group_is_asked_at_once(api, world):
    event = api.open(severity=3)
    response = api.client.post(f"{API}/events/{event['id']}/requalify",
                               json={"severity": 4, "reason": "Ligne électrique touchée"}, headers=api.h("operator"))
    assert response.status_code == 200, response.text
    pages = [p for p in response.json()["pages"] if p["status"] == "active"]
    assert sorted(p["current_person_id"] for p in pages) == sorted([world.techs[0], world.cadres[0]])
    asked = [e["data"]["person_id"] for e in api.trace(event["id"]) if e["kind"] == "page.notify"]
    assert asked == [world.techs[0], world.cadres[0]]


def test_raised_to_critical_after_someone_took_it_asks_nobody_more(api, world):
    event = api.open(severity=3)
    assert api.respond(event["id"], "oncall", kind="ack").status_code == 201
    response = api.client.post(f"{API}/events/{event['id']}/requalify",
                               json={"severity": 4, "reason": "aggravation"}, headers=api.h("operator"))
    assert response.status_code == 200
    assert [p["status"] for p in response.json()["pages"]] == ["acknowledged"]


def test_requalification_refusals(api, world, runtime):
    event = api.open()
    url = f"{API}/events/{event['id']}/requalify"
    same = api.client.post(url, json={"severity": 3}, headers=api.h("operator"))
    assert (same.status_code, code_of(same)) == (409, "same_severity")
    for body in ({"severity": 5}, {"severity": 0}, {}, {"severity": 2, "extra": 1}):
        response = api.client.post(url, json=body, headers=api.h("operator"))
        assert (response.status_code, code_of(response)) == (422, "invalid_input"), body
    for role in ("referent", "oncall"):
        response = api.client.post(url, json={"severity": 4}, headers=api.h(role))
        assert (response.status_code, code_of(response)) == (403, "role_forbidden"), role
    assert api.detail(event["id"])["severity"] == 3
    assert "event.requalified" not in kinds(api.trace(event["id"]))


def test_requalifying_to_information_stops_asking_for_an_acknowledgement(api, world):
    event = api.open(severity=2)
    response = api.client.post(f"{API}/events/{event['id']}/requalify", json={"severity": 1, "reason": "RAS"},
                               headers=api.h("operator"))
    assert response.status_code == 200, response.text
    [page] = response.json()["pages"]
    assert (page["status"], page["due_at"]) == ("cancelled", None)
    solicits = [n for n in response.json()["notifications"] if n["purpose"] == "solicit"]
    assert solicits and all(n["status"] == "cancelled" for n in solicits)
    # Raised again: the staff is asked again, from the top of the roster.
    response = api.client.post(f"{API}/events/{event['id']}/requalify", json={"severity": 2, "reason": "Finalement"},
                               headers=api.h("operator"))
    assert response.status_code == 200, response.text
    pages = response.json()["pages"]
    assert [p["status"] for p in pages] == ["cancelled", "active"]
    assert pages[1]["current_person_id"] == world.techs[0]


def test_requalifying_an_information_upwards_pages_the_on_call_staff(api, world):
    event = api.open(severity=1, title="Branche au sol")
    assert event["pages"] == []
    response = api.client.post(f"{API}/events/{event['id']}/requalify",
                               json={"severity": 3, "reason": "La branche bloque finalement la route"},
                               headers=api.h("operator"))
    assert response.status_code == 200, response.text
    pages = response.json()["pages"]
    assert [(p["status"], p["current_person_id"]) for p in pages] == [("active", world.techs[0])]
    solicited = {n["person_id"] for n in response.json()["notifications"] if n["purpose"] == "solicit"}
    assert solicited == {world.techs[0]}
    # Grave: the élu is informed too, as if the event had been opened at this severity.
    assert world.elus[0] in {n["person_id"] for n in response.json()["notifications"] if n["purpose"] == "inform"}


def test_requalifying_to_grave_informs_the_elu_once(api, world):
    event = api.open(severity=2)

    def informed_elu() -> int:
        notifications = api.detail(event["id"])["notifications"]
        return len({n["id"] for n in notifications if n["person_id"] == world.elus[0] and n["purpose"] == "inform"})

    assert informed_elu() == 0
    # One message per contact method (SMS and e-mail), sent once whatever the requalifications after.
    for severity, expected in ((3, 2), (2, 2), (4, 2)):
        response = api.client.post(f"{API}/events/{event['id']}/requalify", json={"severity": severity},
                                   headers=api.h("operator"))
        assert response.status_code == 200, response.text
        assert informed_elu() == expected
    per_message = {n["channel"] for n in api.detail(event["id"])["notifications"]
                   if n["person_id"] == world.elus[0]}
    assert per_message == {"sms", "email"}
    assert kinds(api.trace(event["id"])).count("event.informed") == 1


def test_closing_stops_the_pages(api, world, runtime, worker):
    set_timings(runtime, world.procedure_id, {2: 1, 3: 1, 4: 1})
    event = api.open()
    url = f"{API}/events/{event['id']}/close"
    no_reason = api.client.post(url, json={}, headers=api.h("operator"))
    assert (no_reason.status_code, code_of(no_reason)) == (422, "invalid_input")
    empty = api.client.post(url, json={"reason": ""}, headers=api.h("operator"))
    assert (empty.status_code, code_of(empty)) == (422, "invalid_input")
    for role in ("referent", "oncall"):
        response = api.client.post(url, json={"reason": "x"}, headers=api.h(role))
        assert (response.status_code, code_of(response)) == (403, "role_forbidden"), role

    response = api.client.post(url, json={"reason": "Fausse alerte, arbre déjà dégagé"}, headers=api.h("operator"))
    assert response.status_code == 200, response.text
    closed = response.json()
    assert (closed["status"], closed["closure_reason"]) == ("closed", "Fausse alerte, arbre déjà dégagé")
    assert closed["closed_at"] is not None
    [page] = closed["pages"]
    assert (page["status"], page["due_at"]) == ("cancelled", None) and page["ended_at"] is not None
    assert all(n["status"] == "cancelled" for n in closed["notifications"] if n["purpose"] == "solicit")
    trace = api.trace(event["id"])
    # The procedure reports to no list in this world: the report is written, not sent.
    assert kinds(trace)[-3:] == ["page.cancelled", "event.closed", "report.written"]
    assert trace[-2]["data"] == {"reason": "Fausse alerte, arbre déjà dégagé"}

    again = api.client.post(url, json={"reason": "encore"}, headers=api.h("operator"))
    assert (again.status_code, code_of(again)) == (409, "event_closed")
    requalify = api.client.post(f"{API}/events/{event['id']}/requalify", json={"severity": 4},
                                headers=api.h("operator"))
    assert (requalify.status_code, code_of(requalify)) == (409, "event_closed")
    ack = api.respond(event["id"], "oncall", kind="ack")
    assert (ack.status_code, code_of(ack)) == (409, "event_closed")

    # Well past the one-second timeout, a running worker calls nobody else.
    steps_before = kinds(api.trace(event["id"])).count("page.notify")
    w = worker()
    wait_until(lambda: w.cycles >= 3, timeout=5, what="worker cycles")
    remaining = (parse(closed["pages"][0]["notified_at"]) + timedelta(seconds=1.5) - utcnow()).total_seconds()
    time.sleep(max(remaining, 0.0))
    cycles = w.cycles
    wait_until(lambda: w.cycles > cycles, timeout=5, what="a worker cycle after the old deadline")
    assert kinds(api.trace(event["id"])).count("page.notify") == steps_before
    assert api.detail(event["id"])["pages"][0]["status"] == "cancelled"


# --- answers -------------------------------------------------------------------------------------------------------


def test_the_technician_on_duty_acknowledges(api, world, runtime):
    event = api.open()
    response = api.respond(event["id"], "oncall", kind="ack", via="push")
    assert response.status_code == 201, response.text
    answer = response.json()
    assert (answer["kind"], answer["person_id"], answer["via"], answer["on_behalf_by_user_id"]) == (
        "ack", world.techs[0], "push", None)
    assert answer["page_id"] == event["pages"][0]["id"]

    detail = api.detail(event["id"])
    assert detail["status"] == "acknowledged"
    assert detail["pages"][0]["status"] == "acknowledged"
    trace = api.trace(event["id"])
    ack = next(e for e in trace if e["kind"] == "response.ack")
    assert (ack["actor_type"], ack["actor_id"]) == ("person", world.techs[0])
    assert (ack["data"]["person"], ack["data"]["via"], ack["data"]["on_behalf"]) == ("Tech Un", "push", False)
    assert "page.acknowledged" in kinds(trace)

    before = counts(runtime)
    second = api.respond(event["id"], "oncall", kind="ack")
    assert (second.status_code, code_of(second)) == (409, "already_acknowledged")
    assert "Tech Un" in second.json()["error"]["message"]
    on_behalf = api.respond(event["id"], "operator", kind="ack", person_id=world.techs[1], reason="Appel reçu")
    assert (on_behalf.status_code, code_of(on_behalf)) == (409, "already_acknowledged")
    assert counts(runtime) == before


def test_a_decline_with_its_reason_calls_the_next_technician(api, world):
    event = api.open()
    # Technician 2 was not notified yet: the event does not exist for them.
    assert api.client.get(f"{API}/events/{event['id']}", headers=api.h("oncall2")).status_code == 404
    response = api.respond(event["id"], "oncall", kind="decline", text="En arrêt maladie")
    assert response.status_code == 201, response.text
    assert (response.json()["kind"], response.json()["text"]) == ("decline", "En arrêt maladie")

    detail = api.detail(event["id"])
    [page] = detail["pages"]
    assert (page["status"], page["current_person_id"]) == ("active", world.techs[1])
    assert any(n["person_id"] == world.techs[1] and n["purpose"] == "solicit" for n in detail["notifications"])
    trace = api.trace(event["id"])
    decline = next(e for e in trace if e["kind"] == "response.decline")
    assert decline["data"]["text"] == "En arrêt maladie"
    assert [e["data"]["reason"] for e in trace if e["kind"] == "page.notify"] == ["start", "declined"]

    # Now solicited, technician 2 sees the event and takes it.
    assert api.detail(event["id"], role="oncall2")["id"] == event["id"]
    assert api.respond(event["id"], "oncall2", kind="ack").status_code == 201
    assert api.detail(event["id"])["pages"][0]["acknowledged_by_person_id"] == world.techs[1]


@pytest.mark.parametrize("kind", ["en_route", "on_site", "done", "need_help", "note"])
def test_progress_answers_are_recorded_without_touching_the_page(api, world, kind):
    event = api.open()
    response = api.respond(event["id"], "oncall", kind=kind, text=f"{kind} texte")
    assert response.status_code == 201, response.text
    assert (response.json()["kind"], response.json()["person_id"], response.json()["via"]) == (
        kind, world.techs[0], "app")
    detail = api.detail(event["id"])
    assert detail["status"] == "open" and detail["pages"][0]["status"] == "active"
    assert [(r["kind"], r["text"]) for r in detail["responses"]] == [(kind, f"{kind} texte")]
    entry = next(e for e in api.trace(event["id"]) if e["kind"].startswith("response."))
    assert (entry["kind"], entry["actor_type"], entry["data"]["text"]) == (
        f"response.{kind}", "person", f"{kind} texte")


def test_the_whole_intervention_is_traced_in_order(api, world):
    event = api.open()
    for kind in ("ack", "en_route", "on_site", "need_help", "note", "done"):
        assert api.respond(event["id"], "oncall", kind=kind, text=kind).status_code == 201, kind
    detail = api.detail(event["id"])
    assert [r["kind"] for r in detail["responses"]] == ["ack", "en_route", "on_site", "need_help", "note", "done"]
    responses = [k for k in kinds(api.trace(event["id"])) if k.startswith("response.")]
    assert responses == ["response.ack", "response.en_route", "response.on_site", "response.need_help",
                         "response.note", "response.done"]
    assert detail["status"] == "acknowledged"  # "done" reports the work; closing is the PC's decision
    closed = api.client.post(f"{API}/events/{event['id']}/close", json={"reason": "Terminé"},
                             headers=api.h("operator"))
    assert closed.status_code == 200
    # A note can still be added to a closed event; an acknowledgement cannot.
    assert api.respond(event["id"], "oncall", kind="note", text="Photo envoyée").status_code == 201


def test_an_operator_acknowledges_on_behalf_after_a_phone_call(api, world):
    event = api.open()
    operator = api.me("operator")
    response = api.respond(event["id"], "operator", kind="ack", person_id=world.techs[0],
                           reason="Joint par téléphone à 3h12")
    assert response.status_code == 201, response.text
    answer = response.json()
    assert (answer["person_id"], answer["via"], answer["on_behalf_by_user_id"]) == (
        world.techs[0], "operator", operator["id"])
    ack = next(e for e in api.trace(event["id"]) if e["kind"] == "response.ack")
    # Attributed to the operator who typed it, for the person who said yes.
    assert (ack["actor_type"], ack["actor_id"], ack["actor_label"]) == ("user", operator["id"], "Operator")
    assert (ack["data"]["person_id"], ack["data"]["on_behalf"], ack["data"]["reason"]) == (
        world.techs[0], True, "Joint par téléphone à 3h12")
    detail = api.detail(event["id"])
    assert (detail["status"], detail["pages"][0]["acknowledged_by_person_id"]) == ("acknowledged", world.techs[0])


def test_an_operator_declines_on_behalf_and_the_chain_moves_on(api, world):
    event = api.open()
    response = api.respond(event["id"], "admin", kind="decline", person_id=world.techs[0],
                           reason="A rappelé le PC", text="Voiture en panne")
    assert response.status_code == 201, response.text
    decline = next(e for e in api.trace(event["id"]) if e["kind"] == "response.decline")
    assert (decline["actor_type"], decline["data"]["reason"], decline["data"]["text"]) == (
        "user", "A rappelé le PC", "Voiture en panne")
    assert api.detail(event["id"])["pages"][0]["current_person_id"] == world.techs[1]


def test_answering_on_behalf_needs_a_reason_and_a_solicited_person(api, world, runtime):
    event = api.open()
    with transaction(runtime.session_factory) as s:  # of the commune, in no on-call group
        outsider = Person(organization_id=world.commune_id, first_name="Agent", last_name="Hors astreinte")
        s.add(outsider)
        s.flush()
        outsider_id = outsider.id
    before = counts(runtime)
    refusals = [
        ({"kind": "ack", "person_id": world.techs[0]}, 422, "reason_required"),
        ({"kind": "ack", "person_id": world.techs[0], "reason": "   "}, 422, "reason_required"),
        ({"kind": "decline", "person_id": world.techs[0]}, 422, "reason_required"),
        ({"kind": "decline", "reason": "Appel"}, 422, "person_required"),
        ({"kind": "ack", "person_id": outsider_id, "reason": "Appel"}, 422, "not_solicited"),
        ({"kind": "ack", "person_id": world.foreign_person_id, "reason": "Appel"}, 404, "not_found"),
        ({"kind": "ack", "person_id": MISSING, "reason": "Appel"}, 404, "not_found"),
        ({"kind": "ack", "page_id": MISSING, "reason": "Appel"}, 404, "not_found"),
        ({"kind": "done", "page_id": MISSING, "person_id": world.techs[0]}, 404, "not_found"),  # was a 500
        ({"kind": "thanks", "reason": "Appel"}, 422, "invalid_input"),
        ({"kind": "ack", "reason": "Appel", "via": "sms"}, 422, "invalid_input"),
    ]
    outcomes = {}
    for body, _status, _code in refusals:
        response = api.respond(event["id"], "operator", **body)
        outcomes[repr(body)] = (response.status_code, code_of(response))
    assert outcomes == {repr(body): (status, code) for body, status, code in refusals}
    assert counts(runtime) == before
    # Progress reported by the PC needs no reason.
    note = api.respond(event["id"], "operator", kind="en_route", person_id=world.techs[0], text="Parti à 3h15")
    assert note.status_code == 201, note.text
    assert note.json()["via"] == "operator"


def test_a_referent_reads_events_but_does_not_answer_them(api, world, runtime):
    event = api.open()
    assert api.detail(event["id"], role="referent")["id"] == event["id"]
    before = counts(runtime)
    for body in ({"kind": "ack", "person_id": world.techs[0], "reason": "tel"}, {"kind": "note", "text": "vu"}):
        response = api.respond(event["id"], "referent", **body)
        assert (response.status_code, code_of(response)) == (403, "role_forbidden")
    assert counts(runtime) == before


def test_an_on_call_person_answers_only_for_themselves(api, world, runtime):
    event = api.open()
    before = counts(runtime)
    response = api.respond(event["id"], "oncall", kind="ack", person_id=world.techs[1])
    assert (response.status_code, code_of(response)) == (404, "not_found")
    response = api.respond(event["id"], "oncall2", kind="ack")  # not solicited (yet)
    assert (response.status_code, code_of(response)) == (404, "not_found")
    assert counts(runtime) == before
    assert api.respond(event["id"], "oncall", kind="ack", person_id=world.techs[0]).status_code == 201


# --- the trace -----------------------------------------------------------------------------------------------------


def test_the_trace_is_a_hash_chain_read_in_order(api):
    event = api.open()
    api.respond(event["id"], "oncall", kind="ack")
    trace = api.trace(event["id"])
    assert [e["seq"] for e in trace] == list(range(1, len(trace) + 1))
    assert trace[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(trace, trace[1:]))
    assert len({e["hash"] for e in trace}) == len(trace)
    tail = api.client.get(f"{API}/events/{event['id']}/trace", params={"after_seq": 3}, headers=api.h("operator"))
    assert [e["seq"] for e in tail.json()] == list(range(4, len(trace) + 1))
    verified = api.client.get(f"{API}/events/{event['id']}/trace/verify", headers=api.h("referent")).json()
    assert verified == {"intact": True, "entries": len(trace), "first_broken_seq": None, "reason": ""}


def _alter_data(s, event_id, seq):
    s.execute(update(TraceEntry).where(TraceEntry.event_id == event_id, TraceEntry.seq == seq)
              .values(data={"page_id": None, "person": "Quelqu'un d'autre"}))


def _alter_actor(s, event_id, seq):
    s.execute(update(TraceEntry).where(TraceEntry.event_id == event_id, TraceEntry.seq == seq)
              .values(actor_label="Un autre opérateur"))


def _alter_time(s, event_id, seq):
    at = s.scalar(select(TraceEntry.at).where(TraceEntry.event_id == event_id, TraceEntry.seq == seq))
    s.execute(update(TraceEntry).where(TraceEntry.event_id == event_id, TraceEntry.seq == seq)
              .values(at=at - timedelta(minutes=20)))


def _remove(s, event_id, seq):
    s.execute(delete(TraceEntry).where(TraceEntry.event_id == event_id, TraceEntry.seq == seq))


@pytest.mark.parametrize("tamper, seq, reason", [
    (_alter_data, 3, "entry altered"),
    (_alter_actor, 1, "entry altered"),
    (_alter_time, 5, "entry altered"),
    (_remove, 2, "missing entry"),
    (_remove, "last", "entries removed at the end"),
], ids=["data", "actor", "time", "removed-middle", "removed-last"])
def test_verify_finds_a_tampered_trace(api, runtime, tamper, seq, reason):
    event = api.open()
    api.respond(event["id"], "oncall", kind="ack")
    url = f"{API}/events/{event['id']}/trace/verify"
    entries = len(api.trace(event["id"]))
    assert api.client.get(url, headers=api.h("operator")).json()["intact"] is True
    target = entries if seq == "last" else seq
    with transaction(runtime.session_factory) as s:
        tamper(s, event["id"], target)
    verdict = api.client.get(url, headers=api.h("operator")).json()
    assert (verdict["intact"], verdict["first_broken_seq"], verdict["reason"]) == (False, target, reason)


def test_a_correction_is_a_new_entry_pointing_at_the_old_one(api, world, runtime):
    event = api.open()
    other = api.open(title="Autre événement")
    trace = api.trace(event["id"])
    created = trace[0]
    url = f"{API}/events/{event['id']}/trace/corrections"
    response = api.client.post(url, json={"corrects_id": created["id"], "text": "Lieu exact : 12 rue de la Paix"},
                               headers=api.h("operator"))
    assert response.status_code == 201, response.text
    correction = response.json()
    assert (correction["kind"], correction["corrects_id"], correction["seq"]) == (
        "trace.correction", created["id"], len(trace) + 1)
    assert correction["data"] == {"text": "Lieu exact : 12 rue de la Paix", "corrected_kind": "event.created"}
    assert correction["actor_label"] == "Operator" and correction["prev_hash"] == trace[-1]["hash"]

    after = api.trace(event["id"])
    assert after[: len(trace)] == trace  # the corrected entry is untouched
    assert after[-1] == correction
    verified = api.client.get(f"{API}/events/{event['id']}/trace/verify", headers=api.h("operator")).json()
    assert (verified["intact"], verified["entries"]) == (True, len(trace) + 1)

    before = counts(runtime)
    foreign_entry = api.trace(other["id"])[0]["id"]
    refused = [
        ({"corrects_id": foreign_entry, "text": "x"}, "operator", 404, "not_found"),
        ({"corrects_id": MISSING, "text": "x"}, "operator", 404, "not_found"),
        ({"corrects_id": created["id"], "text": ""}, "operator", 422, "invalid_input"),
        ({"corrects_id": created["id"], "text": "x"}, "referent", 403, "role_forbidden"),
        ({"corrects_id": created["id"], "text": "x"}, "oncall", 403, "role_forbidden"),
    ]
    for body, role, status, code in refused:
        response = api.client.post(url, json=body, headers=api.h(role))
        assert (response.status_code, code_of(response)) == (status, code), (body, role)
    assert counts(runtime) == before


# --- tenant scoping -----------------------------------------------------------------------------------------------


def routes_of(event_id: int, entry_id: int, person_id: int) -> list[tuple[str, str, dict | None]]:
    base = f"{API}/events/{event_id}"
    return [
        ("GET", base, None),
        ("GET", f"{base}/trace", None),
        ("GET", f"{base}/trace/verify", None),
        ("POST", f"{base}/requalify", {"severity": 4, "reason": "x"}),
        ("POST", f"{base}/close", {"reason": "x"}),
        ("POST", f"{base}/responses", {"kind": "ack", "person_id": person_id, "reason": "tel"}),
        ("POST", f"{base}/responses", {"kind": "note", "text": "x"}),
        ("POST", f"{base}/trace/corrections", {"corrects_id": entry_id, "text": "x"}),
    ]


def call(api, role: str | None, method: str, url: str, body):
    headers = api.h(role) if role else {}
    return api.client.request(method, url, json=body, headers=headers)


def test_a_foreign_metropole_sees_none_of_our_events(api, world, runtime):
    event = api.open()
    entry = api.trace(event["id"])[0]["id"]
    before = counts(runtime)
    outcomes = {(m, u, repr(b)): call(api, "foreign_operator", m, u, b).status_code
                for m, u, b in routes_of(event["id"], entry, world.techs[0])}
    assert set(outcomes.values()) == {404}, outcomes
    assert counts(runtime) == before
    listed = api.client.get(f"{API}/events", headers=api.h("foreign_operator")).json()
    assert listed == []
    listed = api.client.get(f"{API}/events", params={"organization_id": world.commune_id},
                            headers=api.h("foreign_operator")).json()
    assert listed == []


def test_our_operators_see_none_of_the_foreign_metropoles_events(api, world, runtime):
    with transaction(runtime.session_factory) as s:
        foreign = event_service.create(db_session=s, org_ids=frozenset({world.foreign_commune_id}), actor=Actor("system"), user_id=None,
                      draft=EventCreate(organization_id=world.foreign_commune_id, procedure_id=world.foreign_procedure_id, severity=3, title="Ailleurs"))
        foreign_id = foreign.id
        entry = s.scalar(select(TraceEntry.id).where(TraceEntry.event_id == foreign_id, TraceEntry.seq == 1))
    before = counts(runtime)
    for role in ("operator", "admin"):
        outcomes = {(m, u, repr(b)): call(api, role, m, u, b).status_code
                    for m, u, b in routes_of(foreign_id, entry, world.foreign_person_id)}
        assert set(outcomes.values()) == {404}, (role, outcomes)
        assert api.client.get(f"{API}/events", headers=api.h(role)).json() == []
    assert counts(runtime) == before
    # The foreign operator, for their part, does see it.
    assert api.client.get(f"{API}/events/{foreign_id}", headers=api.h("foreign_operator")).status_code == 200


def test_a_referent_sees_their_own_commune_only(api, world, runtime):
    chenove = api.open()
    longvic = api.open(organization_id=world.other_commune_id, procedure_id=None, category="Voirie")
    entry = api.trace(chenove["id"])[0]["id"]
    before = counts(runtime)
    for method, url, body in routes_of(chenove["id"], entry, world.techs[0]):
        response = call(api, "referent_other", method, url, body)
        # Reading is a 404 (the event does not exist for them); writing is not their role at all.
        expected = 404 if method == "GET" else 403
        assert response.status_code == expected, (method, url, response.text)
    assert counts(runtime) == before
    assert api.detail(longvic["id"], role="referent_other")["id"] == longvic["id"]
    assert api.client.get(f"{API}/events/{longvic['id']}", headers=api.h("referent")).status_code == 404
    assert api.client.get(f"{API}/events/{longvic['id']}/trace", headers=api.h("referent")).status_code == 404


def test_an_on_call_person_sees_only_the_events_they_were_notified_for(api, world, runtime):
    mine = api.open()
    not_paged = api.open(procedure_id=None, category="Voirie", title="Sans procédure")
    listed = api.client.get(f"{API}/events", headers=api.h("oncall")).json()
    assert [e["id"] for e in listed] == [mine["id"]]
    assert api.client.get(f"{API}/events", headers=api.h("oncall2")).json() == []
    assert api.detail(mine["id"], role="oncall")["id"] == mine["id"]
    entry = api.trace(not_paged["id"])[0]["id"]
    before = counts(runtime)
    for method, url, body in routes_of(not_paged["id"], entry, world.techs[0]):
        response = call(api, "oncall", method, url, body)
        operator_only = url.endswith(("/requalify", "/close", "/corrections"))
        assert response.status_code == (403 if operator_only else 404), (method, url, response.text)
    for method, url, body in routes_of(mine["id"], api.trace(mine["id"])[0]["id"], world.techs[1]):
        if method == "GET":
            assert call(api, "oncall2", method, url, body).status_code == 404, url
    assert counts(runtime) == before


def test_every_events_route_needs_a_login(api, world, runtime):
    event = api.open()
    entry = api.trace(event["id"])[0]["id"]
    before = counts(runtime)
    routes = [("GET", f"{API}/events", None),
              ("POST", f"{API}/events", {"organization_id": world.commune_id, "title": "x", "category": "x"}),
              *routes_of(event["id"], entry, world.techs[0])]
    for method, url, body in routes:
        response = api.client.request(method, url, json=body)
        assert (response.status_code, code_of(response)) == (401, "not_authenticated"), (method, url)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        bad = api.client.request(method, url, json=body, headers={"Authorization": "Bearer not-a-token"})
        assert (bad.status_code, code_of(bad)) == (401, "invalid_token"), (method, url)
    assert counts(runtime) == before


def test_a_resent_answer_with_the_same_idempotency_key_is_kept_once(client, world):
    operator = login(client, world.users["operator"])
    event = client.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Arbre"}).json()
    tech1 = {**login(client, world.users["oncall"]), "Idempotency-Key": "phone-42-0001"}
    first = client.post(f"/api/v1/events/{event['id']}/responses", headers=tech1, json={"kind": "on_site"})
    again = client.post(f"/api/v1/events/{event['id']}/responses", headers=tech1, json={"kind": "on_site"})
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    kinds = [e["kind"] for e in client.get(f"/api/v1/events/{event['id']}/trace", headers=operator).json()]
    assert kinds.count("response.on_site") == 1


def test_a_live_socket_with_a_bad_token_is_told_why_it_is_closed(client):
    from starlette.websockets import WebSocketDisconnect

    with client.websocket_connect("/api/v1/ws?token=not-a-token") as socket:
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4401
