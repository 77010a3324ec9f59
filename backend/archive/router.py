"""The archive export over HTTP: JSON (whole, with verifications) or CSV (one line per trace entry)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import AwareDatetime

from backend.archive import service as archive_service
from backend.db import db_now
from backend.deps import SessionDep, Staff
from backend.errors import Unprocessable
from backend.kpis import service as kpi_service
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["archive"])


@router.get("/archive", summary="The main courante of a period, each event's hash chain verified",
            responses={200: {"content": {"application/json": {}, "text/csv": {}}}})
def archive(db: SessionDep, principal: Staff, start: AwareDatetime, end: AwareDatetime,
            organization_id: Id | None = None, format: Literal["json", "csv"] = "json"):
    if organization_id is not None:
        org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    if not start < end <= start + timedelta(days=400):
        raise Unprocessable("end must be after start, within 400 days", code="bad_period")
    communes, tz = kpi_service.scope(db_session=db, org_ids=principal.org_ids, organization_id=organization_id)
    data = archive_service.export(db_session=db, org_ids=communes, start=start, end=end, now=db_now(db))
    name = f"main-courante-{start:%Y%m%d}-{end:%Y%m%d}"
    if format == "csv":
        return Response(archive_service.to_csv(data, tz), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(archive_service.to_json(data), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
