"""Procedures over HTTP: staff read, admins and the commune's referent write; delete switches off."""

from __future__ import annotations

from fastapi import APIRouter

from backend.auth.service import Principal
from backend.deps import SessionDep, Staff
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.procedures import schemas
from backend.procedures import service as procedure_service
from backend.procedures.models import Procedure
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["procedures"])


def editable_procedure(db, principal: Principal, procedure_id: int) -> Procedure:
    procedure = procedure_service.get(db_session=db, procedure_id=procedure_id, org_ids=principal.org_ids)
    org_service.ensure_editor(principal=principal, organization_id=procedure.organization_id)
    return procedure


def procedure_out(db, procedure: Procedure) -> dict:
    return procedure_service.procedure_views(db_session=db, procedures=[procedure])[0]


@router.get("/procedures", response_model=list[schemas.ProcedureOut])
def list_procedures(db: SessionDep, principal: Staff, organization_id: Id | None = None,
                    active: bool | None = None):
    if organization_id is not None:
        org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    procedures = procedure_service.list_procedures(db_session=db, org_ids=principal.org_ids,
                                                   organization_id=organization_id, active=active)
    return procedure_service.procedure_views(db_session=db, procedures=procedures)


@router.post("/procedures", status_code=201, response_model=schemas.ProcedureOut)
def create_procedure(body: schemas.ProcedureCreate, db: SessionDep, principal: Staff):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=body.organization_id)
    procedure = procedure_service.create(db_session=db, organization_id=organization.id, draft=body)
    return procedure_out(db, procedure)


@router.get("/procedures/{procedure_id}", response_model=schemas.ProcedureOut)
def read_procedure(procedure_id: Id, db: SessionDep, principal: Staff):
    return procedure_out(db, procedure_service.get(db_session=db, procedure_id=procedure_id,
                                                   org_ids=principal.org_ids))


@router.patch("/procedures/{procedure_id}", response_model=schemas.ProcedureOut)
def update_procedure(procedure_id: Id, body: schemas.ProcedureUpdate, db: SessionDep, principal: Staff):
    procedure = editable_procedure(db, principal, procedure_id)
    return procedure_out(db, procedure_service.update(db_session=db, procedure=procedure, patch=body))


@router.delete("/procedures/{procedure_id}", status_code=204, summary="Deactivate a procedure (events keep it)")
def deactivate_procedure(procedure_id: Id, db: SessionDep, principal: Staff):
    procedure_service.deactivate(db_session=db, procedure=editable_procedure(db, principal, procedure_id))
