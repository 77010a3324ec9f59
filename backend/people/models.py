from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, UTCDateTime, utcnow

CONTACT_KINDS = ("sms", "email", "push", "fcm")


class Person(Base):
    """Someone who can be notified: an agent, an élu, a contractor's contact."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    job_title: Mapped[str] = mapped_column(String(200), default="")
    employee_number: Mapped[str | None] = mapped_column(String(50))
    is_elected: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    email_copies: Mapped[bool] = mapped_column(default=False)  # an e-mail copy of every solicitation
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact_methods: Mapped[list[ContactMethod]] = relationship(
        back_populates="person", order_by="ContactMethod.priority", cascade="all, delete-orphan"
    )

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class ContactMethod(Base):
    __tablename__ = "contact_methods"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # sms | email | push | fcm
    address: Mapped[str] = mapped_column(Text)  # E.164 number, e-mail, push subscription JSON, FCM token
    label: Mapped[str] = mapped_column(String(100), default="")
    is_personal: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(back_populates="contact_methods")
