from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, JSONType, UTCDateTime, utcnow

CALLER_CATEGORIES = ("citizen", "police", "sdis", "elu", "sensor", "agent", "contractor", "other")


class Call(Base):
    """One incoming call at the PC for a commune, answered or missed: the pick-up rate is counted from these."""

    __tablename__ = "calls"
    __table_args__ = (UniqueConstraint("external_id"), Index("ix_calls_org_received", "organization_id", "received_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered: Mapped[bool]
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    caller_category: Mapped[str] = mapped_column(String(20), default="citizen")
    caller_number: Mapped[str] = mapped_column(String(32), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(12), default="console")  # console | telephony
    external_id: Mapped[str | None] = mapped_column(String(100))  # the telephony's id: a resent call counts once
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One click in the console is ring and answer at once: its wait is unknown, not zero, and stays
    # out of the median wait. The telephony (or an operator giving the ring time) measures it.
    wait_known: Mapped[bool] = mapped_column(default=True, server_default=true())
    # A correction keeps what it changed ([{at, by, changes: {field: [before, after]}}]); a call
    # logged by mistake is voided, kept, and counted nowhere.
    corrections: Mapped[list] = mapped_column(JSONType, default=list)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[str | None] = mapped_column(String(200))
    void_reason: Mapped[str] = mapped_column(Text, default="")


class BypassedAlert(Base):
    """Alerts the commune handled without the PC, recorded by the commune as its convention asks."""

    __tablename__ = "bypassed_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    category: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(default=1)
    description: Mapped[str] = mapped_column(Text, default="")
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
