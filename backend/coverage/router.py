"""The PC's coverage hours of a commune: staff read them, admins and the commune's referent change them."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from pydantic import AwareDatetime

from backend.coverage import schemas
from backend.coverage import service as coverage_service
from backend.db import db_now
from backend.deps import SessionDep, Staff
from backend.errors import Unprocessable
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["coverage"])


def coverage_out(db, organization) -> dict:
    now = db_now(db)
    row = coverage_service.settings_of(db_session=db, organization=organization)
    return {"organization_id": organization.id, "timezone": organization.timezone, "weekly": row.weekly,
            "weekly_hours": coverage_service.weekly_hours(row.weekly), "holidays": row.holidays,
            "out_of_coverage": row.out_of_coverage, "watch_confirm_minutes": row.watch_confirm_minutes,
            "swap_needs_approval": row.swap_needs_approval,
            "covered_now": coverage_service.is_covered(db_session=db, organization=organization, at=now),
            "upcoming_holidays": coverage_service.upcoming_holidays(organization=organization, row=row, now=now)}


@router.get("/organizations/{organization_id}/coverage", response_model=schemas.CoverageOut)
def read_coverage(organization_id: Id, db: SessionDep, principal: Staff):
    organization = org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    return coverage_out(db, organization)


@router.patch("/organizations/{organization_id}/coverage", response_model=schemas.CoverageOut)
def update_coverage(organization_id: Id, body: schemas.CoverageUpdate, db: SessionDep, principal: Staff):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=organization_id)
    coverage_service.update(db_session=db, organization=organization, patch=body, now=db_now(db))
    return coverage_out(db, organization)


@router.get("/organizations/{organization_id}/coverage/intervals", response_model=list[schemas.IntervalOut],
            summary="When the PC covers the commune over a period (UTC instants)")
def read_intervals(organization_id: Id, db: SessionDep, principal: Staff, start: AwareDatetime | None = None,
                   end: AwareDatetime | None = None):
    organization = org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    start = start or db_now(db)
    end = end or start + timedelta(days=7)
    if not start < end <= start + timedelta(days=400):
        raise Unprocessable("end must be after start, within 400 days", code="bad_period")
    return [{"starts_at": s, "ends_at": e} for s, e in coverage_service.intervals(
        db_session=db, organization=organization, start=start, end=end)]


@router.get("/organizations/{organization_id}/coverage/exceptions", response_model=list[schemas.ExceptionOut])
def list_exceptions(organization_id: Id, db: SessionDep, principal: Staff):
    organization = org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    return coverage_service.exceptions_of(db_session=db, organization_id=organization.id)


@router.post("/organizations/{organization_id}/coverage/exceptions", status_code=201,
             response_model=schemas.ExceptionOut, summary="A date with other hours: a bridge, a closure day")
def add_exception(organization_id: Id, body: schemas.ExceptionIn, db: SessionDep, principal: Staff):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=organization_id)
    return coverage_service.add_exception(db_session=db, organization=organization, day=body.day,
                                          windows=[w.model_dump() for w in body.windows], label=body.label)


@router.delete("/coverage/exceptions/{exception_id}", status_code=204)
def delete_exception(exception_id: Id, db: SessionDep, principal: Staff):
    row = coverage_service.get_exception(db_session=db, exception_id=exception_id, org_ids=principal.org_ids)
    org_service.ensure_editor(principal=principal, organization_id=row.organization_id)
    db.delete(row)
