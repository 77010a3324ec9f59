from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class InboundSms(Base):
    """Every SMS that reached the inbound route with a valid signature, and what came of it."""

    __tablename__ = "inbound_sms"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sender: Mapped[str] = mapped_column(String(32), index=True)
    text: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(30))  # accepted | unknown_sender | ambiguous | no_page | refused
    detail: Mapped[str] = mapped_column(Text, default="")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"))


class InboundReceipt(Base):
    """A signed callback already taken: its provider's message id, or its signature when it has none.

    Written first in the callback's transaction, so a replay or a provider's retry counts once,
    even when two copies arrive together."""

    __tablename__ = "inbound_receipts"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsedLink(Base):
    """A one-tap e-mail link acts once: its id is kept after use."""

    __tablename__ = "used_links"

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"))
    action: Mapped[str] = mapped_column(String(20))
