"""Coverage hours over HTTP."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from backend.coverage.models import HOLIDAY_CALENDARS, OUT_OF_COVERAGE
from backend.orgs.schemas import Patch

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
HHMM_END = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"


class TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=HHMM, examples=["17:30"])
    end: str = Field(pattern=HHMM_END, examples=["24:00"], description="24:00 = until midnight")

    @model_validator(mode="after")
    def _order(self):
        if self.end != "24:00" and self.end <= self.start:
            raise ValueError("a window ends after it starts (use 24:00 for midnight)")
        return self


class WeeklyWindow(TimeRange):
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")


class CoverageUpdate(Patch):
    nullable = frozenset({"holidays"})

    weekly: list[WeeklyWindow] | None = Field(default=None, max_length=100)
    holidays: Literal[HOLIDAY_CALENDARS] | None = Field(default=None, description="null: no public holidays")
    out_of_coverage: Literal[OUT_OF_COVERAGE] | None = Field(
        default=None, description="an event outside the PC's hours: solicit anyway, or inform the referent only")
    watch_confirm_minutes: int | None = Field(default=None, ge=5, le=720)
    swap_needs_approval: bool | None = None


class CoverageOut(BaseModel):
    organization_id: int
    timezone: str
    weekly: list[WeeklyWindow]
    weekly_hours: float = Field(description="covered hours of a week without holidays")
    holidays: str | None
    out_of_coverage: str
    watch_confirm_minutes: int
    swap_needs_approval: bool
    covered_now: bool
    upcoming_holidays: list[dict]


class ExceptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    day: date
    windows: list[TimeRange] = Field(max_length=10, description="[] = not covered that day; "
                                                                "[{00:00, 24:00}] = covered all day")
    label: str = Field(default="", max_length=200, examples=["Pont de l'Ascension"])


class ExceptionOut(BaseModel):
    id: int
    organization_id: int
    day: date
    windows: list[TimeRange]
    label: str


class IntervalOut(BaseModel):
    starts_at: datetime
    ends_at: datetime
