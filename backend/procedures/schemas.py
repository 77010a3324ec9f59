"""Procedures over HTTP: who to solicit or inform for one category, in which order, how fast."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.orgs.schemas import Id, Patch
from backend.procedures.models import CAP_CATEGORIES

CapCategory = Literal[CAP_CATEGORIES]
Severity = Literal["2", "3", "4"]
TIMINGS_HELP = "per severity 2, 3, 4; a severity left out gets the default timing"


class Timing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ack_timeout_s: int = Field(ge=1, le=86_400, description="seconds to acknowledge before moving on")
    repeats: int = Field(ge=0, le=10, description="passes over the whole chain")


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: Id
    mode: Literal["solicit", "inform"] = "solicit"
    min_severity: int = Field(default=1, ge=1, le=4)


class ProcedureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_id: Id
    category: str = Field(min_length=1, max_length=200)
    cap_category: CapCategory = "Other"
    instructions: str = Field(default="", max_length=2000)
    timings: dict[Severity, Timing] = Field(default_factory=dict, description=TIMINGS_HELP)
    steps: list[StepIn] = Field(min_length=1, max_length=50, description="in escalation order")
    report_list_ids: list[Id] = Field(default_factory=list, max_length=50)


class ProcedureUpdate(Patch):
    category: str | None = Field(default=None, min_length=1, max_length=200)
    cap_category: CapCategory | None = None
    instructions: str | None = Field(default=None, max_length=2000)
    timings: dict[Severity, Timing] | None = Field(default=None, description=TIMINGS_HELP)
    steps: list[StepIn] | None = Field(default=None, min_length=1, max_length=50)
    report_list_ids: list[Id] | None = Field(default=None, max_length=50)
    active: bool | None = None


class TimingOut(BaseModel):
    ack_timeout_s: int
    repeats: int = 1


class StepOut(BaseModel):
    position: int
    group_id: Id
    group_name: str
    mode: str
    min_severity: int


class ProcedureOut(BaseModel):
    id: int
    organization_id: Id
    category: str
    cap_category: str
    instructions: str
    timings: dict[str, TimingOut]
    active: bool
    created_at: datetime
    steps: list[StepOut]
    report_list_ids: list[int]
