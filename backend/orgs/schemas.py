"""Organizations over HTTP, and the partial-update base every directory schema shares."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

CODE_RE = re.compile(r"[A-Z0-9]{2,20}")
# Beyond SQLite's 64-bit integers a lookup would raise instead of finding nothing.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Patch(BaseModel):
    """A partial update: omitted fields stay as they are; null only where the column allows it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null(self):
        nulls = sorted(n for n in self.model_fields_set if getattr(self, n) is None and n not in self.nullable)
        if nulls:
            raise ValueError(f"cannot be null: {', '.join(nulls)}")
        return self

    def changes(self) -> dict:
        """The fields the caller sent; nested values whole, defaults included."""
        sent = self.model_dump()
        return {name: sent[name] for name in self.model_fields_set}


def _code(value: str) -> str:
    value = value.upper()
    if not CODE_RE.fullmatch(value):
        raise ValueError("a code is 2 to 20 letters A-Z or digits 0-9")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


OrgCode = Annotated[str, AfterValidator(_code)]
TimeZone = Annotated[str, AfterValidator(_timezone)]


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    code: OrgCode = Field(description="short, used in SMS: A-Z and 0-9, stored upper-case", examples=["CHENOVE"])
    timezone: TimeZone = "Europe/Paris"
    pc_phone: str | None = Field(default=None, max_length=32, description="stored E.164")


class OrganizationUpdate(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"pc_phone", "delivery_retention_months", "voice_from_severity",
                                                    "voice_after_sms_minutes"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    code: OrgCode | None = None
    timezone: TimeZone | None = None
    pc_phone: str | None = Field(default=None, max_length=32)
    delivery_retention_months: int | None = Field(
        default=None, ge=1, le=120, description="messages sent and SMS received are kept this long (null: "
                                                "the installation's default, 12)")
    voice_from_severity: int | None = Field(
        default=None, ge=3, le=4, description="every solicitation of this severity or above also calls the person's mobile "
                                  "(3 grave, 4 critique; null: never)")
    voice_after_sms_minutes: int | None = Field(
        default=None, ge=1, le=120, description="a solicitation still unanswered this many minutes after its SMS "
                                                "calls the person's mobile (null: never)")


class OrganizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    code: str
    kind: str
    served_by_id: int | None
    timezone: str
    pc_phone: str | None
    delivery_retention_months: int | None
    voice_from_severity: int | None = None
    voice_after_sms_minutes: int | None = None
    created_at: datetime
