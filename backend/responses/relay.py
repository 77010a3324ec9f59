"""Groups that talk: a report-back from the field reaches the others engaged on the event.

Who hears it: everyone who took a solicitation of the event or reported back on it (any group), never
the author; for « terminé » and « renfort » also the people told of the event by an inform step (the
élu on call learns that it is over, or that it is getting worse). By which road: push where the person
has the app; a person without it (a basic phone) gets an SMS only for « terminé », « renfort » and a
written note — « en route », « sur place » and photos would be noise there. Never by e-mail. Each
relay is one `event.informed` entry naming who was told; the messages are information (« Pour
information — … »), they ask nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.events.models import Event
from backend.orgs.models import Organization
from backend.outbox import service as outbox_service
from backend.pages.models import Page
from backend.people.models import ContactMethod, Person
from backend.responses.models import Response
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.models import TraceEntry
from notifications import information

# `help_taken`: a cadre took the page for reinforcement — whoever called for it learns help is coming.
FIELD_KINDS = frozenset({"en_route", "on_site", "done", "need_help", "note", "photo", "help_taken"})
SMS_KINDS = frozenset({"done", "need_help", "note", "help_taken"})
TOLD_WHEN_INFORMED = frozenset({"done", "need_help"})
ENGAGING = ("ack", "en_route", "on_site", "done", "need_help", "note")


def engaged(*, db_session: Session, event_id: int) -> set[int]:
    """People who took a solicitation of the event or reported back on it."""
    took = db_session.scalars(select(Page.acknowledged_by_person_id).where(
        Page.event_id == event_id, Page.acknowledged_by_person_id.is_not(None)))
    reported = db_session.scalars(select(Response.person_id).where(
        Response.event_id == event_id, Response.person_id.is_not(None), Response.kind.in_(ENGAGING)))
    return {person_id for person_id in (*took, *reported) if person_id is not None}


def informed(*, db_session: Session, event_id: int) -> set[int]:
    """People an inform step of the procedure told of the event."""
    entries = db_session.scalars(select(TraceEntry.data).where(TraceEntry.event_id == event_id,
                                                               TraceEntry.kind == TraceKind.EVENT_INFORMED))
    return {p["person_id"] for data in entries if data.get("group_id") is not None
            for p in data.get("people", []) if p.get("person_id") is not None}


def roads(person: Person, kind: str) -> list[ContactMethod]:
    usable = [cm for cm in person.contact_methods if cm.enabled]
    push = [cm for cm in usable if cm.kind in outbox_service.PUSH_KINDS]
    if push:
        return push
    return [cm for cm in usable if cm.kind == "sms"][:1] if kind in SMS_KINDS else []


def group_of(*, db_session: Session, event_id: int, person_id: int) -> str | None:
    """The group the person answered for on this event (the first chain holding them)."""
    for policy in db_session.scalars(select(Page.policy).where(Page.event_id == event_id).order_by(Page.id)):
        for group in (policy or {}).get("chain", []):
            if person_id in group.get("members", []):
                return group.get("name")
    return None


def relay(*, db_session: Session, event: Event, kind: str, author_id: int | None, text: str, now: datetime,
          response_id: int | None = None, attachment_id: int | None = None,
          skip: set[int] | None = None) -> list[dict]:
    """Tell the others engaged on the event what `author_id` reported; the PC's own notes stay in the log."""
    if kind not in FIELD_KINDS or author_id is None:
        return []
    recipients = engaged(db_session=db_session, event_id=event.id)
    if kind in TOLD_WHEN_INFORMED:
        recipients |= informed(db_session=db_session, event_id=event.id)
    recipients -= {author_id, *(skip or ())}  # `skip`: the cadre just paged for this very call
    if not recipients:
        return []
    author = db_session.get(Person, author_id)
    organization = db_session.get(Organization, event.organization_id)
    if author is None or organization is None:
        return []
    words = information.report_back(kind, author.display_name,
                                   group_of(db_session=db_session, event_id=event.id, person_id=author_id), text)
    told = []
    people = db_session.scalars(select(Person).options(selectinload(Person.contact_methods))
                                .where(Person.id.in_(recipients), Person.active).order_by(Person.id))
    for person in people:
        contacts = roads(person, kind)
        if not contacts:
            continue
        rows = outbox_service.enqueue(db_session=db_session, event=event, organization=organization, person=person,
                                      purpose="inform", now=now, contacts=contacts, note=words)
        told.append({"person_id": person.id, "person": person.display_name,
                     "notifications": [{"id": r.id, "channel": r.channel} for r in rows]})
    if told:
        trace_service.append(db_session=db_session, event=event, kind=TraceKind.EVENT_INFORMED, at=now, data={
            "relay": kind, "response_id": response_id, "attachment_id": attachment_id, "from_person_id": author_id,
            "from": author.display_name, "text": words, "people": told})
    return told
