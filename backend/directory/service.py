"""Importing a commune's directory: a plan read from the file (who is made, who changes, every row's
errors), then the plan applied whole or not at all.

A row finds its person by matricule, else by e-mail, else by mobile. An empty cell never erases
what the directory holds; a number or address is added, never removed; a group named is joined at
the end of its roster, never left.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.auth.service import Principal
from backend.db import db_now
from backend.directory.csv_file import Sheet
from backend.directory.models import DirectoryImport
from backend.errors import NotFound, Unprocessable
from backend.groups.models import DistributionList, DistributionMember, GroupMember, OnCallGroup
from backend.orgs.models import Organization
from backend.people import service as people_service
from backend.people.models import ContactMethod, Person
from backend.privacy import service as privacy
from backend.privacy.models import PersonalDataAccess

LIMITS = {"last_name": 100, "first_name": 100, "employee_number": 50, "job_title": 200}
GROUP_SEPARATORS = re.compile(r"[,;|/\n]")


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class Item:
    row: int
    action: str  # create | update | unchanged
    person: Person | None
    values: dict[str, str]  # last_name, first_name, employee_number, job_title: the file's non-empty cells
    mobile: str | None = None  # E.164
    email: str | None = None
    groups: list[OnCallGroup | DistributionList] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # fields, "mobile", "email", "groups"

    @property
    def display_name(self) -> str:
        return f"{self.values.get('first_name', '')} {self.values.get('last_name', '')}".strip()


@dataclass
class Plan:
    organization: Organization
    sheet: Sheet
    items: list[Item]
    errors: list[RowError]

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item.action == action)


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold().strip()


class _Directory:
    """The commune's people, groups and lists, indexed the ways a row may name them."""

    def __init__(self, db_session: Session, organization_id: int):
        people = list(db_session.scalars(select(Person).options(selectinload(Person.contact_methods))
                                         .where(Person.organization_id == organization_id).order_by(Person.id)))
        self.by_number: dict[str, Person] = {p.employee_number: p for p in people if p.employee_number}
        self.by_email: dict[str, list[Person]] = {}
        self.by_mobile: dict[str, list[Person]] = {}
        for person in people:
            for contact in person.contact_methods:
                if contact.kind == "email":
                    self.by_email.setdefault(contact.address.casefold(), []).append(person)
                elif contact.kind == "sms":
                    self.by_mobile.setdefault(contact.address, []).append(person)
        self.groups: dict[str, OnCallGroup | DistributionList] = {}
        for dlist in db_session.scalars(select(DistributionList).options(selectinload(DistributionList.members))
                                        .where(DistributionList.organization_id == organization_id)):
            self.groups[_plain(dlist.name)] = dlist
        for group in db_session.scalars(select(OnCallGroup).options(selectinload(OnCallGroup.members))
                                        .where(OnCallGroup.organization_id == organization_id)):
            self.groups[_plain(group.name)] = group  # an on-call group wins over a list of the same name


def plan(*, db_session: Session, organization: Organization, sheet: Sheet) -> Plan:
    """What applying `sheet` would do; nothing is changed."""
    directory = _Directory(db_session, organization.id)
    items: list[Item] = []
    errors: list[RowError] = []
    numbers_seen: dict[str, int] = {}
    people_seen: dict[int, int] = {}
    column = sheet.headers.get
    for row, cells in sheet.rows:
        row_errors: list[RowError] = []

        def refuse(field_name: str, message: str, row=row, row_errors=row_errors) -> None:
            row_errors.append(RowError(row, column(field_name, field_name), message))

        values = {}
        for name, limit in LIMITS.items():
            text = cells.get(name, "")
            if not text and name in ("last_name", "first_name"):
                refuse(name, "obligatoire")
            elif len(text) > limit:
                refuse(name, f"{limit} caractères au plus")
            elif text:
                values[name] = text
        mobile = _checked(cells.get("mobile", ""), people_service.sms_number, lambda m: refuse("mobile", m))
        email = _checked(cells.get("email", ""), people_service.normalize_email, lambda m: refuse("email", m))
        groups = []
        for name in filter(None, (n.strip() for n in GROUP_SEPARATORS.split(cells.get("groups", "")))):
            group = directory.groups.get(_plain(name))
            if group is None:
                known = ", ".join(sorted(g.name for g in directory.groups.values())) or "aucun"
                refuse("groups", f"« {name[:60]} » n'est pas un groupe de la commune (groupes : {known})")
            elif group not in groups:
                groups.append(group)
        number = values.get("employee_number")
        if number is not None:
            if number in numbers_seen:
                refuse("employee_number", f"matricule déjà donné ligne {numbers_seen[number]}")
            numbers_seen.setdefault(number, row)
        person = _match(directory, number, email, mobile, refuse) if not row_errors else None
        if person is not None:
            if person.id in people_seen:
                refuse("employee_number" if number else "email" if email else "mobile",
                       f"cette personne ({person.display_name}) est déjà ligne {people_seen[person.id]}")
            people_seen.setdefault(person.id, row)
        if row_errors:
            errors.extend(row_errors)
            continue
        item = Item(row=row, action="create", person=person, values=values, mobile=mobile, email=email, groups=groups)
        if person is not None:
            item.changes = _changes(person, item)
            item.action = "update" if item.changes else "unchanged"
        items.append(item)
    return Plan(organization=organization, sheet=sheet, items=items, errors=errors)


