"""Answers that come back by SMS: who sent it, which page it is about, and the reply to send."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.errors import VigieError
from backend.events.models import Event, EventStatus
from backend.groups.models import OnCallGroup
from backend.inbound.models import InboundSms
from backend.orgs.models import Organization
from backend.outbox import service as outbox_service
from backend.outbox.models import Notification
from backend.pages.models import Page
from backend.people.models import ContactMethod, Person
from backend.responses import service as response_service
from backend.trace.service import Actor
from backend.watch import service as watch_service
from escalation.planner import PageStatus
from notifications import notice as notices
from notifications import sms_reply as replies
from notifications.sms_reply import parse_reply

log = logging.getLogger("vigie.inbound")

@dataclass(frozen=True)
class InboundResult:
    outcome: str
    detail: str = ""


def normalize_number(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw.strip(), "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def handle_sms(*, db_session: Session, sender: str, text: str, now: datetime) -> InboundResult:
    number = normalize_number(sender)
    contacts = list(db_session.scalars(
        select(ContactMethod).join(Person).where(ContactMethod.kind == "sms", ContactMethod.enabled,
                                                 ContactMethod.address == (number or sender), Person.active)
        .options(selectinload(ContactMethod.person))))
    if not contacts:
        # Nothing goes back to an unknown number: it learns nothing about who is on call.
        log.warning("SMS from unknown sender %s ignored", sender)
        return _log(db_session, sender, text, now, "unknown_sender", "no active person has this number")
    people = {cm.person_id: cm for cm in contacts}
    reply = parse_reply(text)
    solicited = _solicited_pages(db_session, list(people))
    pages = [(page, pid) for page, pid in solicited
             if page.status == PageStatus.ACTIVE or page.acknowledged_by_person_id == pid]
    if reply.kind == "ack" and not reply.code and not any(page.status == PageStatus.ACTIVE for page, _ in solicited):
        turn = watch_service.waiting_for(db_session=db_session, person_ids=list(people))
        if turn is not None:
            return _confirm_watch(db_session, turn, people[turn.person_id], sender, text, now)
    if reply.code:
        named = [(page, pid) for page, pid in solicited if page.reply_code == reply.code]
        if not named:
            _answer(db_session, pages or solicited, people, now,
                    replies.unknown_code(reply.code, _codes(db_session, pages)))
            return _log(db_session, sender, text, now, "unknown_code", reply.code)
        pages = named[:1]
    elif reply.kind in ("ack", "decline"):
        waiting = [(page, pid) for page, pid in pages if page.status == PageStatus.ACTIVE]
        # Nothing waiting: answer about the latest one, so the person learns who took it.
        pages = waiting or pages or solicited[:1]
    elif not pages:
        pages = solicited[:1]
    if not pages:
        return _log(db_session, sender, text, now, "no_page", "no open solicitation for this number",
                    person_id=contacts[0].person_id)
    if len(pages) > 1:
        _answer(db_session, pages, people, now, replies.ambiguous(_codes(db_session, pages)))
        return _log(db_session, sender, text, now, "ambiguous", f"{len(pages)} open pages",
                    person_id=pages[0][1])
    page, person_id = pages[0]
    person = people[person_id].person
    event = db_session.scalar(select(Event).where(Event.id == page.event_id).with_for_update(key_share=True))
    try:
        with db_session.begin_nested():
            response_service.record(db_session=db_session, event=event, kind=reply.kind, person_id=person_id,
                                    actor=Actor("person", person_id, person.display_name), via="sms",
                                    text=reply.text, page_id=page.id, reason=reply.text, now=now)
    except VigieError as refusal:
        taken_by = (db_session.get(Person, page.acknowledged_by_person_id).display_name
                    if page.acknowledged_by_person_id else None)
        _answer(db_session, [(page, person_id)], people, now, replies.refused(refusal.code, taken_by=taken_by))
        return _log(db_session, sender, text, now, "refused", refusal.code, person_id=person_id, page_id=page.id)
    _answer(db_session, [(page, person_id)], people, now, replies.received(reply))
    return _log(db_session, sender, text, now, "accepted", reply.kind, person_id=person_id, page_id=page.id)


def _confirm_watch(db_session: Session, turn, contact: ContactMethod, sender: str, text: str,
                   now: datetime) -> InboundResult:
    """`OK` while nothing is being asked of the person: they confirm taking the watch."""
    watch_service.confirm(db_session=db_session, row=turn, person_id=contact.person_id, via="sms", now=now)
    group = db_session.get(OnCallGroup, turn.group_id)
    organization = db_session.get(Organization, turn.organization_id)
    outbox_service.enqueue_notice(db_session=db_session, organization_id=organization.id, person=contact.person,
                                  notice=notices.watch_confirmed(org_code=organization.code, group=group.name),
                                  now=now, contacts=[contact])
    return _log(db_session, sender, text, now, "watch_confirmed", str(turn.id), person_id=contact.person_id)


def _solicited_pages(db_session: Session, person_ids: list[int]) -> list[tuple[Page, int]]:
    """Pages this number was solicited for whose event is still open, the latest first."""
    rows = db_session.execute(
        select(Page, Notification.person_id).join(Notification, Notification.page_id == Page.id)
        .join(Event, Event.id == Page.event_id)
        .where(Notification.person_id.in_(person_ids), Notification.purpose == "solicit",
               Event.status != EventStatus.CLOSED)
        .order_by(Page.started_at.desc(), Page.id.desc())).all()
    seen, pages = set(), []
    for page, person_id in rows:
        if page.id not in seen:
            seen.add(page.id)
            pages.append((page, person_id))
    return pages


def _codes(db_session: Session, pages: list[tuple[Page, int]]) -> list[tuple[str, str]]:
    return [(page.reply_code or "", db_session.get(Event, page.event_id).title) for page, _ in pages[:4]]


def _answer(db_session: Session, pages: list[tuple[Page, int]], people: dict[int, ContactMethod],
            now: datetime, note: str) -> None:
    """One SMS back to the number that wrote, about the most recent page concerned."""
    if not pages:
        return
    page, person_id = pages[0]
    contact = people[person_id]
    event = db_session.get(Event, page.event_id)
    organization = db_session.get(Organization, event.organization_id)
    person = db_session.get(Person, person_id)
    outbox_service.enqueue(db_session=db_session, event=event, organization=organization, person=person,
                           purpose="confirm", now=now, page_id=page.id, contacts=[contact], note=note)


def _log(db_session: Session, sender: str, text: str, now: datetime, outcome: str, detail: str = "",
         person_id: int | None = None, page_id: int | None = None) -> InboundResult:
    db_session.add(InboundSms(received_at=now, sender=sender[:32], text=text, outcome=outcome, detail=detail or "",
                              person_id=person_id, page_id=page_id))
    return InboundResult(outcome, detail or "")
