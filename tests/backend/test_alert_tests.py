"""« Tester mes alertes » and the PC's contact card: a phone tests its own roads, and only its own."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from backend.db import transaction
from backend.outbox.models import Notification
from backend.people.models import ContactMethod
from backend.trace.models import TraceEntry
from notifications.base import ChannelKind
from tests.factories import build_world, login
from tests.smoke.harness import wait_until

SUBSCRIPTION = '{"endpoint": "https://push.example.org/tech1", "keys": {"p256dh": "x", "auth": "y"}}'


def enrol(client, runtime, world, person_index: int = 0) -> dict:
    operator = login(client, world.users["operator"])
    person_id = world.techs[person_index]
    assert client.post(f"/api/v1/people/{person_id}/enrolments", headers=operator,
                       json={"channel": "sms"}).status_code == 201
    with runtime.session_factory() as s:
        text = s.scalar(select(Notification.text).where(Notification.purpose == "enrol",
                                                        Notification.person_id == person_id)
                        .order_by(Notification.id.desc()))
    enrolled = client.post("/api/v1/enrol", json={"code": re.search(r"/app/#/enrol/(\S+)", text).group(1),
                                                  "label": "Pixel de Tech"})
    assert enrolled.status_code == 200, enrolled.text
    return {"Authorization": f"Bearer {enrolled.json()['access_token']}"}


@pytest.fixture
def working(make_client):
    """The app with its worker, the world, and Tech Un's push device."""
    client = make_client(worker=True)
    runtime = client.app.state.runtime
    world = build_world(runtime.session_factory)
    with transaction(runtime.session_factory) as s:
        s.add(ContactMethod(person_id=world.techs[0], kind="push", address=SUBSCRIPTION, label="Pixel de Tech"))
    return client, runtime, world


def test_a_test_alert_goes_by_push_sms_and_email_and_reports_each_road(working, recording_channels):
    client, runtime, world = working
    phone = enrol(client, runtime, world)
    sent = client.post("/api/v1/me/test-alert", headers=phone)
    assert sent.status_code == 201, sent.text
    test = sent.json()
    assert sorted(r["channel"] for r in test["roads"]) == ["email", "push", "sms"]
    assert {r["label"] for r in test["roads"]} == {"Pixel de Tech", "+33639980101", "tech.un@example.org"}

    report = wait_until(lambda: (r := client.get(f"/api/v1/me/test-alert/{test['id']}", headers=phone).json())
                        and all(road["status"] in ("sent", "delivered") for road in r["roads"]) and r,
                        timeout=10, what="every road handed to its provider")
    assert report["id"] == test["id"]
    sms = [m for m in recording_channels.get(ChannelKind.SMS).sent if m.address == "+33639980101"][-1]
    assert "Test de vos alertes Vigie" in sms.text
    push = [m for m in recording_channels.get(ChannelKind.PUSH).sent if m.data.get("purpose") == "test_alert"][-1]
    assert push.data["test_id"] == test["id"] and push.urgent

    # The service worker says the push arrived: that road reads « received ».
    push_road = next(r for r in test["roads"] if r["channel"] == "push")
    received = client.post(f"/api/v1/me/test-alert/{test['id']}/received", headers=phone,
                           json={"notification_id": push_road["notification_id"]})
    assert received.status_code == 200, received.text
    assert {r["channel"]: r["status"] for r in received.json()["roads"]}["push"] == "received"
    sms_road = next(r for r in test["roads"] if r["channel"] == "sms")
    not_push = client.post(f"/api/v1/me/test-alert/{test['id']}/received", headers=phone,
                           json={"notification_id": sms_road["notification_id"]})
    assert not_push.status_code == 404

    # Not an event: nothing in any trace, so no KPI, report or pay rule can count it.
    with runtime.session_factory() as s:
        rows = list(s.scalars(select(Notification).where(Notification.purpose == "test_alert")))
        assert rows and all(r.event_id is None and r.page_id is None for r in rows)
        assert s.scalar(select(func.count()).select_from(TraceEntry)) == 0


