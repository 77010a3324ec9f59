"""On-call payroll over HTTP: staff read the settings and produce exports; admins and the referent edit the settings."""

from __future__ import annotations

import io
import re
import zipfile

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select

from backend.db import db_now
from backend.deps import SessionDep, SettingsDep, Staff
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.payroll import rules as pay
from backend.payroll import schemas
from backend.payroll import service as payroll_service
from backend.payroll.models import PayrollExport
from backend.people.models import Person
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["payroll"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def settings_out(db, organization) -> dict:
    row = payroll_service.settings_of(db_session=db, organization=organization)
    conf = payroll_service.conf_of(row, organization)
    rules = payroll_service.person_rules(db_session=db, organization_id=organization.id)
    people = db.scalars(select(Person).where(Person.id.in_([r.person_id for r in rules])))
    names = {p.id: p.display_name for p in people}
    regimes = [{"id": r.id, "label": r.label, "valid_from": r.valid_from,
                "default_variant": r.data["astreinte"]["default_variant"],
                "variants": [{"name": name, "label": v["label"], "short_notice_majoration": bool(v.get("short_notice"))}
                             for name, v in r.data["astreinte"]["variants"].items()]} for r in pay.regimes()]
    return {"organization_id": organization.id, "collectivite_code": conf.collectivite,
            "kind_regimes": {**conf.kind_regimes, "elu": None}, "codes": conf.codes,
            "morning": row.morning, "evening": row.evening, "regimes": regimes, "updated_at": row.updated_at,
            "people": [{"person_id": r.person_id, "person": names.get(r.person_id, ""), "regime": r.regime,
                        "variant": r.variant, "excluded": r.excluded, "intervention_mode": r.intervention_mode}
                       for r in rules]}


@router.get("/organizations/{organization_id}/payroll-settings", response_model=schemas.SettingsOut)
def read_settings(organization_id: Id, db: SessionDep, principal: Staff):
    organization = org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    return settings_out(db, organization)


@router.patch("/organizations/{organization_id}/payroll-settings", response_model=schemas.SettingsOut,
              summary="Regimes per group kind, payroll codes, the astreinte day (admins and the commune's referent)")
def update_settings(organization_id: Id, body: schemas.SettingsUpdate, db: SessionDep, principal: Staff):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=organization_id)
    payroll_service.update_settings(db_session=db, organization=organization, patch=body, now=db_now(db))
    return settings_out(db, organization)


@router.put("/organizations/{organization_id}/payroll-settings/people/{person_id}",
            response_model=schemas.SettingsOut, summary="One agent's own regime, exclusion or intervention mode")
def set_person_rule(organization_id: Id, person_id: Id, body: schemas.PersonRuleIn, db: SessionDep,
                    principal: Staff):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=organization_id)
    payroll_service.set_person_rule(db_session=db, organization=organization, person_id=person_id,
                                    regime=body.regime, variant=body.variant, excluded=body.excluded,
                                    intervention_mode=body.intervention_mode, now=db_now(db))
    return settings_out(db, organization)


@router.delete("/organizations/{organization_id}/payroll-settings/people/{person_id}",
               response_model=schemas.SettingsOut, summary="Back to the group's regime, interventions paid")
def delete_person_rule(organization_id: Id, person_id: Id, db: SessionDep, principal: Staff):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=organization_id)
    payroll_service.delete_person_rule(db_session=db, organization=organization, person_id=person_id)
    return settings_out(db, organization)


def export_out(row: PayrollExport, *, status: str, detail: bool = False) -> dict:
    summary = row.summary
    out = {"id": row.id, "organization_id": row.organization_id, "month": row.month, "version": row.version,
           "status": status, "validated_at": row.validated_at, "validated_by": row.validated_by,
           "complete": row.complete, "sha256": row.sha256, "created_by": row.created_by,
           "created_at": row.created_at, "totals": summary["totals"], "warning_count": len(summary["warnings"]),
           "csv_url": f"/api/v1/payroll-exports/{row.id}.csv", "xlsx_url": f"/api/v1/payroll-exports/{row.id}.xlsx"}
    if detail:
        out.update(warnings=summary["warnings"], excluded=summary["excluded"],
                   statements_zip_url=f"/api/v1/payroll-exports/{row.id}/statements.zip",
                   agents=[{**a, "statement_url": f"/api/v1/payroll-exports/{row.id}/statements/{a['person_id']}.pdf"}
                           for a in summary["agents"]])
    return out


