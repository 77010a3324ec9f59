from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, JSONType, UTCDateTime, utcnow
from backend.trace.models import TraceEntry


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # waiting for its due time and a worker (also between retries)
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # 410 Gone, or its tries ran out (24 h)
    CANCELLED = "cancelled"  # its subscription was disabled before it left


class WebhookSubscription(Base):
    """A commune's receiver: which trace kinds it wants, and the secret its deliveries are signed with."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Empty: every kind.
    kinds: Mapped[list] = mapped_column(JSONType, default=list)
    description: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Never in an answer, a log or a URL: shown once, when made; kept sealed (backend/sealing.py).
    secret: Mapped[str] = mapped_column(String(400))
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")

    def __repr__(self) -> str:  # the default repr would print the secret
        return f"<WebhookSubscription {self.id} org={self.organization_id}>"

    def wants(self, kind: str) -> bool:
        return self.active and (not self.kinds or kind in self.kinds)


class WebhookDelivery(Base):
    """One trace entry (or a ping) for one subscription: the outbox row of a webhook, with what became of it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "due_at"),
                      Index("ix_webhook_deliveries_subscription", "subscription_id", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # None: a ping (« Tester »).
    trace_entry_id: Mapped[int | None] = mapped_column(ForeignKey("trace_entries.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The ping's own words (a delivery of a trace entry reads its entry when it leaves).
    data: Mapped[dict] = mapped_column(JSONType, default=dict)

    # Queued in the same flush as its entry: the unit of work inserts the entry first.
    entry: Mapped[TraceEntry | None] = relationship(TraceEntry, lazy="raise")