def _checked(text: str, normalize, refuse) -> str | None:
    if not text:
        return None
    try:
        return normalize(text)
    except Unprocessable as exc:
        refuse(exc.message)
        return None


def _match(directory: _Directory, number: str | None, email: str | None, mobile: str | None, refuse) -> Person | None:
    if number is not None and number in directory.by_number:
        return directory.by_number[number]
    for field_name, found in (("email", directory.by_email.get(email.casefold()) if email else None),
                              ("mobile", directory.by_mobile.get(mobile) if mobile else None)):
        if not found:
            continue
        if len(found) > 1:
            names = ", ".join(p.display_name for p in found[:5])
            refuse(field_name, f"plusieurs personnes ont cette coordonnée ({names}) : ajoutez leur matricule")
            return None
        person = found[0]
        if number is not None and person.employee_number and person.employee_number != number:
            refuse("employee_number", f"la coordonnée est celle de {person.display_name}, matricule "
                                      f"{person.employee_number}, pas {number}")
            return None
        return person
    return None


def _changes(person: Person, item: Item) -> list[str]:
    changes = [name for name, value in item.values.items() if getattr(person, name) != value]
    addresses = {(c.kind, c.address.casefold()) for c in person.contact_methods}
    if item.mobile and ("sms", item.mobile.casefold()) not in addresses:
        changes.append("mobile")
    if item.email and ("email", item.email.casefold()) not in addresses:
        changes.append("email")
    if any(person.id not in {m.person_id for m in group.members} for group in item.groups):
        changes.append("groups")
    return changes


def apply(*, db_session: Session, principal: Principal, plan: Plan, filename: str) -> DirectoryImport:
    """Write the whole plan in the caller's transaction; a plan with errors writes nothing."""
    if plan.errors:
        raise ImportRefused(plan.errors)
    record = DirectoryImport(organization_id=plan.organization.id, at=db_now(db_session), user_id=principal.user.id,
                             user_label=f"{principal.user.full_name} ({principal.role})", filename=filename[:200],
                             rows=len(plan.items), created=plan.count("create"), updated=plan.count("update"),
                             unchanged=plan.count("unchanged"))
    db_session.add(record)
    db_session.flush()
    for item in plan.items:
        if item.action == "unchanged":
            continue
        person = item.person
        if person is None:
            person = Person(organization_id=plan.organization.id, **item.values)
            db_session.add(person)
        else:
            for name, value in item.values.items():
                setattr(person, name, value)
        if "mobile" in item.changes or (item.action == "create" and item.mobile):
            person.contact_methods.append(ContactMethod(kind="sms", address=item.mobile, label="import"))
        if "email" in item.changes or (item.action == "create" and item.email):
            person.contact_methods.append(ContactMethod(kind="email", address=item.email, label="import"))
        db_session.flush()
        for group in item.groups:
            if person.id in {m.person_id for m in group.members}:
                continue
            if isinstance(group, OnCallGroup):
                last = max((m.position for m in group.members), default=-1)
                group.members.append(GroupMember(person_id=person.id, position=last + 1))
            else:
                group.members.append(DistributionMember(person_id=person.id))
        privacy.record(db_session=db_session, principal=principal, person=person,
                       action="create" if item.action == "create" else "change",
                       what=",".join(item.changes), import_id=record.id)
        item.person = person
    db_session.flush()
    return record


class ImportRefused(Unprocessable):
    def __init__(self, errors: list[RowError]):
        rows = len({e.row for e in errors})
        super().__init__(f"{rows} ligne(s) en erreur : rien n'a été importé", code="import_has_errors",
                         details={"errors": [e.__dict__ for e in errors]})


def imports_of(*, db_session: Session, organization_id: int, limit: int = 100) -> list[DirectoryImport]:
    return list(db_session.scalars(select(DirectoryImport).where(DirectoryImport.organization_id == organization_id)
                                   .order_by(DirectoryImport.id.desc()).limit(limit)))


def get_import(*, db_session: Session, import_id: int, org_ids: frozenset[int]) -> DirectoryImport:
    found = db_session.scalar(select(DirectoryImport).where(DirectoryImport.id == import_id,
                                                            DirectoryImport.organization_id.in_(org_ids)))
    if found is None:
        raise NotFound("directory import")
    return found


def people_of_import(*, db_session: Session, import_id: int) -> list[tuple[PersonalDataAccess, Person]]:
    return list(db_session.execute(
        select(PersonalDataAccess, Person).join(Person, Person.id == PersonalDataAccess.person_id)
        .where(PersonalDataAccess.import_id == import_id).order_by(PersonalDataAccess.id)).all())
