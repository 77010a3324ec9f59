"""On-call payroll over HTTP: the commune's settings, the exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.orgs.schemas import Patch
from backend.payroll.models import INTERVENTION_MODES

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
KINDS = Literal["technique", "cadre", "prestataire"]


class RegimeChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regime: str = Field(max_length=50, examples=["technique-2015"])
    variant: str | None = Field(default=None, max_length=50, description="default: the regime's own",
                                examples=["exploitation"])


class Code(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=30, description="the commune's code_rubrique", examples=["0452"])
    label: str = Field(min_length=1, max_length=200, examples=["Indemnité d'astreinte semaine"])


class SettingsUpdate(Patch):
    collectivite_code: str | None = Field(default=None, max_length=50,
                                          description="the collectivité column of the CSV; \"\": the commune's code")
    kind_regimes: dict[KINDS, RegimeChoice | None] | None = Field(
        default=None, description="per group kind, the regime that pays its turns; null: not paid. Élus never are")
    codes: dict[str, Code | None] | None = Field(
        default=None, description="item key → the commune's payroll code; `regime/item` "
        "(`autres-2015/astreinte.week`) gives one regime its own code; null: back to the default",
        examples=[{"astreinte.week": {"code": "0452", "label": "Astreinte semaine"},
                   "autres-2015/astreinte.week": {"code": "0455", "label": "Astreinte semaine (autres filières)"}}])
    morning: str | None = Field(default=None, pattern=HHMM, description="the astreinte day's start (business hours)")
    evening: str | None = Field(default=None, pattern=HHMM, description="the astreinte day's end (business hours)")


class PersonRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regime: str | None = Field(default=None, max_length=50, description="null: the regime of the group's kind")
    variant: str | None = Field(default=None, max_length=50)
    excluded: bool = Field(default=False, description="true: never in the payroll export")
    intervention_mode: Literal[INTERVENTION_MODES] = Field(default="paid", description="paid hours or time off")


class PersonRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: int
    person: str
    regime: str | None
    variant: str | None
    excluded: bool
    intervention_mode: str


class VariantOut(BaseModel):
    name: str
    label: str
    short_notice_majoration: bool


class RegimeOut(BaseModel):
    id: str
    label: str
    valid_from: date
    default_variant: str
    variants: list[VariantOut]


class SettingsOut(BaseModel):
    organization_id: int
    collectivite_code: str = Field(description="as written in the CSV")
    kind_regimes: dict[str, RegimeChoice | None] = Field(description="élu: always null (never paid)")
    codes: dict[str, Code]
    morning: str
    evening: str
    people: list[PersonRuleOut]
    regimes: list[RegimeOut] = Field(description="the regimes Vigie knows")
    updated_at: datetime | None


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=MONTH, examples=["2026-11"])


class Totals(BaseModel):
    amount: str
    lines: int
    agents: int
    time_off_hours: str


class AgentOut(BaseModel):
    person_id: int
    person: str
    employee_number: str | None
    regimes: list[str]
    intervention_mode: str
    astreinte_amount: str
    majoration_amount: str
    intervention_amount: str
    total_amount: str
    time_off_hours: str
    lines: int
    warnings: list[str]
    statement_url: str


class WarningOut(BaseModel):
    person_id: int | None
    person: str | None
    message: str


class ExcludedOut(BaseModel):
    person_id: int
    person: str
    reason: str


class ExportOut(BaseModel):
    id: int
    organization_id: int
    month: str
    version: int
    status: Literal["draft", "validated", "superseded"] = Field(
        description="validated: signed off for payroll; superseded: a later version of the month exists")
    validated_at: datetime | None
    validated_by: str | None
    complete: bool = Field(description="false: produced before the month ended")
    sha256: str = Field(description="of the CSV")
    created_by: str
    created_at: datetime
    totals: Totals
    warning_count: int
    csv_url: str
    xlsx_url: str


class ExportDetailOut(ExportOut):
    agents: list[AgentOut]
    warnings: list[WarningOut]
    excluded: list[ExcludedOut]
    statements_zip_url: str
