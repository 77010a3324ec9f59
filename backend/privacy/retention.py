"""Personal data kept no longer than needed (RGPD; defaults per the CNIL's guidance).

- Messages sent (numbers, addresses, texts) and SMS received: `VIGIE_DELIVERY_RETENTION_MONTHS`
  (12), or the commune's own `delivery_retention_months`. The main courante keeps what happened
  (who was solicited, when, the delivery outcome); what is deleted is the outbox's copy.
- Replay guards of the SMS callback: a week; used one-tap links: 30 days (a link lives a day).

Deleted in small transactions (a storm night's writes never wait long behind it), by the worker
every hour. `purge` is idempotent: it deletes what is past its time, whenever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session, sessionmaker

from backend.db import db_now, transaction
from backend.inbound.models import InboundReceipt, InboundSms, UsedLink
from backend.orgs.models import Organization
from backend.outbox.models import Notification, NotificationStatus
from backend.people.models import Person

BATCH = 500
RECEIPTS_KEPT = timedelta(days=7)
USED_LINKS_KEPT = timedelta(days=30)
DONE = (NotificationStatus.SENT, NotificationStatus.DELIVERED, NotificationStatus.FAILED,
        NotificationStatus.CANCELLED, NotificationStatus.MERGED)


@dataclass
class Purged:
    budget: int  # batches this run may still delete: the rest waits for the next run
    counts: dict[str, int] = field(default_factory=dict)
    more: bool = False  # stopped by the budget, not because nothing was left

    def add(self, what: str, count: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + count


def months_ago(now: datetime, months: int) -> datetime:
    return now - timedelta(days=round(months * 30.44))


def purge(factory: sessionmaker[Session], *, default_months: int, budget: int = 20) -> Purged:
    """Delete up to `budget` batches of what is past its time (the worker's steps wait meanwhile)."""
    purged = Purged(budget)
    with factory() as session:
        now = db_now(session)
        kept = {org_id: months or default_months for org_id, months in
                session.execute(select(Organization.id, Organization.delivery_retention_months))}
        session.rollback()
    for org_id, months in kept.items():
        cutoff = months_ago(now, months)
        _in_batches(factory, purged, "notifications", lambda cutoff=cutoff, org_id=org_id: select(Notification.id).where(
            Notification.organization_id == org_id, Notification.created_at < cutoff, Notification.status.in_(DONE)),
            Notification)
        _in_batches(factory, purged, "inbound_sms", lambda cutoff=cutoff, org_id=org_id: select(InboundSms.id)
                    .join(Person, Person.id == InboundSms.person_id)
                    .where(Person.organization_id == org_id, InboundSms.received_at < cutoff), InboundSms)
    unknown_cutoff = months_ago(now, default_months)
    _in_batches(factory, purged, "inbound_sms", lambda: select(InboundSms.id).where(
        InboundSms.person_id.is_(None), InboundSms.received_at < unknown_cutoff), InboundSms)
    with transaction(factory) as session:
        purged.add("inbound_receipts", _deleted(session, delete(InboundReceipt).where(
            InboundReceipt.received_at < now - RECEIPTS_KEPT)))
        purged.add("used_links", _deleted(session, delete(UsedLink).where(UsedLink.used_at < now - USED_LINKS_KEPT)))
    return purged


def _deleted(session: Session, statement) -> int:
    return cast(CursorResult, session.execute(statement)).rowcount


def _in_batches(factory, purged: Purged, what: str, ids_query, model) -> None:
    while True:
        if purged.budget <= 0:
            purged.more = True
            return
        with transaction(factory) as session:
            ids = list(session.scalars(ids_query().limit(BATCH)))
            if ids:
                session.execute(delete(model).where(model.id.in_(ids)))
                purged.budget -= 1  # only deleting counts: looking and finding nothing is one read
        purged.add(what, len(ids))
        if len(ids) < BATCH:
            return
