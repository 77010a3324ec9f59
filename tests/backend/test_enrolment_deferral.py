"""An install link sent to a number over its SMS flood limit waits, and the API says until when;
it is never folded into a digest (a digest names messages, it does not carry their link)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.db import db_now, transaction
from backend.outbox import dispatch
from backend.outbox.models import Notification, NotificationStatus
from tests.factories import login

NUMBER = "+33639980103"  # Tech Trois


def sms_already_sent(runtime, world, count: int, *, minutes_ago: float = 10):
    """`count` SMS handed off to Tech Trois, the oldest `minutes_ago` minutes ago, one a minute after."""
    with transaction(runtime.session_factory) as s:
        now = db_now(s)
        oldest = now - timedelta(minutes=minutes_ago)
        for n in range(count):
            at = oldest + timedelta(seconds=30 * n)
            s.add(Notification(organization_id=world.commune_id, person_id=world.techs[2], channel="sms",
                               address=NUMBER, purpose="inform", text=f"info {n}", status=NotificationStatus.SENT,
                               created_at=at, handed_off_at=at))
        return oldest


def enrol_row(runtime) -> Notification:
    with runtime.session_factory() as s:
        return s.scalar(select(Notification).where(Notification.purpose == "enrol").order_by(Notification.id.desc()))


def test_a_link_over_the_flood_limit_is_deferred_and_the_answer_says_until_when(client, world, runtime):
    oldest = sms_already_sent(runtime, world, runtime.settings.sms_flood_limit)
    sent = client.post(f"/api/v1/people/{world.techs[2]}/enrolments", headers=login(client, world.users["admin"]),
                       json={"channel": "sms"})
    assert sent.status_code == 201, sent.text
    expected = oldest + timedelta(minutes=15)
    deferred = sent.json()["deferred_until"]
    assert deferred is not None
    row = enrol_row(runtime)
    assert abs((row.due_at - expected).total_seconds()) < 1
    assert deferred.startswith(row.due_at.isoformat()[:19])


def test_a_link_within_the_budget_leaves_at_once_and_an_e_mail_is_never_deferred(client, world, runtime):
    sms_already_sent(runtime, world, runtime.settings.sms_flood_limit - 1)
    admin = login(client, world.users["admin"])
    sms = client.post(f"/api/v1/people/{world.techs[2]}/enrolments", headers=admin, json={"channel": "sms"})
    assert sms.status_code == 201 and sms.json()["deferred_until"] is None
    sms_already_sent(runtime, world, 5)
    email = client.post(f"/api/v1/people/{world.techs[2]}/enrolments", headers=admin, json={"channel": "email"})
    assert email.status_code == 201 and email.json()["deferred_until"] is None


def test_a_link_found_over_budget_at_hand_off_waits_instead_of_joining_a_digest(client, world, runtime):
    admin = login(client, world.users["admin"])
    assert client.post(f"/api/v1/people/{world.techs[2]}/enrolments", headers=admin,
                       json={"channel": "sms"}).json()["deferred_until"] is None
    oldest = sms_already_sent(runtime, world, 8, minutes_ago=5)  # others went first, e.g. during a storm
    with transaction(runtime.session_factory) as s:
        now = db_now(s)
        attempts = dispatch.claim_due(db_session=s, worker_id="w", now=now, lease_until=now + timedelta(seconds=30),
                                      limit=10, sms_flood_limit=8)
    assert [a.over_budget for a in attempts] == [True]
    with transaction(runtime.session_factory) as s:
        dispatch.record_results(db_session=s, worker_id="w", attempts=attempts, results=[dispatch.OVER_BUDGET],
                                now=db_now(s), max_attempts=5, sms_flood_limit=8)
    row = enrol_row(runtime)
    assert row.status == NotificationStatus.QUEUED and "/app/#/enrol/" in row.text
    assert abs((row.due_at - (oldest + timedelta(minutes=15))).total_seconds()) < 1
    with runtime.session_factory() as s:
        assert s.scalar(select(Notification.id).where(Notification.purpose == "digest")) is None
