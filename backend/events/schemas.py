from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.orgs.schemas import Id

Source = Literal["phone", "police", "sdis", "elu", "sensor", "agent", "other"]
ResponseKind = Literal["ack", "decline", "en_route", "on_site", "done", "need_help", "note"]


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: Id
    procedure_id: Id | None = None
    group_ids: list[Id] | None = Field(
        default=None, min_length=1, max_length=20,
        description="without a procedure (an unforeseen case): the commune's groups to solicit, in this order")
    category: str | None = Field(default=None, min_length=1, max_length=200)
    severity: int | None = Field(default=None, ge=1, le=4, description="unknown → handled as 3")
    cap_urgency: Literal["Immediate", "Expected", "Future", "Past", "Unknown"] | None = None
    cap_certainty: Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"] | None = None
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    place: str = Field(default="", max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    source: Source = "phone"
    caller_name: str = Field(default="", max_length=200)
    callback_number: str = Field(default="", max_length=32)
    call_id: int | None = Field(default=None, ge=1, le=2**63 - 1, description="the logged call it comes from")
    exercise: bool = Field(default=False, description="a drill (« EXERCICE »): messages say so, KPIs count it apart, "
                                                      "pay never counts it")


class Requalify(BaseModel):
    model_config = ConfigDict(extra="forbid")
    severity: int = Field(ge=1, le=4)
    reason: str = Field(default="", max_length=1000)


class Close(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)
    follow_up: str = Field(default="", max_length=2000, description="what the commune's services do next, in hours")


class ResponseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: ResponseKind
    person_id: Id | None = Field(default=None, description="omitted by an on-call person: themselves")
    page_id: Id | None = None
    text: str = Field(default="", max_length=2000)
    reason: str = Field(default="", max_length=1000, description="required when an operator answers on behalf")
    via: Literal["app", "push", "api"] = "app"


class Correction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    corrects_id: Id
    text: str = Field(min_length=1, max_length=2000)


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    organization_id: int
    number: str
    procedure_id: int | None
    procedure_version_id: int | None = Field(default=None, description="the procedure's version it was opened with")
    category: str
    severity: int
    cap_severity: str
    cap_urgency: str
    cap_certainty: str
    title: str
    description: str
    place: str
    latitude: float | None
    longitude: float | None
    source: str
    caller_name: str
    callback_number: str
    status: str
    closure_reason: str | None
    received_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    in_coverage: bool | None = Field(description="received during the PC's coverage hours of the commune")
    coverage_handling: str | None = Field(description="solicit | inform_referent (the commune's choice outside)")
    exercise: bool = Field(default=False, description="a drill (« EXERCICE »)")


class PageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    status: str
    severity: int
    round: int
    current_group_id: int | None
    current_person_id: int | None
    notified_at: datetime | None
    due_at: datetime | None
    started_at: datetime
    ended_at: datetime | None
    acknowledged_by_person_id: int | None
    reply_code: str | None = None
    policy: dict


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    page_id: int | None
    person_id: int | None
    channel: str
    purpose: str
    status: str
    attempts: int
    created_at: datetime
    handed_off_at: datetime | None
    last_error: str | None


class ResponseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    page_id: int | None
    person_id: int | None
    kind: str
    text: str
    via: str
    on_behalf_by_user_id: int | None
    created_at: datetime
    noted_at: datetime | None = Field(default=None, description="a call for reinforcement: when the PC took note")
    noted_by_user_id: int | None = None


class EventDetail(EventOut):
    pages: list[PageOut]
    notifications: list[NotificationOut]
    responses: list[ResponseOut]


class TraceEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    event_id: int
    seq: int
    at: datetime
    actor_type: str
    actor_id: int | None
    actor_label: str
    kind: str
    data: dict
    corrects_id: int | None
    prev_hash: str
    hash: str


class VerificationOut(BaseModel):
    intact: bool
    entries: int
    first_broken_seq: int | None = None
    reason: str = ""


class ContactOut(BaseModel):
    """Someone the PC may phone about the event (staff only: the number is personal data)."""
    model_config = ConfigDict(from_attributes=True)
    person_id: int
    display_name: str
    mobile: str | None = Field(description="E.164, the person's first SMS number; null when they have none")
    groups: list[str]
    in_chain: bool = Field(description="in the chain of one of the event's solicitations")
    solicited: bool = Field(description="a solicitation was sent to them for this event")
    holds_turn: bool = Field(description="holds the turn of one of the commune's on-call groups now")
