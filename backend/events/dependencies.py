"""What the routes about an event share: who acts, and the event the caller may see."""

from __future__ import annotations

from sqlalchemy import select

from backend.auth.service import Principal
from backend.errors import NotFound
from backend.events import service as event_service
from backend.events.models import Event
from backend.outbox.models import Notification
from backend.trace.service import Actor


def actor_of(principal: Principal) -> Actor:
    if principal.role == "oncall" and principal.person_id is not None:
        return Actor("person", principal.person_id, principal.user.full_name)
    return Actor("user", principal.user.id, principal.user.full_name)


def visible_event(db, principal: Principal, event_id: int, *, lock: bool = False) -> Event:
    """The event, if the caller's communes hold it and, for a person on call, they were notified of it."""
    event = event_service.get(db_session=db, event_id=event_id, org_ids=principal.org_ids, lock=lock)
    if principal.role == "oncall":
        involved = db.scalar(select(Notification.id).where(Notification.event_id == event.id,
                                                           Notification.person_id == principal.person_id).limit(1))
        if involved is None:
            raise NotFound("event")
    return event
