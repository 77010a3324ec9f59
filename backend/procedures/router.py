"""Procedures over HTTP: staff read, admins and the commune's referent write drafts, PC admins validate them;
delete switches off. A commune's procedures go out as JSON or CSV and come back in as JSON."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from backend.auth.service import Principal
from backend.deps import CurrentPrincipal, SessionDep, Staff
from backend.events.dependencies import visible_event
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.procedures import exchange, schemas
from backend.procedures import service as procedure_service
from backend.procedures.models import Procedure
from backend.procedures.views import event_procedure
from backend.routing import OneHopRoute

# Tagged route by route: the event's procedure is an event read (scoped as events are), not the directory.
router = APIRouter(route_class=OneHopRoute, prefix="/api/v1")
TAGS: list = ["procedures"]


def editable_procedure(db, principal: Principal, procedure_id: int) -> Procedure:
    procedure = procedure_service.get(db_session=db, procedure_id=procedure_id, org_ids=principal.org_ids)
    org_service.ensure_editor(principal=principal, organization_id=procedure.organization_id)
    return procedure


def procedure_out(db, procedure: Procedure) -> dict:
    return procedure_service.procedure_views(db_session=db, procedures=[procedure])[0]


@router.get("/procedures", tags=TAGS, response_model=list[schemas.ProcedureOut])
def list_procedures(db: SessionDep, principal: Staff, organization_id: Id | None = None,
                    active: bool | None = None,
                    q: str | None = Query(None, max_length=200, description="in the category or the instructions"),
                    cap_category: schemas.CapCategory | None = None):
    if organization_id is not None:
        org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    procedures = procedure_service.list_procedures(db_session=db, org_ids=principal.org_ids,
                                                   organization_id=organization_id, active=active,
                                                   q=(q or "").strip() or None, cap_category=cap_category)
    return procedure_service.procedure_views(db_session=db, procedures=procedures)


@router.post("/procedures", tags=TAGS, status_code=201, response_model=schemas.ProcedureOut,
             summary="Create a procedure: its version 1 is a draft until a PC admin validates it")
def create_procedure(body: schemas.ProcedureCreate, db: SessionDep, principal: Staff):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=body.organization_id)
    if body.validate_now:
        org_service.ensure_admin(principal=principal)
    procedure = procedure_service.create(db_session=db, organization_id=organization.id, draft=body,
                                         author_user_id=principal.user.id, validate=body.validate_now)
    return procedure_out(db, procedure)


@router.get("/procedures/{procedure_id}", tags=TAGS, response_model=schemas.ProcedureOut)
def read_procedure(procedure_id: Id, db: SessionDep, principal: Staff):
    return procedure_out(db, procedure_service.get(db_session=db, procedure_id=procedure_id,
                                                   org_ids=principal.org_ids))


@router.patch("/procedures/{procedure_id}", tags=TAGS, response_model=schemas.ProcedureOut,
              summary="Change a procedure: `active` at once, anything else as a new draft version")
def update_procedure(procedure_id: Id, body: schemas.ProcedureUpdate, db: SessionDep, principal: Staff):
    procedure = editable_procedure(db, principal, procedure_id)
    if body.validate_now:
        org_service.ensure_admin(principal=principal)
    version = procedure_service.propose(db_session=db, procedure=procedure, patch=body,
                                        author_user_id=principal.user.id)
    if version is not None and body.validate_now:
        procedure_service.validate_version(db_session=db, procedure=procedure, number=version.number,
                                           user_id=principal.user.id)
    return procedure_out(db, procedure)


@router.delete("/procedures/{procedure_id}", tags=TAGS, status_code=204,
                summary="Deactivate a procedure (events keep it)")
def deactivate_procedure(procedure_id: Id, db: SessionDep, principal: Staff):
    procedure_service.deactivate(db_session=db, procedure=editable_procedure(db, principal, procedure_id))


@router.get("/procedures/{procedure_id}/versions", tags=TAGS, response_model=list[schemas.VersionOut],
            summary="Every version of a procedure, the latest first")
def list_versions(procedure_id: Id, db: SessionDep, principal: Staff):
    procedure = procedure_service.get(db_session=db, procedure_id=procedure_id, org_ids=principal.org_ids)
    versions = procedure_service.versions_of(db_session=db, procedure=procedure)
    return procedure_service.version_views(db_session=db, procedure=procedure, versions=versions)


@router.post("/procedures/{procedure_id}/versions/{number}/validate", tags=TAGS,
             response_model=schemas.ProcedureOut,
             summary="A PC admin validates a draft: new events use it from now on")
def validate_version(procedure_id: Id, number: Annotated[int, Path(ge=1, le=2**31 - 1)], db: SessionDep,
                     principal: Staff):
    procedure = procedure_service.get(db_session=db, procedure_id=procedure_id, org_ids=principal.org_ids)
    org_service.ensure_admin(principal=principal)
    procedure_service.validate_version(db_session=db, procedure=procedure, number=number, user_id=principal.user.id)
    return procedure_out(db, procedure)


@router.get("/organizations/{organization_id}/procedures/export", tags=TAGS,
            summary="The commune's procedures as a file (JSON, which the import takes back, or CSV)")
def export_procedures(organization_id: Id, db: SessionDep, principal: Staff,
                      format: Literal["json", "csv"] = "json"):
    organization = org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    document = exchange.export(db_session=db, organization=organization)
    name = f"procedures-{organization.code.lower()}"
    if format == "csv":
        return Response(exchange.export_csv(document), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(json.dumps(document, ensure_ascii=False, indent=2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}.json"'})


@router.post("/organizations/{organization_id}/procedures/import", tags=TAGS, response_model=schemas.ImportOut,
             summary="Import procedures (the export's JSON): `dry_run` previews; else all of it or nothing")
def import_procedures(organization_id: Id, body: schemas.ProceduresFile, db: SessionDep, principal: Staff,
                      dry_run: bool = False):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=organization_id)
    return exchange.import_file(db_session=db, organization=organization, document=body,
                                author_user_id=principal.user.id, apply=not dry_run)


@router.get("/events/{event_id}/procedure", response_model=schemas.EventProcedureOut, tags=["events"],
            summary="The procedure version an event was opened with (or the groups chosen without one)")
def read_event_procedure(event_id: Id, db: SessionDep, principal: CurrentPrincipal):
    return event_procedure(db_session=db, event=visible_event(db, principal, event_id))

