from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from backend.db import db_now
from backend.deps import CurrentPrincipal, Operator, SessionDep, SettingsDep
from backend.errors import Unprocessable
from backend.oncall import service
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["oncall"])


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    organization_id: Id
    procedure_id: Id | None = None
    group_ids: list[Id] | None = Field(default=None, min_length=1, max_length=20,
                                       description="without a procedure: the groups to solicit, in this order")
    severity: int | None = Field(default=None, ge=1, le=4)


class MyEvent(BaseModel):
    id: int
    number: str
    title: str
    place: str
    description: str
    category: str
    status: str
    received_at: datetime
    latitude: float | None
    longitude: float | None
    organization: str
    organization_code: str
    pc_phone: str | None
    exercise: bool = False


class OtherAnswer(BaseModel):
    person: str
    kind: str


class MyPage(BaseModel):
    page_id: int
    status: str
    reply_code: str | None
    sms_number: str | None = Field(description="where an SMS reply goes (`1 CODE` takes it): the app offers it offline")
    severity: int
    due_at: datetime | None
    asking_me: bool
    current_person: str | None
    acknowledged_by: str | None
    my_responses: list[str]
    others: list[OtherAnswer]
    event: MyEvent


@router.get("/me/pages", response_model=list[MyPage], summary="Mes sollicitations")
def my_pages(db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep):
    if principal.person_id is None:
        raise Unprocessable("this account is not linked to a person on call", code="no_person")
    pages = service.my_pages(db_session=db, person_id=principal.person_id, now=db_now(db))
    return [{**page, "sms_number": settings.sms_sender_number} for page in pages]


class MyInformation(BaseModel):
    severity: int
    informed_at: datetime
    event: MyEvent


@router.get("/me/informed", response_model=list[MyInformation], summary="Pour information : events I was told of, "
            "not asked to answer (open, or closed in the last 48 h)")
def my_informations(db: SessionDep, principal: CurrentPrincipal):
    if principal.person_id is None:
        raise Unprocessable("this account is not linked to a person on call", code="no_person")
    return service.my_informations(db_session=db, person_id=principal.person_id, org_ids=principal.org_ids,
                                   now=db_now(db))


@router.post("/events/preview", summary="Who would be solicited, in which order, before confirming")
def preview_event(body: PreviewIn, db: SessionDep, principal: Operator) -> dict:
    return service.preview(db_session=db, organization_id=body.organization_id, org_ids=principal.org_ids,
                           procedure_id=body.procedure_id, group_ids=body.group_ids, severity=body.severity,
                           now=db_now(db))
