"""The logged-in person's push addresses: Web Push subscriptions and FCM tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from backend.deps import CurrentPrincipal, SessionDep
from backend.errors import NotFound, Unprocessable
from backend.orgs.schemas import Id
from backend.people import service as people_service
from backend.people.models import ContactMethod, Person
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["devices"])


class PushKeys(BaseModel):
    p256dh: Annotated[str, Field(min_length=1, max_length=200)]
    auth: Annotated[str, Field(min_length=1, max_length=100)]


class PushSubscriptionIn(BaseModel):
    endpoint: Annotated[str, Field(min_length=8, max_length=1000)]
    keys: PushKeys
    label: Annotated[str, Field(max_length=100)] = ""


class FcmTokenIn(BaseModel):
    token: Annotated[str, Field(min_length=1, max_length=4096)]
    label: Annotated[str, Field(max_length=100)] = ""


class DeviceOut(BaseModel):
    id: int
    kind: str
    label: str
    enabled: bool


class VapidKeyOut(BaseModel):
    public_key: str


@router.get("/push/vapid-public-key", response_model=VapidKeyOut)
def vapid_public_key(request: Request):
    """The applicationServerKey the PWA subscribes with (public by nature)."""
    keys = request.app.state.runtime.vapid
    if keys is None:
        raise NotFound("web push")
    return {"public_key": keys.public_key}


def _me(db, principal) -> Person:
    if principal.person_id is None:
        raise Unprocessable("this account is not linked to a person on call", code="no_person")
    person = db.get(Person, principal.person_id)
    if person is None:
        raise NotFound("person")
    return person


def _register(db, person: Person, kind: str, address, label: str) -> ContactMethod:
    stored = people_service.normalize_address(kind, address)
    existing = db.scalar(select(ContactMethod).where(ContactMethod.person_id == person.id,
                                                     ContactMethod.kind == kind, ContactMethod.address == stored))
    if existing is not None:
        existing.enabled = True
        existing.label = label or existing.label
        return existing
    contact = ContactMethod(person_id=person.id, kind=kind, address=stored, label=label, is_personal=True)
    db.add(contact)
    db.flush()
    return contact


@router.post("/me/push-subscriptions", status_code=201, response_model=DeviceOut)
def register_push_subscription(body: PushSubscriptionIn, db: SessionDep, principal: CurrentPrincipal):
    contact = _register(db, _me(db, principal), "push", body.model_dump(exclude={"label"}), body.label)
    return contact


@router.post("/me/fcm-tokens", status_code=201, response_model=DeviceOut)
def register_fcm_token(body: FcmTokenIn, db: SessionDep, principal: CurrentPrincipal):
    return _register(db, _me(db, principal), "fcm", body.token, body.label)


@router.get("/me/push-subscriptions", response_model=list[DeviceOut])
def list_my_push_subscriptions(db: SessionDep, principal: CurrentPrincipal):
    person = _me(db, principal)
    return [c for c in person.contact_methods if c.kind in ("push", "fcm")]


@router.delete("/me/push-subscriptions/{contact_id}", status_code=204)
def remove_my_push_subscription(contact_id: Id, db: SessionDep, principal: CurrentPrincipal):
    person = _me(db, principal)
    contact = db.get(ContactMethod, contact_id)
    if contact is None or contact.person_id != person.id or contact.kind not in ("push", "fcm"):
        raise NotFound("device")
    db.delete(contact)
    return Response(status_code=204)
