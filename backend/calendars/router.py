"""Calendar feeds: created by their owner (or staff for a group), fetched by a phone with the secret URL."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from backend.calendars import service as calendar_service
from backend.db import db_now
from backend.deps import CurrentPrincipal, SessionDep, Staff, WriteSessionDep
from backend.errors import NotFound
from backend.groups import service as group_service
from backend.groups.dependencies import editable_group
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute
from backend.schedule.dependencies import me

router = APIRouter(route_class=OneHopRoute, tags=["planning"])


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: str = Field(default="", max_length=100, examples=["Téléphone pro"])


class FeedOut(BaseModel):
    id: int
    label: str
    person_id: int | None
    group_id: int | None
    created_at: datetime
    last_fetched_at: datetime | None


class NewFeedOut(FeedOut):
    url: str = Field(description="secret: shown once; revoke the feed if it leaks")


def _new(request: Request, feed, token: str) -> dict:
    base = request.app.state.runtime.settings.public_url.rstrip("/")
    return {**FeedOut.model_validate(feed, from_attributes=True).model_dump(), "url": f"{base}/ical/{token}.ics"}


@router.post("/api/v1/me/calendar-feeds", status_code=201, response_model=NewFeedOut,
             summary="A secret iCal URL of my turns")
def create_my_feed(body: FeedIn, request: Request, db: SessionDep, principal: CurrentPrincipal):
    person = me(db, principal)
    feed, token = calendar_service.create(db_session=db, organization_id=person.organization_id, person_id=person.id,
                                          group_id=None, label=body.label, user_id=principal.user.id)
    return _new(request, feed, token)


@router.get("/api/v1/me/calendar-feeds", response_model=list[FeedOut])
def list_my_feeds(db: SessionDep, principal: CurrentPrincipal):
    return calendar_service.feeds_of(db_session=db, person_id=me(db, principal).id)


@router.delete("/api/v1/me/calendar-feeds/{feed_id}", status_code=204)
def revoke_my_feed(feed_id: Id, db: SessionDep, principal: CurrentPrincipal):
    person = me(db, principal)
    feed = next((f for f in calendar_service.feeds_of(db_session=db, person_id=person.id) if f.id == feed_id), None)
    if feed is None:
        raise NotFound("calendar feed")
    calendar_service.revoke(db_session=db, feed=feed, now=db_now(db))


@router.post("/api/v1/groups/{group_id}/calendar-feeds", status_code=201, response_model=NewFeedOut,
             summary="A secret iCal URL of a group's planning")
def create_group_feed(group_id: Id, body: FeedIn, request: Request, db: SessionDep, principal: Staff):
    group = group_service.get_group(db_session=db, group_id=group_id, org_ids=principal.org_ids)
    feed, token = calendar_service.create(db_session=db, organization_id=group.organization_id, person_id=None,
                                          group_id=group.id, label=body.label, user_id=principal.user.id)
    return _new(request, feed, token)


@router.get("/api/v1/groups/{group_id}/calendar-feeds", response_model=list[FeedOut])
def list_group_feeds(group_id: Id, db: SessionDep, principal: Staff):
    group = group_service.get_group(db_session=db, group_id=group_id, org_ids=principal.org_ids)
    return calendar_service.feeds_of(db_session=db, group_id=group.id)


@router.delete("/api/v1/groups/{group_id}/calendar-feeds/{feed_id}", status_code=204)
def revoke_group_feed(group_id: Id, feed_id: Id, db: SessionDep, principal: Staff):
    group = editable_group(db, principal, group_id)
    feed = next((f for f in calendar_service.feeds_of(db_session=db, group_id=group.id) if f.id == feed_id), None)
    if feed is None:
        raise NotFound("calendar feed")
    calendar_service.revoke(db_session=db, feed=feed, now=db_now(db))


@router.get("/ical/{token}.ics", include_in_schema=False)
def fetch_feed(token: str, db: WriteSessionDep):
    feed = calendar_service.by_token(db_session=db, token=token[:100])
    body = calendar_service.render(db_session=db, feed=feed, now=db_now(db))
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300", "Content-Disposition": 'inline; filename="astreinte.ics"'})
