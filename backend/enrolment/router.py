"""Enrolment links (sent by the PC), enrolling a phone, and the devices of a person."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from backend.db import db_now
from backend.deps import CurrentPrincipal, DirectoryEditor, SessionDep, SettingsDep, Staff
from backend.enrolment import service
from backend.errors import Unprocessable
from backend.orgs.schemas import Id
from backend.people import service as people_service
from backend.ratelimit import ENROL_PER_ADDRESS, client_address
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["enrolment"])


class EnrolmentCreate(BaseModel):
    channel: Literal["sms", "email"] = "sms"


class EnrolmentOut(BaseModel):
    id: int
    person_id: int
    channel: str
    expires_at: datetime
    deferred_until: datetime | None = Field(
        default=None, description="set when the SMS waits for the number's flood limit (SMS per quarter hour): "
                                  "the link leaves then, not now")


class EnrolIn(BaseModel):
    code: Annotated[str, Field(min_length=10, max_length=100)]
    label: Annotated[str, Field(max_length=100)] = ""


class EnrolledOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    device_id: int
    person_id: int
    person_name: str


class DeviceOut(BaseModel):
    id: int
    label: str
    created_at: datetime
    expires_at: datetime | None = Field(description="renewed each day the phone is used")
    revoked_at: datetime | None


@router.post("/people/{person_id}/enrolments", status_code=201, response_model=EnrolmentOut)
def send_enrolment(person_id: Id, body: EnrolmentCreate, db: SessionDep, principal: Staff,
                   settings: SettingsDep):
    person = people_service.get(db_session=db, person_id=person_id, org_ids=principal.org_ids)
    sent = service.send_link(db_session=db, person=person, channel=body.channel, public_url=settings.public_url,
                             by_user_id=principal.user.id, now=db_now(db))
    return EnrolmentOut(id=sent.enrolment.id, person_id=person.id, channel=sent.enrolment.channel,
                        expires_at=sent.enrolment.expires_at, deferred_until=sent.deferred_until)


@router.post("/enrol", response_model=EnrolledOut, summary="Exchange a single-use enrolment code for a device token")
def enrol(body: EnrolIn, request: Request, db: SessionDep, settings: SettingsDep):
    request.app.state.runtime.rate_limits.take(ENROL_PER_ADDRESS, client_address(request))
    person, device, token = service.enrol(db_session=db, code=body.code, label=body.label, now=db_now(db),
                                          ttl_hours=settings.device_token_days * 24)
    return EnrolledOut(access_token=token, device_id=device.id, person_id=person.id,
                       person_name=person.display_name)


def _my_person(principal) -> int:
    if principal.person_id is None:
        raise Unprocessable("this account is not linked to a person on call", code="no_person")
    return principal.person_id


@router.get("/me/devices", response_model=list[DeviceOut])
def my_devices(db: SessionDep, principal: CurrentPrincipal):
    return service.devices_of(db_session=db, person_id=_my_person(principal))


@router.delete("/me/devices/{device_id}", status_code=204)
def revoke_my_device(device_id: Id, db: SessionDep, principal: CurrentPrincipal):
    service.revoke_device(db_session=db, person_id=_my_person(principal), token_id=device_id, now=db_now(db))
    return Response(status_code=204)


@router.get("/people/{person_id}/devices", response_model=list[DeviceOut])
def person_devices(person_id: Id, db: SessionDep, principal: DirectoryEditor):
    person = people_service.get(db_session=db, person_id=person_id, org_ids=principal.org_ids)
    return service.devices_of(db_session=db, person_id=person.id)


@router.delete("/people/{person_id}/devices/{device_id}", status_code=204)
def revoke_person_device(person_id: Id, device_id: Id, db: SessionDep, principal: DirectoryEditor):
    person = people_service.get(db_session=db, person_id=person_id, org_ids=principal.org_ids)
    service.revoke_device(db_session=db, person_id=person.id, token_id=device_id, now=db_now(db))
    return Response(status_code=204)

