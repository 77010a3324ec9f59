from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class Organization(Base):
    """A tenant: the métropole running the PC, or a commune it serves."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(20), unique=True)  # short, in SMS: "CHENOVE"
    kind: Mapped[str] = mapped_column(String(20), default="commune")  # metropole | commune
    served_by_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    pc_phone: Mapped[str | None] = mapped_column(String(32))
    # Messages sent and SMS received are deleted after this many months (None: the installation's default).
    delivery_retention_months: Mapped[int | None] = mapped_column()
    # Calls (notifications/voice_twilio.py): every solicitation from this severity calls at once (None: never),
    # and one unanswered this many minutes after its SMS gets a call (None: never).
    voice_from_severity: Mapped[int | None] = mapped_column()
    voice_after_sms_minutes: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
