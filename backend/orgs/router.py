"""Organizations over HTTP: staff read those they see; admins create and edit communes."""

from __future__ import annotations

from fastapi import APIRouter

from backend.deps import SessionDep, Staff
from backend.orgs import schemas
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["organizations"])


@router.get("/organizations", response_model=list[schemas.OrganizationOut])
def list_organizations(db: SessionDep, principal: Staff):
    return org_service.list_organizations(db_session=db, org_ids=principal.org_ids)


@router.post("/organizations", status_code=201, response_model=schemas.OrganizationOut)
def create_organization(body: schemas.OrganizationCreate, db: SessionDep, principal: Staff):
    org_service.ensure_admin(principal=principal)
    served_by = org_service.get(db_session=db, organization_id=principal.user.organization_id,
                                org_ids=principal.org_ids)
    return org_service.create_commune(db_session=db, served_by=served_by, draft=body)


@router.get("/organizations/{organization_id}", response_model=schemas.OrganizationOut)
def read_organization(organization_id: Id, db: SessionDep, principal: Staff):
    return org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)


@router.patch("/organizations/{organization_id}", response_model=schemas.OrganizationOut)
def update_organization(organization_id: Id, body: schemas.OrganizationUpdate, db: SessionDep, principal: Staff):
    organization = org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    org_service.ensure_admin(principal=principal)
    return org_service.update(db_session=db, organization=organization, patch=body)
