"""Answers of on-call staff: every path (app, push, SMS, e-mail, operator) ends here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import escalation as esc
from backend.db import db_now
from backend.errors import Conflict, NotFound, Unprocessable
from backend.events import contacts as event_contacts
from backend.events import service as event_service
from backend.events.models import Event, EventStatus
from backend.orgs.models import Organization
from backend.outbox import service as outbox_service
from backend.outbox.models import Notification, NotificationStatus
from backend.pages import service as page_service
from backend.pages.models import Page
from backend.people.models import Person
from backend.responses import reinforcement, relay
from backend.responses.models import Response
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.service import Actor

PAGE_KINDS = ("ack", "decline")


def record(*, db_session: Session, event: Event, kind: str, person_id: int | None, actor: Actor, via: str,
           text: str = "", page_id: int | None = None, on_behalf_by_user_id: int | None = None,
           reason: str = "", now: datetime | None = None, client_id: str | None = None) -> Response:
    """Record one answer; `event` is locked by the caller."""
    now = now or db_now(db_session)
    if event.status == EventStatus.CLOSED and kind in PAGE_KINDS:
        raise Conflict("the event is closed", code="event_closed")
    person = None
    if person_id is not None:
        person = db_session.get(Person, person_id)
        if person is None:
            raise NotFound("person")
        ensure_may_answer(db_session=db_session, event=event, person=person)
    if kind in PAGE_KINDS:
        pages = _target_pages(db_session=db_session, event=event, person_id=person_id, page_id=page_id, kind=kind,
                              on_behalf=on_behalf_by_user_id is not None, now=now)
        page_id = pages[0].id if len(pages) == 1 else page_id
    elif page_id is not None and db_session.scalar(
            select(Page.id).where(Page.id == page_id, Page.event_id == event.id)) is None:
        raise NotFound("page")  # a report-back names a page of this event, or none
    response = Response(event_id=event.id, page_id=page_id, person_id=person_id, kind=kind, text=text, via=via,
                        on_behalf_by_user_id=on_behalf_by_user_id, created_at=now, client_id=client_id)
    db_session.add(response)
    db_session.flush()
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.of_response(kind), actor=actor, at=now, data={
        "response_id": response.id, "page_id": page_id, "person_id": person_id,
        "person": person.display_name if person else None, "via": via, "text": text,
        "on_behalf": on_behalf_by_user_id is not None, "reason": reason,
    })
    if kind == "ack":
        for page in pages:
            page.acknowledged_by_person_id = person_id
            if page.status == esc.PageStatus.UNREACHED:
                _taken_after_the_alarm(db_session=db_session, event=event, page=page, now=now, actor=actor)
            else:
                page_service.apply_signal(db_session=db_session, event=event, page=page,
                                          signal=esc.Acknowledged(person_id), now=now, actor=actor)
            _close_the_loop(db_session=db_session, event=event, page=page, acked_by=_name(person, actor), now=now)
            if (page.policy or {}).get("help"):
                relay.relay(db_session=db_session, event=event, kind="help_taken", author_id=person_id, text="",
                            now=now, response_id=response.id)
        event_service.mark_acknowledged(db_session=db_session, event=event, now=now)
    elif kind == "decline":
        for page in pages:
            page_service.apply_signal(db_session=db_session, event=event, page=page,
                                      signal=esc.Declined(person_id, text), now=now, actor=actor)
    paged = None
    if kind == "need_help" and event.status != EventStatus.CLOSED:
        if on_behalf_by_user_id is not None:  # the operator typed it: the PC knows already
            response.noted_at, response.noted_by_user_id = now, on_behalf_by_user_id
        paged = reinforcement.call_for_help(db_session=db_session, event=event, response=response, person=person,
                                            now=now)
    relay.relay(db_session=db_session, event=event, kind=kind, author_id=person_id, text=text, now=now,
                response_id=response.id,
                skip={paged.current_person_id} if paged is not None and paged.current_person_id else set())
    return response


def _target_pages(*, db_session: Session, event: Event, person_id: int | None, page_id: int | None,
                  kind: str, on_behalf: bool, now: datetime) -> list[Page]:
    query = select(Page).where(Page.event_id == event.id).order_by(Page.id).with_for_update(key_share=True)
    if page_id is not None:
        query = query.where(Page.id == page_id)
    pages = list(db_session.scalars(query))
    if page_id is not None and not pages:
        raise NotFound("page")
    if person_id is not None:
        chained = [p for p in pages if _in_chain(p, person_id)]
        # Whoever is on call in the commune may phone the PC and take the event, chain or not.
        if not chained and not (on_behalf and event_contacts.is_on_call(
                db_session=db_session, organization_id=event.organization_id, person_id=person_id, at=now)):
            raise Unprocessable("this person was not solicited for this event", code="not_solicited")
        pages = chained or pages
    active = [p for p in pages if p.status == page_service.ACTIVE]
    if not active and on_behalf and kind == "ack":
        # Nobody answered in time: the PC phoned someone who takes it; the alarm ends there.
        active = [p for p in pages if p.status == esc.PageStatus.UNREACHED]
    if not active:
        acked = next((p for p in pages if p.status == esc.PageStatus.ACKNOWLEDGED), None)
        if acked is not None:
            who = db_session.get(Person, acked.acknowledged_by_person_id) if acked.acknowledged_by_person_id else None
            raise Conflict(f"already acknowledged{' by ' + who.display_name if who else ''}",
                           code="already_acknowledged")
        raise Conflict("no solicitation of this event is waiting for an answer", code="no_active_page")
    if kind == "decline" and person_id is None:
        raise Unprocessable("a decline needs the person who declines", code="person_required")
    return active


def _taken_after_the_alarm(*, db_session: Session, event: Event, page: Page, now: datetime, actor: Actor) -> None:
    """The planner is done with an unreached page; the PC's phone call closes it as acknowledged."""
    page.status = esc.PageStatus.ACKNOWLEDGED.value
    page.version += 1
    outbox_service.cancel_for_page(db_session=db_session, page_id=page.id)
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.PAGE_ACKNOWLEDGED, at=now, actor=actor,
                         data={"page_id": page.id, "reason": "acknowledged after the alarm"})


