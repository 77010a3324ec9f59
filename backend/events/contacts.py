"""Whom the PC may phone about an event, and at which mobile: the people of its solicitations' chains,
then everyone on call in the commune now (each group's roster at that instant, the holder of the turn first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from backend.events.models import Event
from backend.groups.models import OnCallGroup
from backend.outbox.models import Notification
from backend.pages.models import Page
from backend.people.models import Person
from backend.privacy.models import PersonalDataAccess
from backend.schedule import service as schedule_service


@dataclass
class Contact:
    person_id: int
    display_name: str
    mobile: str | None
    groups: list[str] = field(default_factory=list)
    in_chain: bool = False
    solicited: bool = False
    holds_turn: bool = False


def on_call_now(*, db_session: Session, organization_id: int, at: datetime) -> list[tuple[OnCallGroup, tuple[int, ...]]]:
    """Each on-call group of the commune with its roster at `at` (the holder of the turn first)."""
    groups = db_session.scalars(select(OnCallGroup).options(selectinload(OnCallGroup.members))
                                .where(OnCallGroup.organization_id == organization_id).order_by(OnCallGroup.id))
    return [(group, schedule_service.roster_at(db_session=db_session, group=group,
                                               members=tuple(m.person_id for m in group.members), at=at))
            for group in groups]


def is_on_call(*, db_session: Session, organization_id: int, person_id: int, at: datetime) -> bool:
    person = db_session.get(Person, person_id)
    return person is not None and person.active and any(
        person_id in roster for _, roster in on_call_now(db_session=db_session, organization_id=organization_id, at=at))


def for_event(*, db_session: Session, event: Event, at: datetime) -> list[Contact]:
    pages = list(db_session.scalars(select(Page).where(Page.event_id == event.id).order_by(Page.id)))
    solicited = list(dict.fromkeys(person_id for person_id in db_session.scalars(
        select(Notification.person_id).where(Notification.event_id == event.id, Notification.purpose == "solicit")
        .order_by(Notification.id)) if person_id is not None))
    order: dict[int, Contact] = {}
    groups_of: dict[int, list[str]] = {}

    def note_group(person_id: int, name: str) -> None:
        names = groups_of.setdefault(person_id, [])
        if name not in names:
            names.append(name)

    chain: list[int] = []
    for page in pages:
        for group in page.policy.get("chain", []):
            for person_id in group["members"]:
                note_group(person_id, group["name"])
                chain.append(person_id)
    holders: set[int] = set()
    rostered: list[int] = []
    for group, roster in on_call_now(db_session=db_session, organization_id=event.organization_id, at=at):
        holder = schedule_service.holder_at(db_session=db_session, group=group, at=at)
        if holder is not None:
            holders.add(holder)
        for person_id in roster:
            note_group(person_id, group.name)
            rostered.append(person_id)
    ids = list(dict.fromkeys([*solicited, *chain, *rostered]))
    people = {p.id: p for p in db_session.scalars(select(Person).options(selectinload(Person.contact_methods))
                                                   .where(Person.id.in_(ids),
                                                          # the métropole's astreinte de décision, when chained
                                                          or_(Person.organization_id == event.organization_id,
                                                              Person.id.in_(chain))))}
    in_chain, was_solicited = set(chain), set(solicited)
    for person_id in ids:
        person = people.get(person_id)
        if person is None or (not person.active and person_id not in in_chain):
            continue
        order[person_id] = Contact(person_id=person.id, display_name=person.display_name, mobile=mobile_of(person),
                                   groups=groups_of.get(person_id, []), in_chain=person_id in in_chain,
                                   solicited=person_id in was_solicited, holds_turn=person_id in holders)
    return list(order.values())


def mobile_of(person: Person) -> str | None:
    numbers = [c for c in person.contact_methods if c.kind == "sms"]
    enabled = [c for c in numbers if c.enabled]
    return (enabled or numbers)[0].address if numbers else None


def log_reading(*, db_session: Session, user_id: int, user_label: str, organization_id: int, contacts: list[Contact],
                event: Event, at: datetime) -> None:
    """Who read whose number, once per reader, person and event (the board reads them again at every change)."""
    what = f"mobile, event {event.number}"
    shown = [c.person_id for c in contacts if c.mobile]
    if not shown:
        return
    logged = set(db_session.scalars(select(PersonalDataAccess.person_id).where(
        PersonalDataAccess.user_id == user_id, PersonalDataAccess.what == what,
        PersonalDataAccess.person_id.in_(shown))))
    for person_id in shown:
        if person_id not in logged:
            db_session.add(PersonalDataAccess(at=at, organization_id=organization_id, person_id=person_id,
                                              user_id=user_id, user_label=user_label, action="read", what=what))
