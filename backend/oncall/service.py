"""What an on-call person sees on their phone, and what the PC sees before it confirms an event."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from backend.coverage import service as coverage_service
from backend.errors import NotFound, Unprocessable
from backend.events import service as event_service
from backend.events.models import Event, EventStatus
from backend.groups import escalation as group_rules
from backend.orgs.models import Organization
from backend.outbox import service as outbox_service
from backend.outbox.models import Notification
from backend.pages import service as page_service
from backend.pages.models import Page
from backend.people.models import Person
from backend.procedures import plan as procedure_plans
from backend.procedures import service as procedure_service
from backend.procedures.models import Procedure
from backend.responses.models import Response
from escalation.planner import PageStatus
from escalation.severity import page_chains
from escalation.severity import severity as severity_of

RECENT = timedelta(hours=48)


def my_pages(*, db_session: Session, person_id: int, now: datetime) -> list[dict]:
    """Pages I was solicited for: the ones waiting first (gravest first), then the last 48 h."""
    page_ids = set(db_session.scalars(select(Notification.page_id).where(
        Notification.person_id == person_id, Notification.purpose == "solicit", Notification.page_id.is_not(None))))
    if not page_ids:
        return []
    rows = db_session.execute(select(Page, Event, Organization).join(Event, Event.id == Page.event_id)
                              .join(Organization, Organization.id == Event.organization_id)
                              .where(Page.id.in_(page_ids))).all()
    responses = list(db_session.scalars(select(Response).where(Response.page_id.in_(page_ids))
                                        .order_by(Response.id)))
    names = _names(db_session, {r.person_id for r in responses} | {p.current_person_id for p, _, _ in rows}
                   | {p.acknowledged_by_person_id for p, _, _ in rows})
    out = []
    for page, event, org in rows:
        if page.status != PageStatus.ACTIVE and event.status == EventStatus.CLOSED and (page.ended_at or now) < now - RECENT:
            continue
        mine = [r.kind for r in responses if r.page_id == page.id and r.person_id == person_id]
        others = []
        for r in responses:
            if r.page_id == page.id and r.person_id not in (None, person_id):
                others.append({"person": names.get(r.person_id, ""), "kind": r.kind})
        out.append({
            "page_id": page.id, "status": page.status, "reply_code": page.reply_code, "severity": event.severity,
            "due_at": page.due_at if page.status == PageStatus.ACTIVE else None,
            "asking_me": page.status == PageStatus.ACTIVE and page.current_person_id == person_id,
            "current_person": names.get(page.current_person_id), "acknowledged_by": names.get(
                page.acknowledged_by_person_id), "my_responses": mine, "others": others,
            "event": _my_event(event, org),
        })
    out.sort(key=lambda p: (p["status"] != "active", -p["severity"], -p["event"]["received_at"].timestamp()))
    return out


def my_informations(*, db_session: Session, person_id: int, org_ids: frozenset[int], now: datetime) -> list[dict]:
    """Events I was told of without being asked (an inform step, « pour information »), open or closed in the
    last 48 h, latest first; those I was solicited for are in my pages instead. A person of the métropole gets
    here a commune's event their group is informed of: they read it, nothing more."""
    told: dict[int, datetime] = {event_id: at for event_id, at in db_session.execute(  # type: ignore[misc]
        select(Notification.event_id, func.min(Notification.created_at))
        .where(Notification.person_id == person_id, Notification.purpose == "inform",
               Notification.event_id.is_not(None))
        .group_by(Notification.event_id))}
    solicited = set(db_session.scalars(select(Notification.event_id).where(
        Notification.person_id == person_id, Notification.purpose == "solicit", Notification.page_id.is_not(None))))
    wanted = set(told) - solicited
    if not wanted:
        return []
    rows = db_session.execute(select(Event, Organization).join(Organization, Organization.id == Event.organization_id)
                              .where(Event.id.in_(wanted), event_service.person_scope(person_id, org_ids))).all()
    out: list[dict[str, Any]] = [
        {"severity": event.severity, "informed_at": told[event.id], "event": _my_event(event, org)}
        for event, org in rows
        if event.status != EventStatus.CLOSED or (event.closed_at or now) >= now - RECENT]
    out.sort(key=lambda i: (i["event"]["status"] == EventStatus.CLOSED, -i["informed_at"].timestamp()))
    return out


