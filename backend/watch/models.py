from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow

# scheduled -> asked -> confirmed | missed ; scheduled -> dropped (the plan changed before it began)
WATCH_STATUSES = ("scheduled", "asked", "confirmed", "missed", "dropped")


class WatchStatus(StrEnum):
    SCHEDULED = "scheduled"  # the turn has not begun
    ASKED = "asked"  # the person was asked to confirm they hold it
    CONFIRMED = "confirmed"
    MISSED = "missed"  # not confirmed in time: the cadre was alerted
    DROPPED = "dropped"  # the planning changed: this turn no longer exists


class WatchTurn(Base):
    """Taking the watch: one person's on-call period starting, to be confirmed within the commune's delay."""

    __tablename__ = "watch_turns"
    __table_args__ = (UniqueConstraint("group_id", "starts_at", "person_id"),
                      Index("ix_watch_turns_due", "status", "due_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("oncall_groups.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    previous_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_via: Mapped[str | None] = mapped_column(String(10))
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GapReport(Base):
    """A hole in a group's planning during covered hours, reported once to the commune's referent."""

    __tablename__ = "gap_reports"
    __table_args__ = (UniqueConstraint("group_id", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("oncall_groups.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
