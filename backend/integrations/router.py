"""Integrations over HTTP: their keys in the Administration, and the alarms they post."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse

from backend.db import db_now
from backend.deps import DirectoryEditor, SessionDep
from backend.integrations import ingest, schemas
from backend.integrations import service as integration_service
from backend.integrations.dependencies import AlarmSender
from backend.integrations.models import Integration
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["integrations"])


def integration_out(integration: Integration, now) -> dict:
    fields = set(schemas.IntegrationOut.model_fields) - {"state", "mapping"}
    return {**{name: getattr(integration, name) for name in fields},
            "state": integration_service.state_of(integration, now),
            "mapping": schemas.Mapping.model_validate(integration.mapping or {})}


@router.get("/integrations", response_model=list[schemas.IntegrationOut],
            summary="The integrations' keys (never the keys themselves): state and last use")
def list_integrations(db: SessionDep, principal: DirectoryEditor, organization_id: Id | None = None):
    now = db_now(db)
    return [integration_out(i, now) for i in integration_service.list_integrations(
        db_session=db, org_ids=principal.org_ids, organization_id=organization_id)]


@router.post("/integrations", status_code=201, response_model=schemas.IntegrationCreated,
             summary="A new integration and its API key, shown this once")
def create_integration(body: schemas.IntegrationIn, db: SessionDep, principal: DirectoryEditor):
    integration, key = integration_service.create(db_session=db, org_ids=principal.org_ids, draft=body,
                                                  user_id=principal.user.id)
    return {**integration_out(integration, db_now(db)), "key": key}


@router.get("/integrations/{integration_id}", response_model=schemas.IntegrationOut)
def read_integration(integration_id: Id, db: SessionDep, principal: DirectoryEditor):
    integration = integration_service.get(db_session=db, integration_id=integration_id, org_ids=principal.org_ids)
    return integration_out(integration, db_now(db))


@router.post("/integrations/{integration_id}/revoke", response_model=schemas.IntegrationOut,
             summary="Revoke the key: refused from its next request on")
def revoke_integration(integration_id: Id, db: SessionDep, principal: DirectoryEditor):
    integration = integration_service.get(db_session=db, integration_id=integration_id, org_ids=principal.org_ids,
                                          lock=True)
    integration_service.revoke(db_session=db, integration=integration, by=principal.user.full_name)
    return integration_out(integration, db_now(db))


@router.put("/integrations/{integration_id}/mapping", response_model=schemas.IntegrationOut,
            summary="The source's severities and categories in Vigie's terms")
def set_mapping(integration_id: Id, body: schemas.Mapping, db: SessionDep, principal: DirectoryEditor):
    integration = integration_service.get(db_session=db, integration_id=integration_id, org_ids=principal.org_ids,
                                          lock=True)
    integration_service.set_mapping(db_session=db, integration=integration, mapping=body)
    return integration_out(integration, db_now(db))


@router.post("/ingest/alarms", status_code=201, response_model=schemas.AlarmOut,
             summary="An alarm of a source system, raised or cleared, under its own key (API key, events:write)",
             responses={200: {"model": schemas.AlarmOut,
                              "description": "a repeat, an end of alarm, or the first answer to this Idempotency-Key"}})
def post_alarm(body: schemas.AlarmIn, response: Response, db: SessionDep, caller: AlarmSender,
               idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                                             max_length=100)] = None):
    kept = None
    if idempotency_key:
        kept = ingest.claim(db_session=db, integration_id=caller.integration_id, key=idempotency_key,
                            digest=ingest.body_digest(body.model_dump(mode="json")))
        if kept.status_code is not None:
            return JSONResponse(kept.body, status_code=kept.status_code, headers={"Idempotent-Replayed": "true"})
    status, answer = ingest.receive(db_session=db, caller=caller, alarm=body)
    if kept is not None:
        ingest.remember(kept, status, answer)
    response.status_code = status
    return answer
