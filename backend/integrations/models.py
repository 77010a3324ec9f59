"""Integrations: the PC's own systems (hyperviseur, SCADA/GTC alarms, telephony) calling Vigie with a key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, JSONType, UTCDateTime, utcnow

SCOPES = ("events:write", "calls:write")
ON_CLEARED = ("close_if_unengaged", "note")


class Integration(Base):
    """One named system with its API key, for one commune (or the métropole: all the communes it serves).

    The key is shown once at creation; only its SHA-256 is kept (a high-entropy secret needs no slow
    hash), with a short prefix to recognise it in the list.
    """

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list] = mapped_column(JSONType, default=list)
    key_prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    # Written at most once a minute: a storm of alarms does not turn into a storm of writes.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_from: Mapped[str | None] = mapped_column(String(64))
    # {"severities": {source value: 1-4}, "rules": [{"category", "procedure_id" | "group_ids"}],
    #  "on_cleared": "close_if_unengaged" | "note"}; a rule of category "*" is the default.
    mapping: Mapped[dict] = mapped_column(JSONType, default=dict)


class IntegrationAlarm(Base):
    """A source's alarm (its own key) and the event it opened: a repeat while it is open adds to its trace."""

    __tablename__ = "integration_alarms"
    __table_args__ = (UniqueConstraint("integration_id", "alarm_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"))
    alarm_key: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    occurrences: Mapped[int] = mapped_column(default=0)
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdempotentRequest(Base):
    """The first answer to an integration's `Idempotency-Key`, given again for 24 h to the same body."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("integration_id", "key"), Index("ix_idempotent_requests_created", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"))
    key: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    body: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
