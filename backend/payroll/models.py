from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, JSONType, UTCDateTime, utcnow

INTERVENTION_MODES = ("paid", "time_off")


class PayrollSettings(Base):
    """How a commune pays its astreintes: the regime per group kind, its payroll codes, its working day."""

    __tablename__ = "payroll_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    collectivite_code: Mapped[str] = mapped_column(String(50), default="")  # "": the organization's code
    kind_regimes: Mapped[dict] = mapped_column(JSONType, default=dict)  # kind -> {"regime", "variant"} | None
    codes: Mapped[dict] = mapped_column(JSONType, default=dict)  # item key -> {"code", "label"}
    morning: Mapped[str] = mapped_column(String(5), default="08:30")  # the astreinte day starts, local
    evening: Mapped[str] = mapped_column(String(5), default="17:30")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PayrollPersonSettings(Base):
    """One agent's own rule: another regime than their group's, left out, interventions as time off."""

    __tablename__ = "payroll_person_settings"
    __table_args__ = (UniqueConstraint("person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    regime: Mapped[str | None] = mapped_column(String(50))  # None: the regime of the group's kind
    variant: Mapped[str | None] = mapped_column(String(50))
    excluded: Mapped[bool] = mapped_column(default=False)
    intervention_mode: Mapped[str] = mapped_column(String(10), default="paid")  # paid | time_off
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PayrollExport(Base):
    """One version of a commune's payroll items for a month, kept as produced: a re-export is a new row."""

    __tablename__ = "payroll_exports"
    __table_args__ = (UniqueConstraint("organization_id", "month", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # "2026-11"
    version: Mapped[int]
    complete: Mapped[bool] = mapped_column(default=True)  # False: produced before the month ended
    csv: Mapped[str] = mapped_column(Text)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))  # of the CSV's bytes
    summary: Mapped[dict] = mapped_column(JSONType, default=dict)  # totals, agents, warnings, settings used
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The manager's sign-off: this version is the one payroll takes. A later version is a new row
    # that needs its own validation (the validated one is then "superseded", kept as it was).
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    validated_by: Mapped[str | None] = mapped_column(String(200))


class PayrollStatement(Base):
    """One agent's statement of an export, for the manager's validation (PDF)."""

    __tablename__ = "payroll_statements"
    __table_args__ = (UniqueConstraint("export_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("payroll_exports.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
