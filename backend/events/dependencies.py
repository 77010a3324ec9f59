"""What the routes about an event share: who acts, and the event the caller may see."""

from __future__ import annotations

from backend.auth.service import Principal
from backend.errors import NotFound
from backend.events import service as event_service
from backend.events.models import Event
from backend.trace.service import Actor


def actor_of(principal: Principal) -> Actor:
    if principal.role == "oncall" and principal.person_id is not None:
        return Actor("person", principal.person_id, principal.user.full_name)
    return Actor("user", principal.user.id, principal.user.full_name)


def visible_event(db, principal: Principal, event_id: int, *, lock: bool = False) -> Event:
    """The event, if the caller's communes hold it; for a person on call, if they were notified of it (a person
    of the métropole: if they were paged or informed for it, `event_service.person_scope`)."""
    if principal.role != "oncall":
        return event_service.get(db_session=db, event_id=event_id, org_ids=principal.org_ids, lock=lock)
    if principal.person_id is None:
        raise NotFound("event")
    return event_service.get(db_session=db, event_id=event_id, org_ids=principal.org_ids, lock=lock,
                             person_id=principal.person_id)
