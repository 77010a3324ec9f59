"""A person's data under the RGPD, for the commune's referent and the PC's admins: the log of who
accessed it, and everything held on them as JSON."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.db import db_now
from backend.deps import DirectoryEditor, SessionDep, WriteSessionDep
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.people import service as people_service
from backend.privacy import pseudonymise, service
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["privacy"])


class AccessOut(BaseModel):
    at: datetime
    user_id: int | None
    user: str
    action: str
    what: str
    import_id: int | None = None


def _person(db, principal, person_id: int):
    person = people_service.get(db_session=db, person_id=person_id, org_ids=principal.org_ids)
    org_service.ensure_editor(principal=principal, organization_id=person.organization_id)
    return person


@router.get("/people/{person_id}/access-log", response_model=list[AccessOut],
            summary="Who read, changed or exported this person's data (latest first)")
def read_access_log(person_id: Id, db: SessionDep, principal: DirectoryEditor):
    person = _person(db, principal, person_id)
    return [service.access_json(a) for a in service.access_log(db_session=db, person_id=person.id)]


@router.get("/people/{person_id}/history", response_model=list[AccessOut],
            summary="Who made, changed or deactivated this person, by hand or by an import (latest first)")
def read_change_history(person_id: Id, db: SessionDep, principal: DirectoryEditor):
    person = _person(db, principal, person_id)
    return [service.access_json(a) for a in service.change_history(db_session=db, person_id=person.id)]


@router.get("/people/{person_id}/export", summary="Everything Vigie holds on this person (RGPD right of access)")
def export_person(person_id: Id, db: WriteSessionDep, principal: DirectoryEditor):
    person = _person(db, principal, person_id)
    service.record(db_session=db, principal=principal, person=person, action="export")
    document = service.export(db_session=db, person=person)
    return JSONResponse(jsonable_encoder(document), headers={
        "Content-Disposition": f'attachment; filename="vigie-personne-{person.id}.json"'})


class PseudonymisedOut(BaseModel):
    person_id: int
    entries: int
    values: int
    unsealed: int


@router.post("/people/{person_id}/pseudonymise", response_model=PseudonymisedOut,
             summary="A person who left: name, numbers and addresses removed everywhere; chains still verify",
             responses={409: {"description": "the person is still active"}})
def pseudonymise_person(person_id: Id, db: SessionDep, principal: DirectoryEditor):
    person = _person(db, principal, person_id)
    service.record(db_session=db, principal=principal, person=person, action="pseudonymise")
    done = pseudonymise.pseudonymise(db_session=db, person=person, now=db_now(db))
    return PseudonymisedOut(person_id=person.id, entries=done.entries, values=done.values, unsealed=done.unsealed)
