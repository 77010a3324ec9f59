"""A commune's directory imported from a CSV file: a preview that writes nothing, then the import,
all or nothing; and the imports made, each with the people it made or changed."""

from __future__ import annotations

from fastapi import APIRouter, File, UploadFile

from backend.deps import DirectoryEditor, ReadSessionDep, SessionDep, Staff
from backend.directory import csv_file, schemas, service
from backend.directory.models import DirectoryImport
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["directory import"])
FILE_HELP = ("CSV, UTF-8 or Windows-1252 (Excel), `;` `,` or tab between columns; first row the column names: "
             f"nom, prénom, matricule, fonction, mobile, e-mail, groupes; at most {csv_file.MAX_BYTES // 1024} KB "
             f"and {csv_file.MAX_ROWS} people")


def _planned(db, principal, organization_id: int, file: UploadFile) -> service.Plan:
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=organization_id)
    sheet = csv_file.read(file.file.read(csv_file.MAX_BYTES + 1))
    return service.plan(db_session=db, organization=organization, sheet=sheet)


def _row(item: service.Item) -> dict:
    person = item.person
    return {"row": item.row, "action": item.action, "person_id": person.id if person is not None else None,
            "display_name": person.display_name if person is not None and item.action == "unchanged"
            else item.display_name, "employee_number": item.values.get("employee_number"),
            "job_title": item.values.get("job_title"), "mobile": item.mobile, "email": item.email,
            "groups": [g.name for g in item.groups], "changes": item.changes}


def _import(record: DirectoryImport) -> dict:
    return {"id": record.id, "organization_id": record.organization_id, "at": record.at, "user": record.user_label,
            "filename": record.filename, "rows": record.rows, "created": record.created, "updated": record.updated,
            "unchanged": record.unchanged}


def _detail(db, record: DirectoryImport) -> dict:
    return {**_import(record), "people": [
        {"person_id": person.id, "display_name": person.display_name, "action": access.action, "what": access.what}
        for access, person in service.people_of_import(db_session=db, import_id=record.id)]}


@router.post("/organizations/{organization_id}/directory-imports/preview", response_model=schemas.ImportPreviewOut,
             summary="What importing this file would do, row by row, and every row's errors (writes nothing)")
def preview_import(organization_id: Id, db: ReadSessionDep, principal: Staff,
                   file: UploadFile = File(..., description=FILE_HELP)):
    plan = _planned(db, principal, organization_id, file)
    sheet = plan.sheet
    return {"organization_id": plan.organization.id, "encoding": sheet.encoding, "delimiter": sheet.delimiter,
            "columns": sheet.headers, "ignored_columns": sheet.ignored, "rows": len(sheet.rows),
            "created": plan.count("create"), "updated": plan.count("update"), "unchanged": plan.count("unchanged"),
            "items": [_row(item) for item in plan.items], "errors": [e.__dict__ for e in plan.errors]}


@router.post("/organizations/{organization_id}/directory-imports", status_code=201,
             response_model=schemas.ImportDetailOut,
             summary="Import the file: every row or, at the first error, nothing (422 import_has_errors)")
def apply_import(organization_id: Id, db: SessionDep, principal: Staff,
                 file: UploadFile = File(..., description=FILE_HELP)):
    plan = _planned(db, principal, organization_id, file)
    record = service.apply(db_session=db, principal=principal, plan=plan, filename=file.filename or "")
    return _detail(db, record)


@router.get("/organizations/{organization_id}/directory-imports", response_model=list[schemas.ImportOut],
            summary="The commune's directory imports, latest first")
def list_imports(organization_id: Id, db: SessionDep, principal: DirectoryEditor):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=organization_id)
    return [_import(r) for r in service.imports_of(db_session=db, organization_id=organization.id)]


@router.get("/directory-imports/{import_id}", response_model=schemas.ImportDetailOut,
            summary="One import and the people it made or changed")
def read_import(import_id: Id, db: SessionDep, principal: DirectoryEditor):
    record = service.get_import(db_session=db, import_id=import_id, org_ids=principal.org_ids)
    org_service.ensure_editor(principal=principal, organization_id=record.organization_id)
    return _detail(db, record)