def test_only_a_phone_tests_and_only_its_own_person(client, runtime, world):
    operator = login(client, world.users["operator"])
    refused = client.post("/api/v1/me/test-alert", headers=operator)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "device_only"
    password_login = login(client, world.users["oncall"])
    assert client.post("/api/v1/me/test-alert", headers=password_login).json()["error"]["code"] == "device_only"
    assert client.post("/api/v1/me/test-alert").status_code == 401

    mine = enrol(client, runtime, world, 0)
    theirs = enrol(client, runtime, world, 1)
    test_id = client.post("/api/v1/me/test-alert", headers=mine).json()["id"]
    other = client.get(f"/api/v1/me/test-alert/{test_id}", headers=theirs)
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/me/test-alert/{test_id}", headers=mine).status_code == 200
    assert client.get("/api/v1/me/test-alert/0", headers=mine).status_code == 422
    assert client.get(f"/api/v1/me/test-alert/{2**63}", headers=mine).status_code == 422


def test_three_tests_per_ten_minutes_then_a_clear_429(client, runtime, world):
    phone = enrol(client, runtime, world)
    answers = [client.post("/api/v1/me/test-alert", headers=phone) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert answers[3].json()["error"]["code"] == "rate_limited"
    assert 0 < int(answers[3].headers["Retry-After"]) <= 600
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Notification)
                        .where(Notification.purpose == "test_alert", Notification.channel == "sms")) == 3
    other = enrol(client, runtime, world, 1)
    assert client.post("/api/v1/me/test-alert", headers=other).status_code == 201, "counted per person"


def test_the_pc_contact_card_carries_the_sms_number(client, runtime, world, settings):
    phone = enrol(client, runtime, world)
    missing = client.get("/api/v1/me/pc-contact.vcf", headers=phone)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "no_sms_number"
    settings.sms_sender_number = "06 39 98 99 98"
    card = client.get("/api/v1/me/pc-contact.vcf", headers=phone)
    assert card.status_code == 200
    assert card.headers["content-type"].startswith("text/vcard")
    assert "vigie-pc-astreinte.vcf" in card.headers["content-disposition"]
    lines = card.text.split("\r\n")
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:3.0"] and lines[-2:] == ["END:VCARD", ""]
    assert "FN:Vigie — PC astreinte" in lines
    assert "TEL;TYPE=CELL,PREF:+33639989998" in lines
    assert client.get("/api/v1/me/pc-contact.vcf").status_code == 401


def test_my_pages_tell_where_an_sms_reply_goes(client, runtime, world, settings):
    settings.sms_sender_number = "+33639989998"
    operator = login(client, world.users["operator"])
    client.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Chute d'arbre", "place": "rue Jean Moulin"})
    phone = enrol(client, runtime, world)
    pages = client.get("/api/v1/me/pages", headers=phone).json()
    assert pages[0]["sms_number"] == "+33639989998" and re.fullmatch(r"\d{4,6}", pages[0]["reply_code"])


def test_tests_do_not_use_up_the_sms_budget_of_a_real_alert(make_client, settings, recording_channels):
    settings.sms_flood_limit = 2
    client = make_client(worker=True)
    runtime = client.app.state.runtime
    world = build_world(runtime.session_factory)
    phone = enrol(client, runtime, world)
    for _ in range(2):
        assert client.post("/api/v1/me/test-alert", headers=phone).status_code == 201
    tests = lambda: [m for m in recording_channels.get(ChannelKind.SMS).sent  # noqa: E731
                     if m.address == "+33639980101" and "Test de vos alertes" in m.text]
    wait_until(lambda: len(tests()) == 2, what="both test SMS handed off")
    operator = login(client, world.users["operator"])
    client.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Chute d'arbre", "place": "rue Jean Moulin"})
    alert = wait_until(lambda: [m for m in recording_channels.get(ChannelKind.SMS).sent
                                if m.address == "+33639980101" and m.data.get("purpose") == "solicit"],
                       what="the solicitation SMS, within budget")
    assert "Chute d'arbre" in alert[0].text
