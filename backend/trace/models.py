from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel

from backend.db import Base, JSONType, UTCDateTime


class TraceEntry(Base):
    """One line of the main courante: append-only, hash-chained per event."""

    __tablename__ = "trace_entries"
    __table_args__ = (UniqueConstraint("event_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_type: Mapped[str] = mapped_column(String(10))  # user | person | system
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("trace_entries.id"))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The hash's salt (None: an entry of version 1, hashed over its words), and the commitments
    # kept for strings replaced by a pseudonymisation (backend/trace/sealing.py).
    salt: Mapped[str | None] = mapped_column(String(32))
    sealed: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Lets SQLite write a flush's entries in one INSERT … RETURNING: it cannot otherwise tell which
    # new id is whose, and the ORM then inserts one row a statement (PostgreSQL needs none).
    _sentinel: Mapped[int | None] = orm_insert_sentinel()


class GroupTraceEntry(Base):
    """The group's own main courante: turns taken, confirmations, hand-overs, replacements, swaps."""

    __tablename__ = "group_trace_entries"
    __table_args__ = (UniqueConstraint("group_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("oncall_groups.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None]
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(50))
    data: Mapped[dict] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The hash's salt (None: an entry of version 1, hashed over its words), and the commitments
    # kept for strings replaced by a pseudonymisation (backend/trace/sealing.py).
    salt: Mapped[str | None] = mapped_column(String(32))
    sealed: Mapped[dict] = mapped_column(JSONType, default=dict)
