"""« Tester mes alertes »: a real message on each of a person's roads, then what became of each.

No table of its own: a test is its notification rows (purpose `test_alert`, no event, no page),
tied together by the id of the first one (`data.test_id`). With no event they write no trace
entry, so no KPI, report or pay rule ever counts them. Where calls are configured, the mobile is
called too: key 1 during that call marks it « reçu » (backend/voice/service.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotFound, Unprocessable
from backend.orgs.models import Organization
from backend.outbox import service as outbox_service
from backend.outbox.models import Notification
from backend.people.models import ContactMethod, Person
from notifications import notice as notices
from notifications.base import ChannelKind
from notifications.voice_twilio import not_a_person

PURPOSE = notices.TEST_ALERT
# Generous bound on the rows of one test (every push device, one SMS, one e-mail, one call).
MAX_ROADS = 50


def roads_of(person: Person) -> list[ContactMethod]:
    """Every push device, and the SMS and e-mail a solicitation would use."""
    usable = [cm for cm in person.contact_methods if cm.enabled]
    push = [cm for cm in usable if cm.kind in outbox_service.PUSH_KINDS]
    sms = [cm for cm in usable if cm.kind == "sms"][:1]
    email = [cm for cm in usable if cm.kind == "email"][:1]
    return (push + sms + email)[:MAX_ROADS]


def mobile_to_call(db_session: Session, person: Person) -> ContactMethod | None:
    """The number a page would call (its SMS number), when this installation places calls."""
    if not outbox_service.policy_of(db_session).voice:
        return None
    return next((cm for cm in person.contact_methods if cm.enabled and cm.kind == "sms"), None)


def send(*, db_session: Session, person: Person, now: datetime) -> list[Notification]:
    contacts = roads_of(person)
    if not contacts:
        raise Unprocessable("no push device, SMS number or e-mail to test", code="no_contact")
    organization = db_session.get(Organization, person.organization_id)
    org_code = organization.code if organization is not None else "VIGIE"
    # Urgent: the test goes the way a grave solicitation does (high-priority push), or it proves little.
    rows = outbox_service.enqueue_notice(db_session=db_session, organization_id=person.organization_id,
                                         person=person, notice=notices.test_alert(org_code=org_code),
                                         now=now, urgent=True, contacts=contacts,
                                         call=mobile_to_call(db_session, person))
    test_id = rows[0].id
    for row in rows:
        row.data = {**(row.data or {}), "test_id": test_id}
    return rows


def rows_of(*, db_session: Session, person_id: int, test_id: int) -> list[Notification]:
    """The rows of one of the person's tests (404 for another person's, or no test)."""
    rows = [row for row in db_session.scalars(
        select(Notification).where(Notification.person_id == person_id, Notification.purpose == PURPOSE,
                                   Notification.id >= test_id, Notification.id < test_id + MAX_ROADS)
        .order_by(Notification.id)) if (row.data or {}).get("test_id") == test_id]
    if not rows:
        raise NotFound("test alert")
    return rows


def mark_received(*, db_session: Session, person_id: int, test_id: int, notification_id: int,
                  now: datetime) -> Notification:
    """The app's service worker got the push: kept apart from the provider's status, which the
    dispatcher may still be writing."""
    row = next((r for r in rows_of(db_session=db_session, person_id=person_id, test_id=test_id)
                if r.id == notification_id and r.channel in outbox_service.PUSH_KINDS), None)
    if row is None:
        raise NotFound("test push")
    if not (row.data or {}).get("received_at"):
        row.data = {**row.data, "received_at": now.isoformat()}
    return row


def road_status(row: Notification) -> str:
    data = row.data or {}
    if data.get("received_at"):
        return "received"
    if row.channel == ChannelKind.VOICE.value and not_a_person(data.get("answered_by", "")):
        return "voicemail"
    return row.status
