from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, UTCDateTime, utcnow

GROUP_KINDS = ("elu", "cadre", "technique", "prestataire")


class OnCallGroup(Base):
    __tablename__ = "oncall_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    trace_seq: Mapped[int] = mapped_column(default=0)
    trace_head: Mapped[str] = mapped_column(String(64), default="0" * 64)

    members: Mapped[list[GroupMember]] = relationship(
        order_by="GroupMember.position", cascade="all, delete-orphan"
    )


class GroupMember(Base):
    """One place in a group's ordered roster."""

    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("oncall_groups.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)


class DistributionList(Base):
    """People informed, never asked to acknowledge."""

    __tablename__ = "distribution_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[DistributionMember]] = relationship(cascade="all, delete-orphan")


class DistributionMember(Base):
    __tablename__ = "distribution_members"
    __table_args__ = (UniqueConstraint("list_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("distribution_lists.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
