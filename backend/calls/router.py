"""The call log (one click in the console, or the PC's telephony) and alerts that bypassed the PC."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from backend.calls import schemas
from backend.calls import service as call_service
from backend.calls.models import Call
from backend.db import utcnow
from backend.deps import Operator, SessionDep, Staff
from backend.errors import Forbidden
from backend.orgs import service as org_service
from backend.orgs.schemas import Id

router = APIRouter(prefix="/api/v1", tags=["calls"])


def call_out(call: Call) -> dict:
    wait = (call.answered_at - call.received_at).total_seconds() if call.answered_at else None
    fields = set(schemas.CallOut.model_fields) - {"wait_s"}
    return {**{name: getattr(call, name) for name in fields}, "wait_s": wait}


@router.post("/calls", status_code=201, response_model=schemas.CallOut,
             summary="Log an incoming call (answered or missed); the telephony sends its own id")
def log_call(body: schemas.CallIn, response: Response, db: SessionDep, principal: Operator):
    organization = org_service.get(db_session=db, organization_id=body.organization_id, org_ids=principal.org_ids)
    call, created = call_service.log_call(db_session=db, organization_id=organization.id, data=body.model_dump(),
                                          user_id=principal.user.id,
                                          source="telephony" if body.external_id else "console", now=utcnow())
    if not created:
        response.status_code = 200
    return call_out(call)


@router.get("/calls", response_model=list[schemas.CallOut])
def list_calls(db: SessionDep, principal: Staff, organization_id: Id | None = None,
               since: AwareDatetime | None = None, until: AwareDatetime | None = None,
               limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)):
    calls = call_service.list_calls(db_session=db, org_ids=principal.org_ids, organization_id=organization_id,
                                    since=since, until=until, limit=limit, offset=offset)
    return [call_out(c) for c in calls]


@router.get("/calls/{call_id}", response_model=schemas.CallOut)
def read_call(call_id: Id, db: SessionDep, principal: Staff):
    return call_out(call_service.get_call(db_session=db, call_id=call_id, org_ids=principal.org_ids))


@router.post("/bypassed-alerts", status_code=201, response_model=schemas.BypassedOut,
             summary="Alerts the commune handled without going through the PC")
def record_bypassed(body: schemas.BypassedIn, db: SessionDep, principal: Staff):
    organization = org_service.get(db_session=db, organization_id=body.organization_id, org_ids=principal.org_ids)
    if principal.role == "referent" and organization.id != principal.user.organization_id:
        raise Forbidden("a referent records their own commune's alerts", code="role_forbidden")
    return call_service.record_bypassed(db_session=db, organization_id=organization.id, data=body.model_dump(),
                                        user_id=principal.user.id, now=utcnow())


@router.get("/bypassed-alerts", response_model=list[schemas.BypassedOut])
def list_bypassed(db: SessionDep, principal: Staff, organization_id: Id | None = None,
                  since: AwareDatetime | None = None, until: AwareDatetime | None = None):
    return call_service.list_bypassed(db_session=db, org_ids=principal.org_ids, organization_id=organization_id,
                                      since=since, until=until)
