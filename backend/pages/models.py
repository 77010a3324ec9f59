from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, JSONType, UTCDateTime, utcnow


class Page(Base):
    """One solicitation of an event: a frozen chain of groups walked by the escalation planner.

    `version` is the fencing token: every applied decision bumps it, and a step only
    applies if the version it read is still the current one.
    """

    __tablename__ = "pages"
    __table_args__ = (Index("ix_pages_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    severity: Mapped[int]
    policy: Mapped[dict] = mapped_column(JSONType)
    round: Mapped[int] = mapped_column(default=0)
    group_index: Mapped[int] = mapped_column(default=0)
    member_index: Mapped[int] = mapped_column(default=-1)
    declined: Mapped[list] = mapped_column(JSONType, default=list)
    current_group_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_groups.id"))
    current_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    unreached_alarm_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Short code an SMS reply can name when the person has several pages open (`1 4821`).
    reply_code: Mapped[str | None] = mapped_column(String(6), index=True)
