"""A person who left is pseudonymised: their name, numbers and addresses leave Vigie, and every
event's main courante still verifies (backend/trace/sealing.py).

What goes: the person's name (« Personne n°12 » instead), job title and contact methods; their
accounts' names and e-mails; the addresses and texts of messages sent to them and of SMS they sent;
in every trace entry of their commune, the actor's name and any string of its data naming them or
holding one of their numbers or addresses, replaced by a marker. What stays: ids (the pay already
made refers to them), the employee number (payroll's own records are kept apart), and what
happened and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.enrolment import service as enrolment_service
from backend.errors import Conflict
from backend.inbound.models import InboundSms
from backend.outbox.models import Notification
from backend.people.models import Person
from backend.trace import sealing
from backend.trace.models import GroupTraceEntry, TraceEntry

BATCH = 1000


@dataclass
class Pseudonymised:
    entries: int = 0  # trace entries that lost a name, a number or an address
    values: int = 0  # strings replaced in them
    unsealed: int = 0  # entries of version 1 naming the person: left as they were (see the README)


def pseudonymise(*, db_session: Session, person: Person, now: datetime) -> Pseudonymised:
    if person.active:
        raise Conflict("deactivate the person before pseudonymising them", code="person_active")
    marker = f"⟦personne {person.id}⟧"
    needles = _needles(person)
    done = Pseudonymised()
    for model in (TraceEntry, GroupTraceEntry):
        last = 0
        while True:
            entries: list = list(db_session.scalars(select(model).where(
                model.organization_id == person.organization_id, model.id > last).order_by(model.id).limit(BATCH)))
            for entry in entries:
                _pseudonymise_entry(entry, person.id, needles, marker, done)
            if len(entries) < BATCH:
                break
            last = entries[-1].id
    enrolment_service.withdraw_access(db_session=db_session, person_id=person.id, now=now)
    db_session.execute(update(Notification).where(Notification.person_id == person.id).values(
        address="", subject="", text="", html=None, data={}))
    db_session.execute(update(InboundSms).where(InboundSms.person_id == person.id).values(sender="", text=""))
    for user in db_session.scalars(select(User).where(User.person_id == person.id)):
        user.full_name, user.email, user.password_hash = marker, f"user-{user.id}@pseudonymised.invalid", None
    person.first_name, person.last_name, person.job_title = "Personne", f"n°{person.id}", ""
    person.email_copies = False
    person.contact_methods.clear()
    db_session.flush()
    return done


def _needles(person: Person) -> list[str]:
    found = {person.display_name, f"{person.last_name} {person.first_name}"}
    found.update(contact.address for contact in person.contact_methods if contact.kind in ("sms", "email"))
    return sorted((n for n in found if len(n.strip()) >= 3), key=len, reverse=True)


def _pseudonymise_entry(entry, person_id: int, needles: list[str], marker: str, done: Pseudonymised) -> None:
    by_them = entry.actor_type == "person" and entry.actor_id == person_id
    label_hit = by_them or any(n in entry.actor_label for n in needles)
    hits = [(path, value) for path, value in sealing.strings(entry.data)
            if any(n in value for n in needles) and not sealing.MARKER.match(value)]
    if not label_hit and not hits:
        return
    if entry.salt is None:
        done.unsealed += 1
        return
    sealed = dict(entry.sealed or {})
    if label_hit and not sealing.MARKER.match(entry.actor_label):
        sealed[sealing.ACTOR] = sealing.commitment(entry.salt, sealing.ACTOR, entry.actor_label)
        entry.actor_label = marker
        done.values += 1
    data = entry.data
    for path, value in hits:
        sealed[path] = sealing.commitment(entry.salt, path, value)
        data = sealing.replace(data, path, marker)
        done.values += 1
    entry.data = data
    entry.sealed = sealed
    done.entries += 1
