"""The call log (one click in the console, or the PC's telephony) and alerts that bypassed the PC."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime
from sqlalchemy import select

from backend.calls import schemas
from backend.calls import service as call_service
from backend.calls.models import Call
from backend.db import db_now
from backend.deps import Operator, SessionDep, Staff
from backend.errors import Forbidden, Unprocessable
from backend.events.models import Event
from backend.integrations.dependencies import CallLogger
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["calls"])


def call_out(call: Call, event_number: str | None = None) -> dict:
    wait = (call.answered_at - call.received_at).total_seconds() if call.answered_at and call.wait_known else None
    fields = set(schemas.CallOut.model_fields) - {"wait_s", "event_number", "corrections"}
    return {**{name: getattr(call, name) for name in fields}, "wait_s": wait, "event_number": event_number,
            "corrections": call.corrections or []}


def calls_out(db, calls: list[Call]) -> list[dict]:
    ids = {c.event_id for c in calls if c.event_id is not None}
    numbers = dict(db.execute(select(Event.id, Event.number).where(Event.id.in_(ids))).all()) if ids else {}
    return [call_out(c, numbers.get(c.event_id)) for c in calls]


@router.post("/calls", status_code=201, response_model=schemas.CallOut,
             summary="Log an incoming call (answered or missed); the telephony sends its own id, with an API key "
                     "(calls:write) or an operator's session",
             responses={200: {"model": schemas.CallOut, "description": "already logged with this external_id"}})
def log_call(body: schemas.CallIn, response: Response, db: SessionDep, principal: CallLogger):
    organization = org_service.get(db_session=db, organization_id=body.organization_id, org_ids=principal.org_ids)
    if principal.integration is not None and not body.external_id:
        # The telephony resends what it is not sure was received: its own id makes that harmless.
        raise Unprocessable("the telephony sends its own call id (external_id)", code="external_id_required")
    call, created = call_service.log_call(db_session=db, organization_id=organization.id, draft=body,
                                          user_id=principal.user_id,
                                          source="telephony" if body.external_id else "console", now=db_now(db))
    if not created:
        response.status_code = 200
    return calls_out(db, [call])[0]


@router.get("/calls", response_model=list[schemas.CallOut])
def list_calls(db: SessionDep, principal: Staff, organization_id: Id | None = None,
               since: AwareDatetime | None = None, until: AwareDatetime | None = None,
               limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=2**31 - 1),
               include_voided: bool = Query(False, description="also the calls voided as logged by mistake")):
    calls = call_service.list_calls(db_session=db, org_ids=principal.org_ids, organization_id=organization_id,
                                    since=since, until=until, limit=limit, offset=offset,
                                    include_voided=include_voided)
    return calls_out(db, calls)


@router.get("/calls/{call_id}", response_model=schemas.CallOut)
def read_call(call_id: Id, db: SessionDep, principal: Staff):
    return calls_out(db, [call_service.get_call(db_session=db, call_id=call_id, org_ids=principal.org_ids)])[0]


@router.patch("/calls/{call_id}", response_model=schemas.CallOut,
              summary="Correct a logged call (category, answered or not, times, note); the change is kept")
def correct_call(call_id: Id, body: schemas.CallPatch, db: SessionDep, principal: Operator):
    call = call_service.get_call(db_session=db, call_id=call_id, org_ids=principal.org_ids, lock=True)
    call_service.correct_call(db_session=db, call=call, patch=body, by=principal.user.full_name, now=db_now(db))
    return calls_out(db, [call])[0]


@router.delete("/calls/{call_id}", response_model=schemas.CallOut,
               summary="Void a call logged by mistake: kept, but out of the log and the pick-up rate")
def void_call(call_id: Id, db: SessionDep, principal: Operator, body: schemas.CallVoid | None = None):
    call = call_service.get_call(db_session=db, call_id=call_id, org_ids=principal.org_ids, lock=True)
    call_service.void_call(db_session=db, call=call, reason=(body.reason if body else ""),
                           by=principal.user.full_name, now=db_now(db))
    return calls_out(db, [call])[0]


@router.post("/bypassed-alerts", status_code=201, response_model=schemas.BypassedOut,
             summary="Alerts the commune handled without going through the PC")
def record_bypassed(body: schemas.BypassedIn, db: SessionDep, principal: Staff):
    organization = org_service.get(db_session=db, organization_id=body.organization_id, org_ids=principal.org_ids)
    if principal.role == "referent" and organization.id != principal.user.organization_id:
        raise Forbidden("a referent records their own commune's alerts", code="role_forbidden")
    return call_service.record_bypassed(db_session=db, organization_id=organization.id, draft=body,
                                        user_id=principal.user.id, now=db_now(db))


@router.get("/bypassed-alerts", response_model=list[schemas.BypassedOut])
def list_bypassed(db: SessionDep, principal: Staff, organization_id: Id | None = None,
                  since: AwareDatetime | None = None, until: AwareDatetime | None = None):
    return call_service.list_bypassed(db_session=db, org_ids=principal.org_ids, organization_id=organization_id,
                                      since=since, until=until)