def ensure_may_answer(*, db_session: Session, event: Event, person: Person) -> None:
    """The commune's own people; a person of the métropole serving it (its astreinte de décision) only on an
    event whose solicitations chain them: only informed of it (an inform step), they read it, they do not
    answer it; anyone else is no one here."""
    if person.organization_id == event.organization_id:
        return
    served_by = db_session.scalar(select(Organization.served_by_id).where(Organization.id == event.organization_id))
    if served_by is None or person.organization_id != served_by:
        raise NotFound("person")
    pages = db_session.scalars(select(Page).where(Page.event_id == event.id))
    if not any(_in_chain(page, person.id) for page in pages):
        raise Unprocessable("this person was informed of this event, not asked to answer it",
                            code="not_solicited")


def _in_chain(page: Page, person_id: int) -> bool:
    return any(person_id in g["members"] for g in page.policy["chain"])


def _close_the_loop(*, db_session: Session, event: Event, page: Page, acked_by: str, now: datetime) -> None:
    """Everyone already reached for this page learns it is taken care of, by the road that reached them."""
    with db_session.no_autoflush:  # what was sent is already written; the answer's rows can wait for the commit
        reached = db_session.execute(
            select(Notification.person_id, Notification.contact_method_id)
            .where(Notification.page_id == page.id, Notification.purpose == "solicit",
                   Notification.status.in_((NotificationStatus.SENT, NotificationStatus.DELIVERED)))
            .order_by(Notification.id)).all()
    roads: dict[int, list[int]] = {}
    for person_id, contact_id in reached:
        if person_id is None or person_id == page.acknowledged_by_person_id:
            continue
        roads.setdefault(person_id, [])
        if contact_id is not None and contact_id not in roads[person_id]:
            roads[person_id].append(contact_id)
    if not roads:
        return
    organization = db_session.get(Organization, event.organization_id)
    # Everyone reached, with their contacts, in two statements (not two a person).
    people = {person.id: person for person in db_session.scalars(
        select(Person).where(Person.id.in_(list(roads))).options(selectinload(Person.contact_methods)))}
    for person_id, contact_ids in roads.items():
        person = people[person_id]
        contacts = [cm for cm in person.contact_methods if cm.id in contact_ids and cm.enabled]
        outbox_service.enqueue(db_session=db_session, event=event, organization=organization, person=person,
                               purpose="closing", now=now, page_id=page.id, acked_by=acked_by,
                               contacts=contacts or None)


def _name(person: Person | None, actor: Actor) -> str:
    return person.display_name if person else actor.label


def list_for_event(*, db_session: Session, event_id: int) -> list[Response]:
    return list(db_session.scalars(select(Response).where(Response.event_id == event_id).order_by(Response.id)))

