"""The notification outbox: which channels reach a person, and the rows the dispatcher drains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.events.models import Event
from backend.orgs.models import Organization
from backend.outbox.models import Notification
from backend.people.models import ContactMethod, Person
from backend.signals import signals_of
from notifications.base import ChannelKind
from notifications.render import EventSummary, render

PUSH_KINDS = ("push", "fcm")


def channels_for(severity: int, purpose: str) -> tuple[tuple[str, ...], ...]:
    """Channel preferences, most wanted first; each inner tuple is "one of these" (DESIGN.md §2).

    Returns a tuple of alternatives-groups: every group is served by the first kind the
    person has.
    """
    if purpose in ("closing", "confirm"):
        return (("push", "fcm", "sms"),)
    if purpose == "inform" or severity <= 1:
        return (("email", "sms"),) if severity <= 1 else (("push", "fcm", "sms"), ("email",))
    if severity == 2:
        return (("push", "fcm", "sms"),)
    if severity == 3:
        return (("push", "fcm"), ("sms",))
    return (("push", "fcm"), ("sms",), ("email",))


def pick_contacts(person: Person, severity: int, purpose: str) -> list[ContactMethod]:
    usable = [cm for cm in person.contact_methods if cm.enabled]
    chosen: list[ContactMethod] = []
    for alternatives in channels_for(severity, purpose):
        for kind in alternatives:
            matches = [cm for cm in usable if cm.kind == kind]
            if matches:
                # Every device of the person gets the push; one number / one address otherwise.
                chosen.extend(matches if kind in PUSH_KINDS else matches[:1])
                break
    return chosen


def summary_of(event: Event, organization: Organization) -> EventSummary:
    return EventSummary(org_code=organization.code, number=event.number, severity=event.severity,
                        title=event.title, place=event.place, category=event.category,
                        description=event.description)


@dataclass(frozen=True)
class Queued:
    notification: Notification
    contact: ContactMethod


def enqueue(*, db_session: Session, event: Event, organization: Organization, person: Person, purpose: str,
            now: datetime, page_id: int | None = None, page_version: int | None = None,
            acked_by: str | None = None) -> list[Notification]:
    """Queue one notification per chosen contact method of `person`, due now."""
    summary = summary_of(event, organization)
    rows: list[Notification] = []
    for contact in pick_contacts(person, event.severity, purpose):
        rendered = render(purpose, ChannelKind(contact.kind), summary, person_name=person.display_name,
                          acked_by=acked_by)
        row = Notification(
            organization_id=event.organization_id, event_id=event.id, page_id=page_id, person_id=person.id,
            contact_method_id=contact.id, page_version=page_version, channel=contact.kind,
            address=contact.address, purpose=purpose, subject=rendered.subject, text=rendered.text,
            html=rendered.html, data={**rendered.data, "event_id": event.id, "page_id": page_id, "purpose": purpose},
            urgent=event.severity >= 3, status="queued", due_at=now, created_at=now,
        )
        db_session.add(row)
        rows.append(row)
    if rows:
        db_session.flush()
        signals = signals_of(db_session)
        if signals is not None:
            signals.work_due(db_session)
    return rows


def cancel_for_page(*, db_session: Session, page_id: int, purposes: tuple[str, ...] = ("solicit",)) -> int:
    """Solicitations still queued for a page that no longer needs them are not sent."""
    rows = db_session.scalars(
        select(Notification).where(Notification.page_id == page_id, Notification.status == "queued",
                                   Notification.purpose.in_(purposes))
    )
    count = 0
    for row in rows:
        row.status = "cancelled"
        row.due_at = None
        count += 1
    return count

