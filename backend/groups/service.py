"""On-call groups with their ordered rosters, and distribution lists: scoped, same-organization members."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.errors import Conflict, NotFound
from backend.groups.models import DistributionList, DistributionMember, GroupMember, OnCallGroup
from backend.groups.schemas import DistributionListUpdate, GroupUpdate
from backend.pages.models import Page
from backend.people import service as people_service
from backend.people.models import Person
from backend.procedures.models import Procedure, ProcedureReportList, ProcedureStep


def get_group(*, db_session: Session, group_id: int, org_ids: frozenset[int]) -> OnCallGroup:
    group = db_session.scalar(select(OnCallGroup).options(selectinload(OnCallGroup.members))
                              .where(OnCallGroup.id == group_id, OnCallGroup.organization_id.in_(org_ids)))
    if group is None:
        raise NotFound("group")
    return group


def list_groups(*, db_session: Session, org_ids: frozenset[int], organization_id: int | None = None
                ) -> list[OnCallGroup]:
    query = select(OnCallGroup).options(selectinload(OnCallGroup.members)).where(
        OnCallGroup.organization_id.in_(org_ids))
    if organization_id is not None:
        query = query.where(OnCallGroup.organization_id == organization_id)
    return list(db_session.scalars(query.order_by(OnCallGroup.name, OnCallGroup.id)))


def create_group(*, db_session: Session, organization_id: int, name: str, kind: str,
                 person_ids: list[int]) -> OnCallGroup:
    group = OnCallGroup(organization_id=organization_id, name=name, kind=kind)
    db_session.add(group)
    set_roster(db_session=db_session, group=group, person_ids=person_ids)
    return group


def update_group(*, db_session: Session, group: OnCallGroup, patch: GroupUpdate) -> OnCallGroup:
    changes = patch.changes()
    for name, value in changes.items():
        setattr(group, name, value)
    db_session.flush()
    return group


def set_roster(*, db_session: Session, group: OnCallGroup, person_ids: list[int]) -> OnCallGroup:
    """Replace the roster with `person_ids`, in this order."""
    people_service.ensure_members(db_session=db_session, organization_id=group.organization_id,
                                  person_ids=person_ids)
    # Keep the rows of people who stay: the unit of work inserts before it deletes, and a
    # person removed then re-added in one flush would break the (group, person) unique key.
    current = {m.person_id: m for m in group.members}
    members = []
    for position, person_id in enumerate(person_ids):
        member = current.get(person_id) or GroupMember(person_id=person_id)
        member.position = position
        members.append(member)
    group.members = members
    db_session.flush()
    return group


def delete_group(*, db_session: Session, group: OnCallGroup) -> None:
    procedures = list(db_session.scalars(
        select(Procedure.category).join(ProcedureStep, ProcedureStep.procedure_id == Procedure.id)
        .where(ProcedureStep.group_id == group.id).distinct().order_by(Procedure.category)))
    if procedures:
        raise Conflict("procedures use this group: change them first", code="group_in_use",
                       details={"procedures": procedures})
    if db_session.scalar(select(Page.id).where(Page.current_group_id == group.id).limit(1)) is not None:
        raise Conflict("this group was solicited for events and is kept for their record", code="group_in_use")
    db_session.delete(group)
    db_session.flush()


def get_list(*, db_session: Session, list_id: int, org_ids: frozenset[int]) -> DistributionList:
    dlist = db_session.scalar(select(DistributionList).options(selectinload(DistributionList.members))
                              .where(DistributionList.id == list_id, DistributionList.organization_id.in_(org_ids)))
    if dlist is None:
        raise NotFound("distribution list")
    return dlist


def list_lists(*, db_session: Session, org_ids: frozenset[int], organization_id: int | None = None
               ) -> list[DistributionList]:
    query = select(DistributionList).options(selectinload(DistributionList.members)).where(
        DistributionList.organization_id.in_(org_ids))
    if organization_id is not None:
        query = query.where(DistributionList.organization_id == organization_id)
    return list(db_session.scalars(query.order_by(DistributionList.name, DistributionList.id)))


def create_list(*, db_session: Session, organization_id: int, name: str, person_ids: list[int]) -> DistributionList:
    dlist = DistributionList(organization_id=organization_id, name=name)
    db_session.add(dlist)
    set_list_members(db_session=db_session, dlist=dlist, person_ids=person_ids)
    return dlist


def update_list(*, db_session: Session, dlist: DistributionList, patch: DistributionListUpdate) -> DistributionList:
    changes = patch.changes()
    for name, value in changes.items():
        setattr(dlist, name, value)
    db_session.flush()
    return dlist


def set_list_members(*, db_session: Session, dlist: DistributionList, person_ids: list[int]) -> DistributionList:
    people_service.ensure_members(db_session=db_session, organization_id=dlist.organization_id,
                                  person_ids=person_ids)
    current = {m.person_id: m for m in dlist.members}
    dlist.members = [current.get(p) or DistributionMember(person_id=p) for p in person_ids]
    db_session.flush()
    return dlist


def delete_list(*, db_session: Session, dlist: DistributionList) -> None:
    procedures = list(db_session.scalars(
        select(Procedure.category).join(ProcedureReportList, ProcedureReportList.procedure_id == Procedure.id)
        .where(ProcedureReportList.list_id == dlist.id).order_by(Procedure.category)))
    if procedures:
        raise Conflict("procedures send their reports to this list: change them first", code="list_in_use",
                       details={"procedures": procedures})
    db_session.delete(dlist)
    db_session.flush()


def group_views(*, db_session: Session, groups: list[OnCallGroup]) -> list[dict]:
    """Groups with their roster in order and each member's name."""
    people = people_service.people_by_id(db_session=db_session,
                                         person_ids=(m.person_id for g in groups for m in g.members))
    return [{"id": g.id, "organization_id": g.organization_id, "name": g.name, "kind": g.kind,
             "created_at": g.created_at,
             "members": [{"position": m.position, **_member(people[m.person_id])} for m in g.members]}
            for g in groups]


def list_views(*, db_session: Session, dlists: list[DistributionList]) -> list[dict]:
    """Distribution lists with their members sorted by name."""
    people = people_service.people_by_id(db_session=db_session,
                                         person_ids=(m.person_id for d in dlists for m in d.members))
    return [{"id": d.id, "organization_id": d.organization_id, "name": d.name, "created_at": d.created_at,
             "members": [_member(p) for p in sorted((people[m.person_id] for m in d.members), key=_by_name)]}
            for d in dlists]


def _member(person: Person) -> dict:
    return {"person_id": person.id, "name": person.display_name, "active": person.active}


def _by_name(person: Person) -> tuple:
    return person.last_name, person.first_name, person.id
