from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, JSONType, UTCDateTime, utcnow

# DESIGN.md §2: severity -> first ack timeout and passes over the chain; 1 asks no acknowledgement.
DEFAULT_TIMINGS = {
    "2": {"ack_timeout_s": 900, "repeats": 1},
    "3": {"ack_timeout_s": 300, "repeats": 1},
    "4": {"ack_timeout_s": 300, "repeats": 2},
}
CAP_CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
                  "Transport", "Infra", "CBRNE", "Other")


class Procedure(Base):
    """What to do for one category of event in one commune."""

    __tablename__ = "procedures"
    __table_args__ = (UniqueConstraint("organization_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    category: Mapped[str] = mapped_column(String(200))
    cap_category: Mapped[str] = mapped_column(String(20), default="Other")
    instructions: Mapped[str] = mapped_column(String(2000), default="")
    default_severity: Mapped[int | None]  # offered first in the new-event form
    timings: Mapped[dict] = mapped_column(JSONType, default=lambda: dict(DEFAULT_TIMINGS))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The validated version these columns hold; 0 while the first version is still a draft (not usable).
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    steps: Mapped[list[ProcedureStep]] = relationship(
        order_by="ProcedureStep.position", cascade="all, delete-orphan"
    )
    report_lists: Mapped[list[ProcedureReportList]] = relationship(cascade="all, delete-orphan")


class ProcedureStep(Base):
    """A group in the procedure: solicited (in escalation order) or informed."""

    __tablename__ = "procedure_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    group_id: Mapped[int] = mapped_column(ForeignKey("oncall_groups.id"))
    mode: Mapped[str] = mapped_column(String(10), default="solicit")  # solicit | inform
    min_severity: Mapped[int] = mapped_column(default=1)
    # An inform step reaches the group's person on call; the whole list only when the procedure says so.
    inform_all: Mapped[bool] = mapped_column(default=False, server_default=false())


class ProcedureReportList(Base):
    __tablename__ = "procedure_report_lists"
    __table_args__ = (UniqueConstraint("procedure_id", "list_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("distribution_lists.id"))


CONTENT_FIELDS = ("category", "cap_category", "instructions", "default_severity", "timings", "steps",
                  "report_list_ids")


class VersionStatus(StrEnum):
    DRAFT = "draft"  # written, not yet in force
    VALIDATED = "validated"  # in force (the last validated one) or kept by the events opened with it
    SUPERSEDED = "superseded"  # a draft left behind when a later one was validated


class ProcedureVersion(Base):
    """One version of a procedure, whole (`content`): a draft until a PC admin validates it.

    Events point at the version they were opened with, so their instructions and chain stay those.
    """

    __tablename__ = "procedure_versions"
    __table_args__ = (UniqueConstraint("procedure_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=VersionStatus.DRAFT)
    content: Mapped[dict] = mapped_column(JSONType)
    changes: Mapped[list] = mapped_column(JSONType, default=list)  # the content fields that differ from the previous
    note: Mapped[str] = mapped_column(String(500), default="")
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    validated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