def _my_event(event: Event, org: Organization) -> dict:
    return {"id": event.id, "number": event.number, "title": event.title, "place": event.place,
            "description": event.description, "category": event.category, "status": event.status,
            "received_at": event.received_at, "latitude": event.latitude, "longitude": event.longitude,
            "organization": org.name, "organization_code": org.code, "pc_phone": org.pc_phone,
            "exercise": event.exercise}


def _names(db_session: Session, ids: set) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {p.id: p.display_name for p in db_session.scalars(select(Person).where(Person.id.in_(ids)))}


def preview(*, db_session: Session, organization_id: int, org_ids: frozenset[int], procedure_id: int | None,
            severity: int | None, now: datetime, group_ids: list[int] | None = None) -> dict:
    """Who would be solicited, in which order and by which roads, and who would be informed."""
    if organization_id not in org_ids:
        raise NotFound("organization")
    procedure = _plan(db_session=db_session, organization_id=organization_id, procedure_id=procedure_id,
                      group_ids=group_ids)
    rule = severity_of(severity)
    severity = rule.level
    policy = outbox_service.policy_of(db_session)
    # The very chains event creation opens (pages/service.open_pages): the preview cannot drift.
    chains = page_chains(severity, page_service.solicited_groups(procedure, severity))
    pages = []
    for chain in chains:
        frozen = page_service.policy_for(db_session=db_session, procedure=procedure, group_ids=chain, at=now)
        timing = frozen.timing(severity)
        pages.append({"ack_timeout_s": timing.ack_timeout_s if timing else None,
                      "repeats": timing.repeats if timing else 0,
                      "groups": [{"group_id": g.group_id, "group": g.name,
                                  "members": [_member(db_session, pid, severity, "solicit", policy)
                                              for pid in g.members]} for g in frozen.chain]})
    informed = []
    for group_id, whole_list in page_service.informed_steps(procedure, severity):
        group = page_service.group_roster(db_session=db_session, group_id=group_id, at=now)
        told = page_service.informed_people(group, whole_list)
        informed.append({"group_id": group.group_id, "group": group.name, "whole_list": whole_list,
                         "members": [_member(db_session, pid, severity, "inform", policy) for pid in told]})
    organization = db_session.get(Organization, organization_id)
    covered = coverage_service.is_covered(db_session=db_session, organization=organization, at=now)
    handling = "solicit" if covered else coverage_service.settings_of(
        db_session=db_session, organization=organization).out_of_coverage
    if handling == "inform_referent":
        pages = []
    return {"severity": severity, "all_at_once": rule.every_group_at_once, "pages": pages, "informed": informed,
            "in_coverage": covered, "coverage_handling": handling}


def _plan(*, db_session: Session, organization_id: int, procedure_id: int | None,
          group_ids: list[int] | None) -> Procedure | procedure_plans.Plan:
    """What event creation would follow: the procedure's validated version, or the chosen groups."""
    if procedure_id is not None and group_ids:
        raise Unprocessable("choose a procedure or groups, not both", code="procedure_or_groups")
    if group_ids:
        group_rules.ensure_eligible(db_session=db_session, organization_id=organization_id, group_ids=group_ids)
        return procedure_plans.ad_hoc(group_ids)
    if procedure_id is None:
        raise Unprocessable("choose a procedure or the groups to solicit", code="category_required")
    procedure = db_session.scalar(select(Procedure).options(selectinload(Procedure.steps)).where(
        Procedure.id == procedure_id, Procedure.organization_id == organization_id))
    if procedure is None:
        raise Unprocessable("this procedure does not belong to the commune", code="unknown_procedure")
    procedure_service.usable_version(db_session=db_session, procedure=procedure)  # a draft alone is refused
    return procedure


def _member(db_session: Session, person_id: int, severity: int, purpose: str, policy) -> dict:
    person = db_session.get(Person, person_id, options=[selectinload(Person.contact_methods)])
    roads = outbox_service.plan(person, severity, purpose, policy)
    return {"person_id": person.id, "name": person.display_name,
            "channels": sorted({p.contact.kind for p in roads}),
            "unreachable": not roads}
