"""User accounts over HTTP: administrators, within the organizations they see."""

from __future__ import annotations

from fastapi import APIRouter

from backend.deps import SessionDep, Staff
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute
from backend.users import schemas
from backend.users import service as user_service

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["users"])


@router.get("/users", response_model=list[schemas.UserOut])
def list_users(db: SessionDep, principal: Staff, organization_id: Id | None = None):
    if organization_id is not None:
        org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    org_service.ensure_admin(principal=principal)
    return user_service.list_users(db_session=db, org_ids=principal.org_ids, organization_id=organization_id)


@router.post("/users", status_code=201, response_model=schemas.UserOut)
def create_user(body: schemas.UserCreate, db: SessionDep, principal: Staff):
    organization = org_service.get(db_session=db, organization_id=body.organization_id, org_ids=principal.org_ids)
    org_service.ensure_admin(principal=principal)
    return user_service.create(db_session=db, organization=organization, draft=body)


@router.patch("/users/{user_id}", response_model=schemas.UserOut)
def update_user(user_id: Id, body: schemas.UserUpdate, db: SessionDep, principal: Staff):
    user = user_service.get(db_session=db, user_id=user_id, org_ids=principal.org_ids)
    org_service.ensure_admin(principal=principal)
    return user_service.update(db_session=db, user=user, patch=body, acting_user=principal.user,
                               keep_token_id=principal.token.id if principal.token else None)
