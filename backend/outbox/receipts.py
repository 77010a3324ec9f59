"""Delivery receipts: a provider says what became of a message it took.

A message taken (`sent`) becomes `delivered` when the provider confirms it reached the phone, or
`failed` when the provider gave up — and then the message takes the person's next road, as a
refusal at hand-off would. A receipt for a message already settled (cancelled because answered,
or a late "sent" after "delivered") changes nothing: receipts may arrive late and out of order.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.events.models import Event
from backend.outbox.dispatch import after_failure, trace_delivery
from backend.outbox.models import Notification, NotificationStatus
from backend.trace.kinds import TraceKind

log = logging.getLogger("vigie.receipts")

DELIVERED = frozenset({"delivered", "read"})
FAILED = frozenset({"undelivered", "failed", "rejected", "expired",  # Twilio; Vonage
                    "not_delivered", "not_allowed", "bad_destination", "blacklisted_number"})  # Octopush


def settles(status: str) -> bool:
    """Whether a receipt with this status can change a message (the others — queued, sent, ACK… — cannot)."""
    return status.strip().lower() in DELIVERED | FAILED


def record(*, db_session: Session, provider_message_id: str, status: str, error: str, provider: str,
           now: datetime) -> str:
    """Apply one receipt; returns what it did (`delivered`, `failed`, `ignored`, `unknown`)."""
    status = status.strip().lower()
    if status not in DELIVERED | FAILED:
        return "ignored"  # queued, sending, sent, accepted…: nothing the outbox does not know already
    row = db_session.scalar(select(Notification).where(Notification.provider_message_id == provider_message_id))
    if row is None:
        log.warning("%s receipt for an unknown message %s", provider, provider_message_id[:40])
        return "unknown"
    event = None if row.event_id is None else db_session.scalar(
        select(Event).where(Event.id == row.event_id).with_for_update(key_share=True))
    if row.status != NotificationStatus.SENT:
        return "ignored"
    if status in DELIVERED:
        row.status = NotificationStatus.DELIVERED
        trace_delivery(db_session, event, row, kind=TraceKind.NOTIFICATION_DELIVERED, at=now,
                       detail=f"distribué ({provider})")
        return "delivered"
    row.status, row.last_error = NotificationStatus.FAILED, f"{provider}: {status} {error}".strip()
    trace_delivery(db_session, event, row, kind=TraceKind.NOTIFICATION_FAILED, at=now,
                   detail=f"non distribué ({provider} : {status}{f', code {error}' if error else ''})")
    after_failure(db_session=db_session, event=event, row=row, now=now, gone=False, reason=row.last_error)
    return "failed"
