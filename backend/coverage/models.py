from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, JSONType, UTCDateTime, utcnow

OUT_OF_COVERAGE = ("solicit", "inform_referent")
HOLIDAY_CALENDARS = ("FR", "FR-alsace-moselle")


class CoverageSettings(Base):
    """When the PC is the commune's entry point, and what the commune wants outside those hours."""

    __tablename__ = "coverage_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    weekly: Mapped[list] = mapped_column(JSONType, default=list)  # [{"weekday", "start", "end"}], local times
    holidays: Mapped[str | None] = mapped_column(String(30), default="FR")
    out_of_coverage: Mapped[str] = mapped_column(String(20), default="solicit")
    watch_confirm_minutes: Mapped[int] = mapped_column(default=30)
    swap_needs_approval: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CoverageException(Base):
    """One date whose windows differ from the week's: a bridge, a closure day, an open Saturday."""

    __tablename__ = "coverage_exceptions"
    __table_args__ = (UniqueConstraint("organization_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    windows: Mapped[list] = mapped_column(JSONType, default=list)  # [{"start", "end"}]; [] = not covered
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
