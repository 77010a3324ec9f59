"""The dashboard over HTTP: JSON for the console (which draws the charts and projects them), CSV for a spreadsheet."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import AwareDatetime

from backend.db import utcnow
from backend.deps import SessionDep, Staff
from backend.errors import Unprocessable
from backend.kpis import export
from backend.kpis import service as kpi_service
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["dashboard"])


@router.get("/dashboard", summary="The convention's figures for a period and a commune (or all)",
            responses={200: {"content": {"application/json": {}, "text/csv": {}}}})
def dashboard(db: SessionDep, principal: Staff, organization_id: Id | None = None,
              start: AwareDatetime | None = None, end: AwareDatetime | None = None,
              format: Literal["json", "csv"] = "json"):
    if organization_id is not None:
        org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    communes, tz = kpi_service.scope(db_session=db, org_ids=principal.org_ids, organization_id=organization_id)
    start, end = _period(start, end, tz)
    figures = kpi_service.compute(db_session=db, org_ids=communes, period=kpi_service.Period(start, end), tz=tz)
    if format == "csv":
        first, last = kpi_service.days(kpi_service.Period(start, end), tz)
        return Response(export.to_csv(figures, tz), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="indicateurs-{first:%Y%m%d}-{last:%Y%m%d}.csv"'})
    return figures


def _period(start: datetime | None, end: datetime | None, tz: str) -> tuple[datetime, datetime]:
    """Default: the last two months up to today (the bimonthly follow-up meeting)."""
    zone = ZoneInfo(tz)
    if end is None:
        end = datetime.combine(utcnow().astimezone(zone).date() + timedelta(days=1), time(0), zone)
    if start is None:
        month = end.astimezone(zone).replace(day=1)
        start = (month - timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if not start < end <= start + timedelta(days=800):
        raise Unprocessable("end must be after start, within about two years", code="bad_period")
    return start, end