@router.post("/organizations/{organization_id}/payroll-exports", status_code=201,
             response_model=schemas.ExportDetailOut,
             summary="Compute the month's payroll items now: a new version, earlier ones kept as they were")
def create_export(organization_id: Id, body: schemas.ExportIn, db: SessionDep, principal: Staff,
                  settings: SettingsDep):
    organization = org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    row = payroll_service.create_export(db_session=db, organization=organization, month=body.month,
                                        created_by=principal.user.full_name, now=db_now(db),
                                        public_url=settings.public_url)
    return export_out(row, status="draft", detail=True)


@router.get("/organizations/{organization_id}/payroll-exports", response_model=list[schemas.ExportOut],
            summary="The exports of the commune, newest month and version first")
def list_exports(organization_id: Id, db: SessionDep, principal: Staff,
                 month: str | None = Query(default=None, pattern=schemas.MONTH)):
    organization = org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    rows = payroll_service.list_exports(db_session=db, organization_id=organization.id, month=month)
    latest: dict[str, int] = {}
    for r in rows:
        latest[r.month] = max(latest.get(r.month, 0), r.version)
    return [export_out(r, status=payroll_service.version_status(r, latest[r.month])) for r in rows]


# The suffixed routes come first: "/payroll-exports/{id}" would otherwise take "12.csv" and refuse it.
@router.get("/payroll-exports/{export_id}.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def export_csv(export_id: Id, db: SessionDep, principal: Staff):
    row = payroll_service.get_export(db_session=db, export_id=export_id, org_ids=principal.org_ids)
    return Response(row.csv.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_name(row)}.csv"'})


@router.get("/payroll-exports/{export_id}.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
def export_xlsx(export_id: Id, db: SessionDep, principal: Staff):
    row = payroll_service.get_export(db_session=db, export_id=export_id, org_ids=principal.org_ids)
    return Response(row.xlsx, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{_name(row)}.xlsx"'})


@router.get("/payroll-exports/{export_id}/statements/{person_id}.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}}, summary="One agent's statement for validation")
def statement_pdf(export_id: Id, person_id: Id, db: SessionDep, principal: Staff):
    row = payroll_service.get_export(db_session=db, export_id=export_id, org_ids=principal.org_ids)
    statement = payroll_service.get_statement(db_session=db, export=row, person_id=person_id)
    return Response(statement.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{_name(row)}-agent-{person_id}.pdf"'})


@router.get("/payroll-exports/{export_id}/statements.zip", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}}, summary="Every agent's statement, one PDF each")
def statements_zip(export_id: Id, db: SessionDep, principal: Staff):
    row = payroll_service.get_export(db_session=db, export_id=export_id, org_ids=principal.org_ids)
    names = {a["person_id"]: re.sub(r"[^A-Za-z0-9_-]", "_", a["employee_number"] or f"agent-{a['person_id']}")
             for a in row.summary["agents"]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for statement in payroll_service.statements_of(db_session=db, export=row):
            archive.writestr(f"{_name(row)}-{names.get(statement.person_id, statement.person_id)}.pdf", statement.pdf)
    return Response(buffer.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{_name(row)}-releves.zip"'})


@router.get("/payroll-exports/{export_id}", response_model=schemas.ExportDetailOut)
def read_export(export_id: Id, db: SessionDep, principal: Staff):
    row = payroll_service.get_export(db_session=db, export_id=export_id, org_ids=principal.org_ids)
    return export_out(row, status=payroll_service.status_of(db_session=db, row=row), detail=True)


@router.post("/payroll-exports/{export_id}/validation", response_model=schemas.ExportDetailOut,
             summary="The manager signs this version off for payroll (admins and the commune's referent)",
             responses={409: {"description": "already validated, superseded by a later version, or month not over"}})
def validate_export(export_id: Id, db: SessionDep, principal: Staff):
    row = payroll_service.get_export(db_session=db, export_id=export_id, org_ids=principal.org_ids)
    org_service.ensure_editor(principal=principal, organization_id=row.organization_id)
    payroll_service.validate_export(db_session=db, row=row, validated_by=principal.user.full_name, now=db_now(db))
    return export_out(row, status="validated", detail=True)


def _name(row: PayrollExport) -> str:
    return f"paie-astreintes-{row.month}-v{row.version}"
