"""Procedures over HTTP: who to solicit or inform for one category, in which order, how fast."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.orgs.schemas import Id, Patch
from backend.procedures.models import CAP_CATEGORIES

CapCategory = Literal[CAP_CATEGORIES]
Severity = Literal["2", "3", "4"]
TIMINGS_HELP = "per severity 2, 3, 4; a severity left out gets the default timing"
INFORM_ALL_HELP = "an inform step tells every member of the group (« toute la liste »), not only the person on call"


class Timing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ack_timeout_s: int = Field(ge=1, le=86_400, description="seconds to acknowledge before moving on")
    repeats: int = Field(ge=0, le=10, description="passes over the whole chain")


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group_id: Id
    mode: Literal["solicit", "inform"] = "solicit"
    min_severity: int = Field(default=1, ge=1, le=4)
    inform_all: bool = Field(default=False, description=INFORM_ALL_HELP)


class ProcedureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_id: Id
    category: str = Field(min_length=1, max_length=200)
    cap_category: CapCategory = "Other"
    instructions: str = Field(default="", max_length=2000)
    default_severity: int | None = Field(default=None, ge=1, le=4, description="offered first to the operator")
    timings: dict[Severity, Timing] = Field(default_factory=dict, description=TIMINGS_HELP)
    steps: list[StepIn] = Field(min_length=1, max_length=50, description="in escalation order")
    report_list_ids: list[Id] = Field(default_factory=list, max_length=50)
    note: str = Field(default="", max_length=500, description="what this version is about")
    validate_now: bool = Field(default=False, alias="validate",
                               description="a PC admin validates the version at once (else it stays a draft)")


class ProcedureUpdate(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"default_severity"})
    category: str | None = Field(default=None, min_length=1, max_length=200)
    cap_category: CapCategory | None = None
    instructions: str | None = Field(default=None, max_length=2000)
    default_severity: int | None = Field(default=None, ge=1, le=4, description="null: none")
    timings: dict[Severity, Timing] | None = Field(default=None, description=TIMINGS_HELP)
    steps: list[StepIn] | None = Field(default=None, min_length=1, max_length=50)
    report_list_ids: list[Id] | None = Field(default=None, max_length=50)
    active: bool | None = Field(default=None, description="applies at once; every other change is a new draft version")
    note: str | None = Field(default=None, max_length=500, description="what changed, in the author's words")
    validate_now: bool | None = Field(default=None, alias="validate",
                                      description="a PC admin validates the new version at once")


class TimingOut(BaseModel):
    ack_timeout_s: int
    repeats: int = 1


class StepOut(BaseModel):
    position: int
    group_id: Id
    group_name: str
    mode: str
    min_severity: int
    inform_all: bool = False


class ProcedureOut(BaseModel):
    id: int
    organization_id: Id
    category: str
    cap_category: str
    instructions: str
    default_severity: int | None
    timings: dict[str, TimingOut]
    active: bool
    created_at: datetime
    version: int = Field(description="the validated version new events use; 0: none validated yet")
    draft_version: int | None = Field(description="the latest draft waiting for a PC admin, if any")
    steps: list[StepOut]
    report_list_ids: list[int]


class VersionStepOut(BaseModel):
    group_id: int
    group_name: str
    mode: str
    min_severity: int
    inform_all: bool = False


class VersionContentOut(BaseModel):
    category: str
    cap_category: str
    instructions: str
    default_severity: int | None = None
    timings: dict[str, TimingOut]
    steps: list[VersionStepOut]
    report_list_ids: list[int]


class VersionOut(BaseModel):
    id: int | None
    procedure_id: int
    number: int
    status: Literal["draft", "validated", "superseded"]
    changes: list[str] = Field(description="the fields that differ from the version before")
    note: str
    author: str
    created_at: datetime
    validated_by: str
    validated_at: datetime | None
    content: VersionContentOut


class EventProcedureOut(BaseModel):
    """What an event was opened with: a procedure's version, or groups chosen without a procedure."""

    procedure_id: int | None
    version: int | None
    category: str
    instructions: str
    default_severity: int | None
    without_procedure: bool
    steps: list[VersionStepOut]


class ExportedStep(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    group: str = Field(min_length=1, max_length=200, description="the group's name in the commune")
    of_metropole: bool = Field(default=False, description="the group is the métropole's that serves the commune "
                                                          "(e.g. its astreinte de décision), named as there")
    mode: Literal["solicit", "inform"] = "solicit"
    min_severity: int = Field(default=1, ge=1, le=4)
    inform_all: bool = Field(default=False, description=INFORM_ALL_HELP)


class ExportedProcedure(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    category: str = Field(min_length=1, max_length=200)
    cap_category: CapCategory = "Other"
    instructions: str = Field(default="", max_length=2000)
    default_severity: int | None = Field(default=None, ge=1, le=4)
    timings: dict[Severity, Timing] = Field(default_factory=dict, description=TIMINGS_HELP)
    active: bool = True
    steps: list[ExportedStep] = Field(min_length=1, max_length=50, description="in escalation order")
    report_lists: list[str] = Field(default_factory=list, max_length=50, description="distribution lists, by name")


class ProceduresFile(BaseModel):
    """The export of a commune's procedures, as the import takes it back (groups and lists named, not numbered)."""

    model_config = ConfigDict(extra="ignore")

    format: Literal["vigie.procedures"] = "vigie.procedures"
    format_version: int = Field(default=1, ge=1, le=1)
    organization: str = Field(default="", max_length=200, description="the commune exported (informative)")
    procedures: list[ExportedProcedure] = Field(max_length=2000)


class ImportProblem(BaseModel):
    index: int
    category: str
    code: str
    message: str


class ImportOut(BaseModel):
    applied: bool
    created: list[str]
    changed: list[str]
    unchanged: list[str]
    problems: list[ImportProblem]
