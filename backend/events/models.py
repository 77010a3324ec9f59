from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, JSONType, UTCDateTime, utcnow

EVENT_STATUSES = ("open", "acknowledged", "closed")
SOURCES = ("phone", "police", "sdis", "elu", "sensor", "agent", "other")


class EventStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # someone took it
    CLOSED = "closed"


class Event(Base):
    """One qualified situation of one commune, with its trace."""

    __tablename__ = "events"
    # (organization, year, seq): the next number is read from this index, not from every event of the commune.
    __table_args__ = (UniqueConstraint("organization_id", "number"), Index("ix_events_org_year_seq",
                                                                           "organization_id", "year", "seq"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    year: Mapped[int]
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(String(20))  # "2026-0042"
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"))
    procedure_version_id: Mapped[int | None] = mapped_column(ForeignKey("procedure_versions.id"))
    # Opened without a procedure (an unforeseen case): the groups the operator chose, in order.
    ad_hoc_group_ids: Mapped[list | None] = mapped_column(JSONType)
    category: Mapped[str] = mapped_column(String(200))
    severity: Mapped[int] = mapped_column(default=3)
    cap_severity: Mapped[str] = mapped_column(String(20))
    cap_urgency: Mapped[str] = mapped_column(String(20), default="Unknown")
    cap_certainty: Mapped[str] = mapped_column(String(20), default="Unknown")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(20), default="phone")
    caller_name: Mapped[str] = mapped_column(String(200), default="")
    callback_number: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    closure_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    in_coverage: Mapped[bool | None]  # None: created before coverage windows existed
    coverage_handling: Mapped[str | None] = mapped_column(String(20))  # solicit | inform_referent
    # A drill (« EXERCICE »): said in every message, counted apart from the convention's figures, never paid.
    exercise: Mapped[bool] = mapped_column(default=False, server_default=false())
    trace_seq: Mapped[int] = mapped_column(default=0)
    trace_head: Mapped[str] = mapped_column(String(64), default="0" * 64)


class EventCounter(Base):
    """The last event number given, per commune and year: numbering without locking the commune."""

    __tablename__ = "event_counters"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(default=0)
