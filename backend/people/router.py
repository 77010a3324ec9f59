"""People and contact methods over HTTP: staff read, admins and the commune's referent write."""

from __future__ import annotations

from fastapi import APIRouter, Query

from backend.auth.service import Principal
from backend.deps import SessionDep, Staff, WriteSessionDep
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.people import schemas
from backend.people import service as people_service
from backend.people.models import ContactMethod, Person
from backend.privacy import service as privacy
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["people"])


def editable_person(db, principal: Principal, person_id: int) -> Person:
    person = people_service.get(db_session=db, person_id=person_id, org_ids=principal.org_ids)
    org_service.ensure_editor(principal=principal, organization_id=person.organization_id)
    return person


def editable_contact(db, principal: Principal, contact_method_id: int) -> ContactMethod:
    contact = people_service.get_contact_method(db_session=db, contact_method_id=contact_method_id,
                                                org_ids=principal.org_ids)
    org_service.ensure_editor(principal=principal, organization_id=contact.person.organization_id)
    return contact


@router.get("/people", response_model=list[schemas.PersonOut])
def list_people(db: SessionDep, principal: Staff, organization_id: Id | None = None,
                q: str | None = Query(None, max_length=200, description="part of a name, job title or number"),
                active: bool | None = None, limit: int = Query(200, ge=1, le=1000), offset: int = Query(0, ge=0, le=2**31 - 1)):
    if organization_id is not None:
        org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    return people_service.list_people(db_session=db, org_ids=principal.org_ids, organization_id=organization_id,
                                      q=q, active=active, limit=limit, offset=offset)


@router.post("/people", status_code=201, response_model=schemas.PersonDetail)
def create_person(body: schemas.PersonCreate, db: SessionDep, principal: Staff):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=body.organization_id)
    person = people_service.create(db_session=db, organization_id=organization.id, draft=body)
    privacy.record(db_session=db, principal=principal, person=person, action="create")
    return person


# Reading one person's details (their numbers and addresses) is logged, as every change is.
@router.get("/people/{person_id}", response_model=schemas.PersonDetail)
def read_person(person_id: Id, db: WriteSessionDep, principal: Staff):
    person = people_service.get(db_session=db, person_id=person_id, org_ids=principal.org_ids)
    privacy.record(db_session=db, principal=principal, person=person, action="read")
    return person


@router.patch("/people/{person_id}", response_model=schemas.PersonDetail)
def update_person(person_id: Id, body: schemas.PersonUpdate, db: SessionDep, principal: Staff):
    person = editable_person(db, principal, person_id)
    privacy.record(db_session=db, principal=principal, person=person, action="change",
                   what=",".join(sorted(body.changes())))
    return people_service.update(db_session=db, person=person, patch=body)


@router.delete("/people/{person_id}", status_code=204, summary="Deactivate a person (never a hard delete)")
def deactivate_person(person_id: Id, db: SessionDep, principal: Staff):
    person = editable_person(db, principal, person_id)
    privacy.record(db_session=db, principal=principal, person=person, action="deactivate")
    people_service.deactivate(db_session=db, person=person)


@router.get("/people/{person_id}/contact-methods", response_model=list[schemas.ContactMethodOut])
def list_contact_methods(person_id: Id, db: WriteSessionDep, principal: Staff):
    person = people_service.get(db_session=db, person_id=person_id, org_ids=principal.org_ids)
    privacy.record(db_session=db, principal=principal, person=person, action="read", what="contacts")
    return person.contact_methods


@router.post("/people/{person_id}/contact-methods", status_code=201, response_model=schemas.ContactMethodOut)
def add_contact_method(person_id: Id, body: schemas.ContactMethodCreate, db: SessionDep, principal: Staff):
    person = editable_person(db, principal, person_id)
    privacy.record(db_session=db, principal=principal, person=person, action="change", what="contacts")
    return people_service.add_contact_method(db_session=db, person=person, draft=body)


@router.patch("/contact-methods/{contact_method_id}", response_model=schemas.ContactMethodOut)
def update_contact_method(contact_method_id: Id, body: schemas.ContactMethodUpdate, db: SessionDep,
                          principal: Staff):
    contact = editable_contact(db, principal, contact_method_id)
    privacy.record(db_session=db, principal=principal, person=contact.person, action="change", what="contacts")
    return people_service.update_contact_method(db_session=db, contact=contact, patch=body)


@router.delete("/contact-methods/{contact_method_id}", status_code=204)
def delete_contact_method(contact_method_id: Id, db: SessionDep, principal: Staff):
    contact = editable_contact(db, principal, contact_method_id)
    privacy.record(db_session=db, principal=principal, person=contact.person, action="change", what="contacts")
    people_service.delete_contact_method(db_session=db, contact=contact)
