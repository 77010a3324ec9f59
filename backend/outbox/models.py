from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel

from backend.db import Base, JSONType, UTCDateTime, utcnow

# queued -> sent | delivered | failed | cancelled (a queued row past its claim is taken over)
NOTIFICATION_STATUSES = ("queued", "sent", "delivered", "failed", "cancelled")


class NotificationStatus(StrEnum):
    QUEUED = "queued"  # waiting for its due time and a worker
    SENT = "sent"  # a provider took it
    DELIVERED = "delivered"  # the provider confirmed delivery
    FAILED = "failed"  # refused, or its tries ran out
    CANCELLED = "cancelled"  # no longer needed (answered, moved on)
    MERGED = "merged"  # folded into a digest (SMS flood limit)


class Notification(Base):
    """One message to one person on one channel: the outbox row and its delivery status."""

    __tablename__ = "notifications"
    # (address, channel, handed_off_at): the flood budget of a number is read on every hand-off,
    # from the index alone.
    __table_args__ = (Index("ix_notifications_due", "status", "due_at"),
                      Index("ix_notifications_address_handed", "address", "channel", "handed_off_at", "purpose"),
                      Index("ix_notifications_org_created", "organization_id", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)  # None: enrolment, watch
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    contact_method_id: Mapped[int | None] = mapped_column(ForeignKey("contact_methods.id", ondelete="SET NULL"))
    page_version: Mapped[int | None]  # the page step that wrote it
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(20))  # solicit | inform | closing | confirm | digest | enrol
    subject: Mapped[str] = mapped_column(String(300), default="")
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    # The provider's own id of the message (Twilio's SID): its delivery receipt names it.
    provider_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    _sentinel: Mapped[int | None] = orm_insert_sentinel()  # one INSERT for a flush's rows on SQLite (TraceEntry)
