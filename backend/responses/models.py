from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow

RESPONSE_KINDS = ("ack", "decline", "en_route", "on_site", "done", "need_help", "note")
VIAS = ("app", "push", "sms", "email", "operator", "api")


class Response(Base):
    """An answer of an on-call person (or of an operator on their behalf)."""

    __tablename__ = "responses"
    # A phone that resends an answer after a lost reply names it the same way: it is kept once.
    __table_args__ = (Index("uq_responses_event_client", "event_id", "client_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    via: Mapped[str] = mapped_column(String(20), default="app")
    on_behalf_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_id: Mapped[str | None] = mapped_column(String(64))  # the app's Idempotency-Key
    # A call for reinforcement rings at the PC until an operator takes note of it.
    noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    noted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
