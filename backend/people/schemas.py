"""People and their contact methods over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.orgs.schemas import Id, Patch
from backend.people.models import CONTACT_KINDS

ContactKind = Literal[CONTACT_KINDS]
ADDRESS_HELP = ("sms: a phone number (stored E.164); email: an address; push: the browser's subscription "
                "object {endpoint, keys: {p256dh, auth}} (stored as compact JSON text); fcm: a registration token")


class ContactMethodCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: ContactKind
    address: str | dict[str, Any] = Field(description=ADDRESS_HELP)
    label: str = Field(default="", max_length=100)
    is_personal: bool = Field(default=False, description="a personal (not professional) number or address")
    priority: int = Field(default=0, ge=0, le=100, description="lower first")
    enabled: bool = True


class ContactMethodUpdate(Patch):
    address: str | dict[str, Any] | None = Field(default=None, description=ADDRESS_HELP)
    label: str | None = Field(default=None, max_length=100)
    is_personal: bool | None = None
    priority: int | None = Field(default=None, ge=0, le=100)
    enabled: bool | None = None


class ContactMethodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    person_id: int
    kind: str
    address: str
    label: str
    is_personal: bool
    priority: int
    enabled: bool
    created_at: datetime


class PersonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_id: Id
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    job_title: str = Field(default="", max_length=200)
    employee_number: str | None = Field(default=None, max_length=50)
    is_elected: bool = False
    email_copies: bool = Field(default=False, description="an e-mail copy of every solicitation")
    contact_methods: list[ContactMethodCreate] = Field(default_factory=list, max_length=20)


class PersonUpdate(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"employee_number"})

    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    job_title: str | None = Field(default=None, max_length=200)
    employee_number: str | None = Field(default=None, max_length=50)
    is_elected: bool | None = None
    email_copies: bool | None = None
    active: bool | None = Field(default=None, description="true brings a deactivated person back")


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: Id
    first_name: str
    last_name: str
    display_name: str
    job_title: str
    employee_number: str | None
    is_elected: bool
    email_copies: bool
    active: bool
    created_at: datetime


class PersonDetail(PersonOut):
    contact_methods: list[ContactMethodOut]
