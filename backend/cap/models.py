from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class CapAlert(Base):
    """A CAP 1.2 message taken, once per sender and identifier in a commune: a repeat finds its event here."""

    __tablename__ = "cap_alerts"
    __table_args__ = (UniqueConstraint("organization_id", "sender", "identifier",
                                       name="uq_cap_alerts_sender_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    sender: Mapped[str] = mapped_column(String(255))
    identifier: Mapped[str] = mapped_column(String(255))
    msg_type: Mapped[str] = mapped_column(String(10))  # Alert | Update | Cancel
    status: Mapped[str] = mapped_column(String(10))  # Actual | Exercise
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
