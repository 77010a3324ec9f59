from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, JSONType, UTCDateTime, utcnow

SWAP_STATUSES = ("pending", "awaiting_approval", "done", "refused", "rejected", "cancelled")


class Rotation(Base):
    """One version of a group's rotation; an edit closes it and starts a new one, so the past stays true."""

    __tablename__ = "rotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("oncall_groups.id", ondelete="CASCADE"), index=True)
    member_ids: Mapped[list] = mapped_column(JSONType, default=list)  # turn order
    anchor_local: Mapped[datetime] = mapped_column(DateTime(timezone=False))  # first hand-over, wall clock
    turn_days: Mapped[int] = mapped_column(default=7)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Override(Base):
    """Someone on call instead of the turn's holder for a period (sickness, leave, a swap)."""

    __tablename__ = "overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("oncall_groups.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # None: nobody (a known gap)
    replaces_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reason: Mapped[str] = mapped_column(String(300), default="")
    origin: Mapped[str] = mapped_column(String(10), default="manual")  # manual | swap
    swap_id: Mapped[int | None] = mapped_column(ForeignKey("swap_requests.id"))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SwapStatus(StrEnum):
    PENDING = "pending"  # waiting for the colleague
    REFUSED = "refused"  # by the colleague
    AWAITING_APPROVAL = "awaiting_approval"  # accepted, waiting for the manager
    REJECTED = "rejected"  # by the manager
    CANCELLED = "cancelled"  # withdrawn by who asked
    DONE = "done"  # in the planning


class SwapRequest(Base):
    """A person offers a turn to a colleague, optionally taking one of theirs in exchange."""

    __tablename__ = "swap_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("oncall_groups.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    requester_turn: Mapped[int]
    counterpart_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    counterpart_turn: Mapped[int | None]  # None: the counterpart only takes the requester's turn
    rotation_id: Mapped[int] = mapped_column(ForeignKey("rotations.id"))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decision_note: Mapped[str] = mapped_column(String(300), default="")
