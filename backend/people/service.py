"""People and their contact methods: scoped reads, validated writes, deactivation instead of deletion."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from backend.db import db_now
from backend.enrolment import service as enrolment_service
from backend.errors import Conflict, NotFound, Unprocessable
from backend.people.models import ContactMethod, Person
from backend.people.schemas import ContactMethodCreate, ContactMethodUpdate, PersonCreate, PersonUpdate

# ARCEP keeps +33 6 39 98 xx xx for fiction (DESIGN.md §5); libphonenumber calls it invalid.
FICTION_MOBILE_PREFIX = "+3363998"
NOT_FOR_SMS = {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.TOLL_FREE,
               phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST}
MAX_FCM_TOKEN = 4096
MAX_PUSH_SUBSCRIPTION = 4096


def get(*, db_session: Session, person_id: int, org_ids: frozenset[int]) -> Person:
    person = db_session.scalar(select(Person).options(selectinload(Person.contact_methods))
                               .where(Person.id == person_id, Person.organization_id.in_(org_ids)))
    if person is None:
        raise NotFound("person")
    return person


def list_people(*, db_session: Session, org_ids: frozenset[int], organization_id: int | None = None,
                q: str | None = None, active: bool | None = None, limit: int = 200,
                offset: int = 0) -> list[Person]:
    query = select(Person).where(Person.organization_id.in_(org_ids))
    if organization_id is not None:
        query = query.where(Person.organization_id == organization_id)
    if active is not None:
        query = query.where(Person.active == active)
    if q and q.strip():
        query = query.where(_matching(q.strip().lower()))
    query = query.order_by(Person.last_name, Person.first_name, Person.id).limit(limit).offset(offset)
    return list(db_session.scalars(query))


def _matching(needle: str):
    """A name (either order), job title or employee number containing `needle`, ignoring case."""
    fields = (Person.first_name + " " + Person.last_name, Person.last_name + " " + Person.first_name,
              Person.job_title, func.coalesce(Person.employee_number, ""))
    return or_(*(func.lower(field).contains(needle, autoescape=True) for field in fields))


def create(*, db_session: Session, organization_id: int, draft: PersonCreate) -> Person:
    """`organization_id`: the commune the caller may edit (checked against `draft.organization_id` by the route)."""
    person = Person(organization_id=organization_id,
                    **draft.model_dump(exclude={"organization_id", "contact_methods"}))
    db_session.add(person)
    for contact in draft.contact_methods:
        _add_contact(person, contact)
    db_session.flush()
    return person


def update(*, db_session: Session, person: Person, patch: PersonUpdate) -> Person:
    changes = patch.changes()
    leaving = person.active and changes.get("active") is False
    for name, value in changes.items():
        setattr(person, name, value)
    if leaving:
        enrolment_service.withdraw_access(db_session=db_session, person_id=person.id, now=db_now(db_session))
    db_session.flush()
    return person


def deactivate(*, db_session: Session, person: Person) -> None:
    """People are never deleted (the main courante names them); their access goes with them."""
    person.active = False
    enrolment_service.withdraw_access(db_session=db_session, person_id=person.id, now=db_now(db_session))
    db_session.flush()


def get_contact_method(*, db_session: Session, contact_method_id: int, org_ids: frozenset[int]) -> ContactMethod:
    contact = db_session.scalar(
        select(ContactMethod).join(Person, Person.id == ContactMethod.person_id)
        .where(ContactMethod.id == contact_method_id, Person.organization_id.in_(org_ids)))
    if contact is None:
        raise NotFound("contact method")
    return contact


def add_contact_method(*, db_session: Session, person: Person, draft: ContactMethodCreate) -> ContactMethod:
    contact = _add_contact(person, draft)
    db_session.flush()
    return contact


def update_contact_method(*, db_session: Session, contact: ContactMethod, patch: ContactMethodUpdate) -> ContactMethod:
    changes = patch.changes()
    if "address" in changes:
        changes["address"] = normalize_address(contact.kind, changes["address"])
        _ensure_new_address(contact.person, contact.kind, changes["address"], ignore=contact)
    for name, value in changes.items():
        setattr(contact, name, value)
    db_session.flush()
    return contact


def delete_contact_method(*, db_session: Session, contact: ContactMethod) -> None:
    db_session.delete(contact)
    db_session.flush()


def _add_contact(person: Person, draft: ContactMethodCreate) -> ContactMethod:
    address = normalize_address(draft.kind, draft.address)
    _ensure_new_address(person, draft.kind, address)
    contact = ContactMethod(**{**draft.model_dump(), "address": address})
    person.contact_methods.append(contact)
    return contact


def _ensure_new_address(person: Person, kind: str, address: str, ignore: ContactMethod | None = None) -> None:
    if any(c.kind == kind and c.address == address for c in person.contact_methods if c is not ignore):
        raise Conflict(f"this person already has this {kind} contact", code="duplicate_contact_method")


def normalize_address(kind: str, address: str | dict) -> str:
    """The stored form of an address, or a 422 saying what is wrong with it."""
    if kind == "push":
        return _push_subscription(address)
    if not isinstance(address, str):
        raise Unprocessable(f"a {kind} address is a string", code="invalid_address")
    if kind == "sms":
        return sms_number(address)
    if kind == "email":
        return normalize_email(address)
    return _fcm_token(address)


def sms_number(text: str) -> str:
    """A number that can receive SMS, E.164; French national format by default."""
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        number = None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if number else ""
    fiction = e164.startswith(FICTION_MOBILE_PREFIX) and len(e164) == 12
    text = _shown(text)
    if not fiction and (number is None or not phonenumbers.is_valid_number(number)):
        raise Unprocessable(f"« {text} » n'est pas un numéro de téléphone valide (ex. : 06 12 34 56 78 ou "
                            "+32 470 12 34 56)", code="invalid_phone", details={"value": text})
    if phonenumbers.number_type(number) in NOT_FOR_SMS:
        raise Unprocessable(f"« {text} » ne peut pas recevoir de SMS (numéro fixe ou spécial) : indiquez un mobile",
                            code="not_a_mobile_number", details={"value": text})
    return e164


def normalize_email(text: str) -> str:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        text = _shown(text)
        raise Unprocessable(f"« {text} » n'est pas une adresse e-mail valide", code="invalid_email",
                            details={"value": text, "reason": str(exc)}) from None


def _shown(text: str) -> str:
    """A refused value as the message repeats it: short enough to read."""
    return text if len(text) <= 60 else text[:57] + "…"


def _push_subscription(value: str | dict) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    keys = value.get("keys") if isinstance(value, dict) else None
    endpoint = value.get("endpoint") if isinstance(value, dict) else None
    if not _is_http_url(endpoint) or not isinstance(keys, dict) or not all(
            isinstance(keys.get(k), str) and keys[k].strip() for k in ("p256dh", "auth")):
        raise Unprocessable("a push subscription is {endpoint: http(s) URL, keys: {p256dh, auth}}",
                            code="invalid_push_subscription")
    subscription = {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"].strip(), "auth": keys["auth"].strip()}}
    stored = json.dumps(subscription, separators=(",", ":"))
    if len(stored) > MAX_PUSH_SUBSCRIPTION:
        raise Unprocessable("this push subscription is too long", code="invalid_push_subscription")
    return stored


def _is_http_url(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _fcm_token(text: str) -> str:
    token = text.strip()
    if not token or len(token) > MAX_FCM_TOKEN:
        raise Unprocessable(f"an FCM token is 1 to {MAX_FCM_TOKEN} characters", code="invalid_fcm_token")
    return token


def ensure_members(*, db_session: Session, organization_id: int, person_ids: list[int]) -> None:
    """A roster or a list holds people of its own organization, each once."""
    duplicates = sorted(p for p, n in Counter(person_ids).items() if n > 1)
    if duplicates:
        raise Unprocessable("a person appears more than once", code="duplicate_person",
                            details={"person_ids": duplicates})
    found = set(db_session.scalars(select(Person.id).where(Person.id.in_(person_ids),
                                                           Person.organization_id == organization_id)))
    unknown = [p for p in person_ids if p not in found]
    if unknown:
        raise Unprocessable("these people are not in this organization's directory", code="unknown_person",
                            details={"person_ids": unknown})


def people_by_id(*, db_session: Session, person_ids: Iterable[int]) -> dict[int, Person]:
    ids = set(person_ids)
    if not ids:
        return {}
    return {p.id: p for p in db_session.scalars(select(Person).where(Person.id.in_(ids)))}
