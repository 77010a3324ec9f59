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


class CallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    received_at: datetime
    answered: bool
    answered_at: datetime | None
    wait_s: float | None
    caller_category: str
    caller_number: str
    note: str
    source: str
    external_id: str | None
    event_id: int | None


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
