"""Messages sent and SMS received are deleted once past their retention (12 months, or the commune's
own); the main courante keeps what happened."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from backend.db import utcnow
from backend.inbound.models import InboundReceipt, InboundSms
from backend.outbox.models import Notification
from backend.privacy import retention
from backend.trace.models import TraceEntry


def open_event(client, world, h, organization_id=None):
    answer = client.post("/api/v1/events", headers=h("operator"), json={
        "organization_id": organization_id or world.commune_id, "procedure_id": world.procedure_id,
        "severity": 3, "title": "Arbre"})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def age(runtime, model, column, days: int, *where) -> None:
    with runtime.session_factory() as s:
        s.execute(update(model).where(*where).values({column: utcnow() - timedelta(days=days), **(
            {"status": "sent"} if model is Notification else {})}))
        s.commit()


def count(runtime, model, *where) -> int:
    with runtime.session_factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_messages_and_sms_past_twelve_months_are_deleted_and_the_trace_stays(client, world, runtime, h):
    old, recent = open_event(client, world, h), open_event(client, world, h)
    age(runtime, Notification, "created_at", 400, Notification.event_id == old)
    with runtime.session_factory() as s:
        s.add_all([InboundSms(sender="+33639980101", text="1", outcome="accepted", person_id=world.techs[0],
                              received_at=utcnow() - timedelta(days=400)),
                   InboundSms(sender="+33600000000", text="?", outcome="unknown_sender",
                              received_at=utcnow() - timedelta(days=400)),
                   InboundSms(sender="+33639980101", text="2", outcome="accepted", person_id=world.techs[0]),
                   InboundReceipt(key="id:old", received_at=utcnow() - timedelta(days=8))])
        s.commit()
    trace_before = count(runtime, TraceEntry)

    purged = retention.purge(runtime.session_factory, default_months=12)

    assert count(runtime, Notification, Notification.event_id == old) == 0
    assert count(runtime, Notification, Notification.event_id == recent) > 0
    assert count(runtime, InboundSms) == 1 and count(runtime, InboundReceipt) == 0
    assert count(runtime, TraceEntry) == trace_before, "the main courante keeps what happened"
    assert purged.counts["inbound_sms"] == 2 and not purged.more
    verified = client.get(f"/api/v1/events/{old}/trace/verify", headers=h("operator")).json()
    assert verified["intact"] is True


def test_a_commune_keeps_its_messages_as_long_as_it_chose(client, world, runtime, h):
    assert client.patch(f"/api/v1/organizations/{world.commune_id}", headers=h("admin"),
                        json={"delivery_retention_months": 24}).status_code == 200
    event = open_event(client, world, h)
    age(runtime, Notification, "created_at", 400, Notification.event_id == event)
    retention.purge(runtime.session_factory, default_months=12)
    assert count(runtime, Notification, Notification.event_id == event) > 0
    age(runtime, Notification, "created_at", 800, Notification.event_id == event)
    retention.purge(runtime.session_factory, default_months=12)
    assert count(runtime, Notification, Notification.event_id == event) == 0


def test_a_backlog_is_deleted_a_little_at_a_time(client, world, runtime, h, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 1)
    for _ in range(2):
        open_event(client, world, h)
    age(runtime, Notification, "created_at", 400)
    total = count(runtime, Notification)
    first = retention.purge(runtime.session_factory, default_months=12, budget=2)
    assert first.more and count(runtime, Notification) == total - 2
    while retention.purge(runtime.session_factory, default_months=12, budget=2).more:
        pass
    assert count(runtime, Notification) == 0
