"""On-call groups and distribution lists over HTTP: staff read, admins and the commune's referent write."""

from __future__ import annotations

from fastapi import APIRouter

from backend.auth.service import Principal
from backend.deps import SessionDep, Staff
from backend.groups import escalation as group_rules
from backend.groups import schemas
from backend.groups import service as group_service
from backend.groups.dependencies import editable_group, editable_list
from backend.groups.models import DistributionList, OnCallGroup
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.people import service as people_service
from backend.privacy import service as privacy
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["groups"])


def record_membership(db, principal: Principal, before: set[int], after: set[int]) -> None:
    """Joining or leaving a group is in each person's change history."""
    for person in people_service.people_by_id(db_session=db, person_ids=before ^ after).values():
        privacy.record(db_session=db, principal=principal, person=person, action="change", what="groups")


def group_out(db, group: OnCallGroup) -> dict:
    return group_service.group_views(db_session=db, groups=[group])[0]


def list_out(db, dlist: DistributionList) -> dict:
    return group_service.list_views(db_session=db, dlists=[dlist])[0]


@router.get("/groups", response_model=list[schemas.GroupOut])
def list_groups(db: SessionDep, principal: Staff, organization_id: Id | None = None):
    if organization_id is not None:
        org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    groups = group_service.list_groups(db_session=db, org_ids=principal.org_ids, organization_id=organization_id)
    return group_service.group_views(db_session=db, groups=groups)


@router.get("/organizations/{organization_id}/escalation-groups", response_model=list[schemas.EscalationGroupOut],
            summary="The groups a commune's procedure or an event without one may name: its own, then the "
                    "métropole's that serves it")
def list_escalation_groups(organization_id: Id, db: SessionDep, principal: Staff):
    org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    return group_rules.eligible_groups(db_session=db, organization_id=organization_id)


@router.post("/groups", status_code=201, response_model=schemas.GroupOut)
def create_group(body: schemas.GroupCreate, db: SessionDep, principal: Staff):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=body.organization_id)
    group = group_service.create_group(db_session=db, organization_id=organization.id, name=body.name,
                                       kind=body.kind, person_ids=body.person_ids)
    return group_out(db, group)


@router.get("/groups/{group_id}", response_model=schemas.GroupOut)
def read_group(group_id: Id, db: SessionDep, principal: Staff):
    return group_out(db, group_service.get_group(db_session=db, group_id=group_id, org_ids=principal.org_ids))


@router.patch("/groups/{group_id}", response_model=schemas.GroupOut)
def update_group(group_id: Id, body: schemas.GroupUpdate, db: SessionDep, principal: Staff):
    group = editable_group(db, principal, group_id)
    return group_out(db, group_service.update_group(db_session=db, group=group, patch=body))


@router.delete("/groups/{group_id}", status_code=204, summary="Delete a group no procedure uses")
def delete_group(group_id: Id, db: SessionDep, principal: Staff):
    group_service.delete_group(db_session=db, group=editable_group(db, principal, group_id))


@router.put("/groups/{group_id}/roster", response_model=schemas.GroupOut, summary="Replace the ordered roster")
def set_roster(group_id: Id, body: schemas.PersonIdsIn, db: SessionDep, principal: Staff):
    group = editable_group(db, principal, group_id)
    before = {m.person_id for m in group.members}
    group = group_service.set_roster(db_session=db, group=group, person_ids=body.person_ids)
    record_membership(db, principal, before, set(body.person_ids))
    return group_out(db, group)


@router.get("/distribution-lists", response_model=list[schemas.DistributionListOut])
def list_distribution_lists(db: SessionDep, principal: Staff, organization_id: Id | None = None):
    if organization_id is not None:
        org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    dlists = group_service.list_lists(db_session=db, org_ids=principal.org_ids, organization_id=organization_id)
    return group_service.list_views(db_session=db, dlists=dlists)


@router.post("/distribution-lists", status_code=201, response_model=schemas.DistributionListOut)
def create_distribution_list(body: schemas.DistributionListCreate, db: SessionDep, principal: Staff):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=body.organization_id)
    dlist = group_service.create_list(db_session=db, organization_id=organization.id, name=body.name,
                                      person_ids=body.person_ids)
    return list_out(db, dlist)


@router.get("/distribution-lists/{list_id}", response_model=schemas.DistributionListOut)
def read_distribution_list(list_id: Id, db: SessionDep, principal: Staff):
    return list_out(db, group_service.get_list(db_session=db, list_id=list_id, org_ids=principal.org_ids))


@router.patch("/distribution-lists/{list_id}", response_model=schemas.DistributionListOut)
def update_distribution_list(list_id: Id, body: schemas.DistributionListUpdate, db: SessionDep, principal: Staff):
    dlist = editable_list(db, principal, list_id)
    return list_out(db, group_service.update_list(db_session=db, dlist=dlist, patch=body))


@router.delete("/distribution-lists/{list_id}", status_code=204, summary="Delete a list no procedure reports to")
def delete_distribution_list(list_id: Id, db: SessionDep, principal: Staff):
    group_service.delete_list(db_session=db, dlist=editable_list(db, principal, list_id))


@router.put("/distribution-lists/{list_id}/members", response_model=schemas.DistributionListOut,
            summary="Replace the members")
def set_distribution_list_members(list_id: Id, body: schemas.PersonIdsIn, db: SessionDep, principal: Staff):
    dlist = editable_list(db, principal, list_id)
    before = {m.person_id for m in dlist.members}
    dlist = group_service.set_list_members(db_session=db, dlist=dlist, person_ids=body.person_ids)
    record_membership(db, principal, before, set(body.person_ids))
    return list_out(db, dlist)
