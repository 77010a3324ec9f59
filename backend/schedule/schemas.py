"""The planning over HTTP: rotations, replacements, shifts, swaps."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from backend.orgs.schemas import Id


def _naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise ValueError("the hand-over is a local wall-clock time: give it without a time zone")
    return value


# Documented as what it is (a wall-clock time without offset), not as an RFC 3339 date-time.
LocalDateTime = Annotated[datetime, AfterValidator(_naive), WithJsonSchema({
    "type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$",
    "description": "local wall-clock time, without time zone", "examples": ["2026-12-07T08:30"]})]


class RotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_ids: list[Id] = Field(min_length=1, max_length=200, description="turn order")
    anchor_local: LocalDateTime = Field(description="a hand-over, commune's local time, e.g. 2026-12-07T08:30",
                                        examples=["2026-12-07T08:30:00"])
    turn_days: int = Field(default=7, ge=1, le=366, description="7 weekly, 1 daily, any number of days")
    effective_from: AwareDatetime | None = Field(default=None, description="default: now")


class RotationOut(BaseModel):
    id: int
    group_id: int
    member_ids: list[int]
    members: list[str]
    anchor_local: LocalDateTime
    turn_days: int
    valid_from: datetime
    valid_until: datetime | None
    timezone: str


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    starts_at: AwareDatetime
    ends_at: AwareDatetime
    person_id: Id | None = Field(description="who is on call instead; null: nobody (a known gap)")
    replaces_person_id: Id | None = Field(default=None, description="only while this person holds the turn")
    reason: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _order(self):
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class OverrideOut(BaseModel):
    id: int
    group_id: int
    starts_at: datetime
    ends_at: datetime
    person_id: int | None
    person: str | None
    replaces_person_id: int | None
    replaces: str | None
    reason: str
    origin: str
    cancelled_at: datetime | None


class ShiftOut(BaseModel):
    person_id: int | None
    person: str | None
    starts_at: datetime
    ends_at: datetime
    turn_index: int | None
    replacing: int | None
    replacing_name: str | None


class GapOut(BaseModel):
    starts_at: datetime
    ends_at: datetime


class GroupPlanningOut(BaseModel):
    group_id: int
    group: str
    kind: str
    rotation: RotationOut | None
    holder_id: int | None
    holder: str | None
    shifts: list[ShiftOut]
    overrides: list[OverrideOut]
    gaps: list[GapOut]


class PlanningOut(BaseModel):
    organization_id: int
    timezone: str
    start: datetime
    end: datetime
    covered: list[GapOut] = Field(description="the PC's covered windows over the period")
    groups: list[GroupPlanningOut]


class TurnOut(BaseModel):
    rotation_id: int
    index: int
    group_id: int
    group: str
    starts_at: datetime
    ends_at: datetime
    person_id: int | None
    person: str | None


class SwapIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    group_id: Id
    rotation_id: Id
    my_turn: int = Field(ge=0, le=10_000)
    counterpart_id: Id
    their_turn: int | None = Field(default=None, ge=0, le=10_000, description="null: the colleague only takes my turn")
    message: str = Field(default="", max_length=500)


class SwapDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    note: str = Field(default="", max_length=300)


class SwapOut(BaseModel):
    id: int
    group_id: int
    group: str
    status: str
    requester_id: int
    requester: str
    counterpart_id: int
    counterpart: str
    my_turn: TurnOut
    their_turn: TurnOut | None
    message: str
    created_at: datetime
    decided_by: str
    decision_note: str


class HolderOut(BaseModel):
    group_id: int
    group: str
    kind: str
    person_id: int | None
    person: str | None
    phone: str | None = Field(description="the holder's number, to call them")
    until: datetime | None


class WatchOut(BaseModel):
    id: int
    group_id: int
    group: str
    starts_at: datetime
    ends_at: datetime
    status: str
    deadline: datetime | None
    confirmed_at: datetime | None


class GroupMemberOut(BaseModel):
    person_id: int
    name: str


class MyGroupOut(BaseModel):
    group_id: int
    group: str
    kind: str
    members: list[GroupMemberOut]


class MyOnCallOut(BaseModel):
    person_id: int
    timezone: str
    next_turns: list[TurnOut]
    holders: list[HolderOut]
    groups: list[MyGroupOut] = Field(description="the groups I belong to, with their members")
    group_turns: list[TurnOut] = Field(description="my colleagues' coming turns, to offer an exchange")
    swaps: list[SwapOut]
    watch: list[WatchOut]
    can_approve_swaps: bool
    to_approve: list[SwapOut]
