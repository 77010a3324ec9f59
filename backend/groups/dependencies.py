"""What the routes about groups and lists share: the group or list the caller may edit."""

from __future__ import annotations

from backend.auth.service import Principal
from backend.groups import service as group_service
from backend.groups.models import DistributionList, OnCallGroup
from backend.orgs import service as org_service


def editable_group(db, principal: Principal, group_id: int) -> OnCallGroup:
    group = group_service.get_group(db_session=db, group_id=group_id, org_ids=principal.org_ids)
    org_service.ensure_editor(principal=principal, organization_id=group.organization_id)
    return group


def editable_list(db, principal: Principal, list_id: int) -> DistributionList:
    dlist = group_service.get_list(db_session=db, list_id=list_id, org_ids=principal.org_ids)
    org_service.ensure_editor(principal=principal, organization_id=dlist.organization_id)
    return dlist
