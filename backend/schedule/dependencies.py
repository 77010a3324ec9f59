"""What the routes of a person on call share: the caller's own person."""

from __future__ import annotations

from backend.auth.service import Principal
from backend.errors import NotFound, Unprocessable
from backend.people.models import Person


def me(db, principal: Principal) -> Person:
    if principal.person_id is None:
        raise Unprocessable("this account is not linked to a person on call", code="no_person")
    person = db.get(Person, principal.person_id)
    if person is None or not person.active:
        raise NotFound("person")
    return person
