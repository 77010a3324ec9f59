"""CAP 1.2 over HTTP: an alert taken as an event (once), an event given as an alert."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from backend.cap import export, parse
from backend.cap import service as cap_service
from backend.cap.dependencies import CAP_MEDIA_TYPE, MAX_BODY, cap_body
from backend.deps import CurrentPrincipal, Operator, SessionDep, SettingsDep, commit
from backend.events.dependencies import actor_of, visible_event
from backend.events.schemas import EventOut
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["cap"])


class CapTaken(BaseModel):
    action: str = Field(description="created | updated | cancelled: what the message did to the event")
    duplicate: bool = Field(description="this sender's identifier was taken before: nothing was done again")
    event: EventOut


_XML_BODY = {"requestBody": {"required": True, "description": f"a CAP 1.2 alert (at most {MAX_BODY} bytes, no DTD)",
                             "content": {CAP_MEDIA_TYPE: {"schema": {"type": "string"}},
                                         "application/xml": {"schema": {"type": "string"}}}}}


@router.post("/cap/alerts", response_model=CapTaken, status_code=201, openapi_extra=_XML_BODY,
             summary="Take a CAP 1.2 alert: Alert opens an event (Exercise: a drill), Update notes, Cancel closes",
             responses={200: {"model": CapTaken, "description": "already taken: the same event, nobody paged again"}})
def take_alert(principal: Operator, db: SessionDep, body: Annotated[bytes, Depends(cap_body)]):
    message = parse.read(body)
    taken = cap_service.take(db_session=db, org_ids=principal.org_ids, message=message,
                             actor=actor_of(principal), user_id=principal.user.id)
    answer = {"action": taken.action, "duplicate": taken.duplicate,
              "event": EventOut.model_validate(taken.event).model_dump(mode="json")}
    if taken.duplicate:
        return JSONResponse(answer, status_code=200)
    commit(db)  # as for a new event: the worker is woken before this answer is read
    return answer


@router.get("/events/{event_id}/cap", response_class=Response,
            responses={200: {"content": {CAP_MEDIA_TYPE: {}}, "description": "the event as a CAP 1.2 alert"}},
            summary="The event as a CAP 1.2 alert (status Exercise for a drill; Alert, Update or Cancel by its state)")
def event_as_cap(event_id: Id, principal: CurrentPrincipal, db: SessionDep, settings: SettingsDep):
    event = visible_event(db, principal, event_id)
    return Response(export.to_cap(db_session=db, event=event, public_url=settings.public_url),
                    media_type=CAP_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="evenement-{event.number}.cap.xml"'})
