"""The call log over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from backend.calls.models import CALLER_CATEGORIES
from backend.orgs.schemas import Id

CallerCategory = Literal[CALLER_CATEGORIES]


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_id: Id
    answered: bool
    received_at: AwareDatetime | None = Field(default=None, description="default: now (one click in the console)")
    answered_at: AwareDatetime | None = Field(default=None, description="default: now when answered")
    caller_category: CallerCategory = "citizen"
    caller_number: str = Field(default="", max_length=32)
    note: str = Field(default="", max_length=2000)
    external_id: str | None = Field(default=None, min_length=1, max_length=100,
                                    description="the telephony's call id: sending the same call twice logs it once")


class CallPatch(BaseModel):
    """Only the fields sent change; what they were is kept in the call's corrections."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    answered: bool | None = None
    received_at: AwareDatetime | None = None
    answered_at: AwareDatetime | None = None
    caller_category: CallerCategory | None = None
    caller_number: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=2000)


class CallVoid(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(default="", max_length=500, examples=["appel enregistré deux fois"])


class Correction(BaseModel):
    at: datetime
    by: str
    changes: dict[str, list] = Field(description="field → [before, after]")


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    received_at: datetime
    answered: bool
    answered_at: datetime | None
    wait_s: float | None = Field(description="null when missed, or logged in one click (ring and answer at once)")
    caller_category: str
    caller_number: str
    note: str
    source: str
    external_id: str | None
    event_id: int | None
    event_number: str | None = Field(description="the number of the event opened from this call")
    corrections: list[Correction]
    voided_at: datetime | None
    voided_by: str | None
    void_reason: str


class BypassedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_id: Id
    occurred_at: AwareDatetime
    category: str = Field(min_length=1, max_length=200, examples=["Chute d'arbre sur la voirie"])
    count: int = Field(default=1, ge=1, le=10_000)
    description: str = Field(default="", max_length=2000)


class BypassedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    occurred_at: datetime
    category: str
    count: int
    description: str
