"""Taking the watch over HTTP: the phone confirms; staff see who confirmed."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict

from backend.db import db_now
from backend.deps import CurrentPrincipal, SessionDep, Staff
from backend.groups import service as group_service
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute
from backend.schedule import service as schedule_service
from backend.schedule.dependencies import me
from backend.schedule.views import watch_rows
from backend.watch import service as watch_service

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["planning"])


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    via: Literal["app", "push"] = "app"


class WatchTurnOut(BaseModel):
    id: int
    group_id: int
    person_id: int
    person: str | None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    status: str
    asked_at: AwareDatetime | None
    confirmed_at: AwareDatetime | None
    confirmed_via: str | None
    missed_at: AwareDatetime | None


def watch_out(db, rows) -> list[dict]:
    names = schedule_service.names_of(db, [r.person_id for r in rows])
    return [{"id": r.id, "group_id": r.group_id, "person_id": r.person_id, "person": names.get(r.person_id),
             "starts_at": r.starts_at, "ends_at": r.ends_at, "status": r.status, "asked_at": r.asked_at,
             "confirmed_at": r.confirmed_at, "confirmed_via": r.confirmed_via, "missed_at": r.missed_at}
            for r in rows]


@router.post("/me/watch/{watch_id}/confirm", response_model=WatchTurnOut,
             summary="I am on call and reachable (the push action posts this too)")
def confirm_watch(watch_id: Id, db: SessionDep, principal: CurrentPrincipal, body: ConfirmIn | None = None):
    person = me(db, principal)
    row = watch_service.get_mine(db_session=db, watch_id=watch_id, person_id=person.id)
    watch_service.confirm(db_session=db, row=row, person_id=person.id, via=(body or ConfirmIn()).via, now=db_now(db))
    return watch_out(db, [row])[0]


@router.get("/groups/{group_id}/watch", response_model=list[WatchTurnOut],
            summary="Turns taken (or not) over a period, with their confirmations")
def group_watch(group_id: Id, db: SessionDep, principal: Staff, start: AwareDatetime | None = None,
                end: AwareDatetime | None = None):
    group = group_service.get_group(db_session=db, group_id=group_id, org_ids=principal.org_ids)
    now = db_now(db)
    start = start or now - timedelta(days=7)
    end = end or now + timedelta(days=7)
    return watch_out(db, watch_rows(db_session=db, group_id=group.id, start=start, end=end))
