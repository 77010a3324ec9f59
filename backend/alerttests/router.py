"""A phone tests its own alerts, and learns the PC's SMS number as a contact card."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from backend.alerttests import service
from backend.alerttests.vcard import pc_contact_card
from backend.auth.service import Principal
from backend.db import db_now
from backend.deps import CurrentPrincipal, SessionDep, SettingsDep
from backend.errors import Forbidden, NotFound, Unprocessable
from backend.orgs.models import Organization
from backend.orgs.schemas import Id
from backend.outbox.models import Notification, NotificationStatus
from backend.people.models import ContactMethod, Person
from backend.ratelimit import TEST_ALERTS_PER_PERSON
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["oncall"])



class RoadOut(BaseModel):
    notification_id: int
    channel: str
    label: str = Field(description="the device's name, the number or the address")
    status: str = Field(description="queued, sent, delivered, failed, cancelled, merged; "
                              "received: the app's service worker got the push, or key 1 was pressed "
                              "during the test call; voicemail: an answering machine took the call")
    error: str | None


class TestAlertOut(BaseModel):
    id: int
    created_at: datetime
    roads: list[RoadOut]


class ReceivedIn(BaseModel):
    notification_id: Id


def _my_phone_person(db, principal: Principal) -> Person:
    # Only a phone tests its alerts: an operator's session has nothing to receive them on.
    if principal.token is None or principal.token.kind != "device":
        raise Forbidden("only an enrolled phone can test its alerts", code="device_only")
    person = db.get(Person, principal.person_id) if principal.person_id is not None else None
    if person is None:
        raise Unprocessable("this account is not linked to a person on call", code="no_person")
    return person


def _out(db, rows: list[Notification]) -> TestAlertOut:
    roads = []
    for row in rows:
        contact = db.get(ContactMethod, row.contact_method_id) if row.contact_method_id else None
        label = (contact.label if contact is not None and contact.kind in ("push", "fcm") and contact.label
                 else "notification push" if row.channel in ("push", "fcm") else row.address)
        status = service.road_status(row)
        roads.append(RoadOut(notification_id=row.id, channel=row.channel, label=label, status=status,
                             error=row.last_error if status == NotificationStatus.FAILED else None))
    return TestAlertOut(id=rows[0].id, created_at=rows[0].created_at, roads=roads)


@router.post("/me/test-alert", status_code=201, response_model=TestAlertOut,
             summary="Tester mes alertes: a real message on each of my roads (3 per 10 minutes)")
def send_test_alert(request: Request, db: SessionDep, principal: CurrentPrincipal):
    person = _my_phone_person(db, principal)
    request.app.state.runtime.rate_limits.take(TEST_ALERTS_PER_PERSON, str(person.id))
    rows = service.send(db_session=db, person=person, now=db_now(db))
    return _out(db, rows)


@router.get("/me/test-alert/{test_id}", response_model=TestAlertOut, summary="What became of each road of my test")
def test_alert_result(test_id: Id, db: SessionDep, principal: CurrentPrincipal):
    person = _my_phone_person(db, principal)
    return _out(db, service.rows_of(db_session=db, person_id=person.id, test_id=test_id))


@router.post("/me/test-alert/{test_id}/received", response_model=TestAlertOut,
             summary="The app's service worker got the test push")
def test_alert_received(test_id: Id, body: ReceivedIn, db: SessionDep, principal: CurrentPrincipal):
    person = _my_phone_person(db, principal)
    service.mark_received(db_session=db, person_id=person.id, test_id=test_id,
                          notification_id=body.notification_id, now=db_now(db))
    db.flush()
    return _out(db, service.rows_of(db_session=db, person_id=person.id, test_id=test_id))


@router.get("/me/pc-contact.vcf", response_class=Response, summary="The PC's SMS number as a contact card",
            responses={200: {"content": {"text/vcard": {}}}})
def pc_contact(db: SessionDep, principal: CurrentPrincipal, settings: SettingsDep):
    if principal.person_id is None:
        raise Unprocessable("this account is not linked to a person on call", code="no_person")
    if not settings.sms_sender_number:
        raise NotFound("the PC's SMS number", code="no_sms_number")
    person = db.get(Person, principal.person_id)
    organization = db.get(Organization, person.organization_id) if person is not None else None
    card = pc_contact_card(sms_number=settings.sms_sender_number,
                           pc_phone=organization.pc_phone if organization is not None else None)
    return Response(card, media_type="text/vcard; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="vigie-pc-astreinte.vcf"'})
