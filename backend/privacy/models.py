from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class PersonalDataAccess(Base):
    """Who read, changed or exported a person's data, and when (RGPD: the commune's referent sees it)."""

    __tablename__ = "personal_data_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    user_label: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(20))  # create | read | change | deactivate | export | pseudonymise
    what: Mapped[str] = mapped_column(String(100), default="")  # e.g. "contacts", "devices"
    import_id: Mapped[int | None] = mapped_column(ForeignKey("directory_imports.id"), index=True)
