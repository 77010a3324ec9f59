"""Enrolling a phone without a password: a single-use link, then a revocable device token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import service as auth_service
from backend.auth.models import ApiToken, User
from backend.auth.security import token_digest
from backend.enrolment.models import Enrolment
from backend.errors import Gone, NotFound, Unprocessable
from backend.outbox import flood
from backend.outbox import service as outbox_service
from backend.people.models import Person
from notifications import notice as notices

ENROLMENT_TTL = timedelta(hours=72)


@dataclass(frozen=True)
class SentLink:
    enrolment: Enrolment
    deferred_until: datetime | None  # the number had its quarter hour's SMS: the link waits until then


def send_link(*, db_session: Session, person: Person, channel: str, public_url: str, by_user_id: int | None,
              now: datetime) -> SentLink:
    contact = next((c for c in person.contact_methods if c.enabled and c.kind == channel), None)
    if contact is None:
        raise Unprocessable(f"this person has no {channel} contact to receive the link", code="no_contact")
    code = secrets.token_urlsafe(24)
    enrolment = Enrolment(person_id=person.id, code_hash=token_digest(code), channel=channel,
                          created_by_user_id=by_user_id, created_at=now, expires_at=now + ENROLMENT_TTL)
    db_session.add(enrolment)
    url = f"{public_url.rstrip('/')}/app/#/enrol/{code}"
    subject, text = notices.install_link(channel=channel, person_name=person.display_name, url=url)
    row = outbox_service.enqueue_written(db_session=db_session, organization_id=person.organization_id,
                                         person_id=person.id, contact=contact, purpose="enrol", subject=subject,
                                         text=text, html=None, data={"purpose": "enrol"}, now=now)
    deferred_until = None
    if channel == "sms":
        limit = outbox_service.policy_of(db_session).sms_flood_limit
        deferred_until = flood.next_free_slot(db_session=db_session, address=contact.address, now=now, limit=limit)
        if deferred_until is not None:
            row.due_at = deferred_until
    return SentLink(enrolment=enrolment, deferred_until=deferred_until)


def enrol(*, db_session: Session, code: str, label: str, now: datetime,
          ttl_hours: float) -> tuple[Person, ApiToken, str]:
    enrolment = db_session.scalar(select(Enrolment).where(Enrolment.code_hash == token_digest(code))
                                  .with_for_update(key_share=True))
    if enrolment is None:
        raise NotFound("enrolment link")
    if enrolment.used_at is not None:
        raise Gone("this enrolment link was already used; ask the PC for a new one", code="enrolment_used")
    if enrolment.expires_at <= now:
        raise Gone("this enrolment link has expired; ask the PC for a new one", code="enrolment_expired")
    person = db_session.get(Person, enrolment.person_id)
    if person is None or not person.active:
        raise Gone("this person is no longer on call", code="enrolment_person_inactive")
    user = _device_user(db_session, person)
    user.is_active = True  # back on call after a departure: the PC sent this link
    token = auth_service.issue_token(db_session=db_session, user=user, ttl_hours=ttl_hours, kind="device",
                                     label=label or "Téléphone")
    row = db_session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    enrolment.used_at = now
    enrolment.device_token_id = row.id
    return person, row, token


def _device_user(db_session: Session, person: Person) -> User:
    """The on-call account a person's devices act as (made on first enrolment)."""
    user = db_session.scalar(select(User).where(User.person_id == person.id, User.role == "oncall"))
    if user is not None:
        return user
    email = next((c.address for c in person.contact_methods if c.kind == "email"), None)
    if email is None or db_session.scalar(select(User.id).where(User.email == email)) is not None:
        email = f"person-{person.id}@devices.vigie.invalid"
    return auth_service.create_user(db_session=db_session, email=email, full_name=person.display_name,
                                    role="oncall", organization_id=person.organization_id, person_id=person.id)


def devices_of(*, db_session: Session, person_id: int) -> list[ApiToken]:
    return list(db_session.scalars(
        select(ApiToken).join(User, User.id == ApiToken.user_id)
        .where(User.person_id == person_id, ApiToken.kind == "device").order_by(ApiToken.id)))


def revoke_device(*, db_session: Session, person_id: int, token_id: int, now: datetime) -> ApiToken:
    token = next((t for t in devices_of(db_session=db_session, person_id=person_id) if t.id == token_id), None)
    if token is None:
        raise NotFound("device")
    if token.revoked_at is None:
        token.revoked_at = now
        auth_service.access_changed(db_session)
    return token


def withdraw_access(*, db_session: Session, person_id: int, now: datetime) -> None:
    """A person leaves: their accounts are deactivated, their phones' tokens and unused links revoked."""
    users = list(db_session.scalars(select(User).where(User.person_id == person_id)))
    for user in users:
        user.is_active = False
    if users:
        for token in db_session.scalars(select(ApiToken).where(ApiToken.user_id.in_([u.id for u in users]),
                                                               ApiToken.revoked_at.is_(None))):
            token.revoked_at = now
    for enrolment in db_session.scalars(select(Enrolment).where(Enrolment.person_id == person_id,
                                                                Enrolment.used_at.is_(None),
                                                                Enrolment.expires_at > now)):
        enrolment.expires_at = now
    auth_service.access_changed(db_session)

