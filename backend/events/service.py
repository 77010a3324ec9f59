"""Events: open (numbered, traced, solicitations started), requalify, close."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select, text
from sqlalchemy.orm import Session, joinedload

import escalation as esc
from backend.calls import service as call_service
from backend.coverage import service as coverage_service
from backend.db import after_rollback, db_now
from backend.errors import Conflict, NotFound, Unprocessable
from backend.events.models import Event, EventStatus
from backend.events.schemas import EventCreate
from backend.groups import escalation as group_rules
from backend.groups.models import OnCallGroup
from backend.orgs.models import Organization
from backend.outbox import service as outbox_service
from backend.outbox.models import Notification
from backend.pages import service as page_service
from backend.pages.models import Page
from backend.people.models import Person
from backend.procedures import plan as procedure_plans
from backend.procedures import service as procedure_service
from backend.procedures import views as procedure_views
from backend.procedures.models import Procedure
from backend.reports import service as report_service
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.models import TraceEntry
from backend.trace.service import Actor
from escalation.severity import DEFAULT_SEVERITY
from escalation.severity import severity as severity_of
from notifications import notice as notices

log = logging.getLogger("vigie.events")
AD_HOC_CATEGORY = "Cas imprévu (sans procédure)"



def get(*, db_session: Session, event_id: int, org_ids: frozenset[int], lock: bool = False,
        person_id: int | None = None) -> Event:
    """`person_id`: a person on call asks, who sees only the events `person_scope` gives them."""
    scope = Event.organization_id.in_(org_ids) if person_id is None else person_scope_of_one(person_id, org_ids)
    query = select(Event).where(Event.id == event_id, scope)
    if lock:
        query = query.with_for_update(key_share=True)
    event = db_session.scalar(query)
    if event is None:
        raise NotFound("event")
    return event


_NEXT_SEQ = text(
    "INSERT INTO event_counters (organization_id, year, last_seq) VALUES (:organization_id, :year, 1) "
    "ON CONFLICT (organization_id, year) DO UPDATE SET last_seq = event_counters.last_seq + 1 "
    "RETURNING last_seq")


def next_number(*, db_session: Session, organization_id: int, year: int) -> tuple[int, str]:
    """The commune's next event number for `year`.

    On PostgreSQL the counter is moved in a transaction of its own, so the commune's events are
    numbered one after the other only for that statement, not for their whole creation; a
    creation that fails afterwards leaves a gap in the numbers (logged). On SQLite, where
    writers take turns anyway, it is part of the event's transaction and never leaves a gap.
    """
    params = {"organization_id": organization_id, "year": year}
    bind = db_session.get_bind()
    if bind.dialect.name == "postgresql":
        with bind.connect() as connection:
            seq = connection.execution_options(isolation_level="AUTOCOMMIT").execute(_NEXT_SEQ, params).scalar_one()
        number = f"{year}-{seq:04d}"
        after_rollback(db_session, lambda: log.warning("event number %s of organization %s was given to a "
                                                       "creation that failed: a gap", number, organization_id))
        return seq, number
    seq = db_session.execute(_NEXT_SEQ, params).scalar_one()
    return seq, f"{year}-{seq:04d}"


def create(*, db_session: Session, org_ids: frozenset[int], draft: EventCreate, actor: Actor,
           user_id: int | None, now: datetime | None = None, origin: dict | None = None) -> Event:
    now = now or db_now(db_session)
    # Not locked: other creations for the commune, and the worker's writes to its events, go on.
    organization = db_session.scalar(select(Organization).where(Organization.id == draft.organization_id,
                                                                Organization.id.in_(org_ids)))
    if organization is None:
        raise NotFound("organization")
    procedure, plan, version, ad_hoc = _what_to_follow(db_session=db_session, organization=organization, draft=draft)
    category = draft.category or (procedure.category if procedure else AD_HOC_CATEGORY if ad_hoc else None)
    if not category:
        raise Unprocessable("a category or a procedure is required", code="category_required")
    severity = draft.severity or DEFAULT_SEVERITY
    # The year of the number is the commune's, not UTC's: 00:30 on 1 January in Paris is the new year.
    year = now.astimezone(ZoneInfo(organization.timezone or "Europe/Paris")).year
    call = None
    if draft.call_id is not None:
        call = call_service.get_call(db_session=db_session, call_id=draft.call_id,
                                     org_ids=frozenset({organization.id}), lock=True)
        call_service.check_linkable(call)
    # Last, once every refusal is behind: a number given is a number used.
    seq, number = next_number(db_session=db_session, organization_id=organization.id, year=year)
    coverage = coverage_service.settings_of(db_session=db_session, organization=organization)
    in_coverage = coverage_service.is_covered(db_session=db_session, organization=organization, at=now, row=coverage)
    event = Event(
        organization_id=organization.id, year=year, seq=seq, number=number,
        procedure_id=procedure.id if procedure else None, procedure_version_id=version.id if version else None,
        ad_hoc_group_ids=ad_hoc, category=category, severity=severity,
        cap_severity=severity_of(severity).cap, cap_urgency=draft.cap_urgency or "Unknown",
        cap_certainty=draft.cap_certainty or "Unknown", title=draft.title,
        description=draft.description, place=draft.place,
        latitude=draft.latitude, longitude=draft.longitude, source=draft.source,
        caller_name=draft.caller_name, callback_number=draft.callback_number,
        status=EventStatus.OPEN, received_at=now, created_by_user_id=user_id,
        in_coverage=in_coverage, coverage_handling="solicit" if in_coverage else coverage.out_of_coverage,
        exercise=draft.exercise,
    )
    db_session.add(event)
    db_session.flush()
    created = {"number": number, "category": category, "severity": severity, "title": event.title,
               "place": event.place, "source": event.source, "caller_name": event.caller_name,
               "callback_number": event.callback_number, "procedure_id": event.procedure_id,
               "severity_defaulted": draft.severity is None}
    if draft.exercise:
        created["exercise"] = True
    if version is not None:
        created["procedure_version"] = version.number
    if ad_hoc:
        names = dict(db_session.execute(select(OnCallGroup.id, OnCallGroup.name)
                                        .where(OnCallGroup.id.in_(ad_hoc))).all())
        created["without_procedure"] = True
        created["groups"] = [{"group_id": g, "group": names.get(g, "")} for g in ad_hoc]
    if call is not None:
        call_service.link_event(db_session=db_session, call=call, event_id=event.id)
        created["call_id"] = call.id
    if origin:  # opened by an integration: which one, and the source's own words
        created.update(origin)
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.EVENT_CREATED, actor=actor, at=now,
                         data=created)
    if not _handle_out_of_coverage(db_session=db_session, event=event, organization=organization, now=now):
        return event
    if plan is not None:
        solicited, informed = page_service.solicited_groups(plan, severity), page_service.informed_steps(plan, severity)
        with page_service.rosters_frozen(db_session, solicited + [g for g, _ in informed], at=now):
            page_service.open_pages(db_session=db_session, event=event, procedure=plan, now=now)
            _inform(db_session=db_session, event=event, organization=organization, steps=informed, now=now)
            if not severity_of(severity).solicits:  # nobody is asked: those it would ask are told
                _inform(db_session=db_session, event=event, organization=organization,
                        steps=[(g, False) for g in solicited], now=now)
    return event


def _what_to_follow(*, db_session: Session, organization: Organization, draft: EventCreate):
    """(procedure, plan, version, chosen groups): a procedure's last validated version, or the groups the
    operator chose for an unforeseen case, or neither (an event only traced)."""
    if draft.procedure_id is not None and draft.group_ids:
        raise Unprocessable("choose a procedure or groups, not both", code="procedure_or_groups")
    if draft.group_ids:
        group_rules.ensure_eligible(db_session=db_session, organization_id=organization.id,
                                    group_ids=list(draft.group_ids))
        return None, procedure_plans.ad_hoc(list(draft.group_ids)), None, list(draft.group_ids)
    if draft.procedure_id is None:
        return None, None, None, None
    procedure = db_session.scalars(
        select(Procedure).options(joinedload(Procedure.steps))
        .where(Procedure.id == draft.procedure_id, Procedure.organization_id == organization.id)
    ).unique().one_or_none()
    if procedure is None:
        raise Unprocessable("this procedure does not belong to the commune", code="unknown_procedure")
    version = procedure_service.usable_version(db_session=db_session, procedure=procedure)
    plan = procedure_plans.from_content(version.content) if version is not None else procedure
    return procedure, plan, version, None


def _handle_out_of_coverage(*, db_session: Session, event: Event, organization: Organization,
                            now: datetime) -> bool:
    """Outside the PC's hours, trace it and tell the referent if the commune wants only that (then False)."""
    if event.in_coverage:
        return True
    told = []
    if event.coverage_handling == "inform_referent":
        local = now.astimezone(ZoneInfo(organization.timezone or "Europe/Paris"))
        notice = notices.out_of_coverage(org_code=organization.code, number=event.number, title=event.title,
                                         place=event.place, category=event.category, received=local,
                                         exercise=event.exercise)
        told = outbox_service.enqueue_to_referents(db_session=db_session, organization_id=organization.id,
                                                   notice=notice, now=now)
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.EVENT_OUT_OF_COVERAGE, at=now, data={
        "handling": event.coverage_handling,
        "notifications": [{"id": n.id, "channel": n.channel, "person_id": n.person_id} for n in told]})
    return event.coverage_handling == "solicit"


def _inform(*, db_session: Session, event: Event, organization: Organization, steps: list[tuple[int, bool]],
            now: datetime) -> None:
    """Each informed group's person on call (who is on call now), or its whole list when the step says so."""
    for group_id, whole_list in steps:
        group = page_service.group_roster(db_session=db_session, group_id=group_id, at=now)
        people = []
        for person_id in page_service.informed_people(group, whole_list):
            person = db_session.get(Person, person_id, options=[joinedload(Person.contact_methods)])
            rows = outbox_service.enqueue(db_session=db_session, event=event, organization=organization,
                                          person=person, purpose="inform", now=now)
            people.append({"person_id": person.id, "person": person.display_name,
                           "notifications": [{"id": r.id, "channel": r.channel} for r in rows]})
        trace_service.append(db_session=db_session, event=event, kind=TraceKind.EVENT_INFORMED, at=now,
                             data={"group_id": group.group_id, "group": group.name, "people": people,
                                   "scope": "whole_list" if whole_list else "on_call"})


def requalify(*, db_session: Session, event: Event, severity: int, reason: str, actor: Actor,
              now: datetime | None = None) -> Event:
    now = now or db_now(db_session)
    if event.status == EventStatus.CLOSED:
        raise Conflict("a closed event cannot be requalified", code="event_closed")
    if severity == event.severity:
        raise Conflict("the event already has this severity", code="same_severity")
    previous = event.severity
    event.severity = severity
    event.cap_severity = severity_of(severity).cap
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.EVENT_REQUALIFIED, actor=actor, at=now,
                         data={"from": previous, "to": severity, "reason": reason})
    active = _active_pages(db_session=db_session, event_id=event.id)
    for page in active:
        page_service.apply_signal(db_session=db_session, event=event, page=page,
                                  signal=esc.Requalified(severity), now=now, actor=actor)
    procedure = procedure_views.plan_of(db_session=db_session, event=event)
    raised_to_all_at_once = severity_of(severity).every_group_at_once and not severity_of(previous).every_group_at_once
    if procedure is not None and raised_to_all_at_once and event.status == EventStatus.OPEN and active:
        # Raised to critical while still unanswered: every group is asked at once, not in turn.
        asked = {page.current_group_id for page in active if page.status == page_service.ACTIVE}
        for group_id in page_service.solicited_groups(procedure, severity):
            if group_id not in asked:
                page_service.open_page(db_session=db_session, event=event, procedure=procedure, chain=[group_id],
                                       now=now)
    if procedure is not None:
        organization = db_session.get(Organization, event.organization_id)
        # Raised from "information" (or back from it): nobody is being asked yet, so ask now.
        statuses = set(db_session.scalars(select(Page.status).where(Page.event_id == event.id)))
        # (An event the commune wanted only its referent told of stays so.)
        if severity_of(severity).solicits and statuses <= {esc.PageStatus.CANCELLED.value} and event.coverage_handling != "inform_referent":
            page_service.open_pages(db_session=db_session, event=event, procedure=procedure, now=now)
        # Groups the procedure informs at the new severity hear of it, once.
        informed = {entry.data.get("group_id") for entry in db_session.scalars(
            select(TraceEntry).where(TraceEntry.event_id == event.id, TraceEntry.kind == TraceKind.EVENT_INFORMED))}
        _inform(db_session=db_session, event=event, organization=organization, now=now,
                steps=[(g, everyone) for g, everyone in page_service.informed_steps(procedure, severity)
                       if g not in informed])
    return event


def close(*, db_session: Session, event: Event, reason: str, actor: Actor, now: datetime | None = None,
          follow_up: str = "") -> Event:
    now = now or db_now(db_session)
    if event.status == EventStatus.CLOSED:
        raise Conflict("the event is already closed", code="event_closed")
    for page in _active_pages(db_session=db_session, event_id=event.id):
        page_service.apply_signal(db_session=db_session, event=event, page=page,
                                  signal=esc.Cancelled("event closed"), now=now, actor=actor)
    event.status = EventStatus.CLOSED
    event.closed_at = now
    event.closure_reason = reason
    closed = {"reason": reason, **({"follow_up": follow_up} if follow_up else {})}
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.EVENT_CLOSED, actor=actor, at=now, data=closed)
    report_service.write(db_session=db_session, event=event, trigger="closure", actor=actor, now=now)
    return event


def mark_acknowledged(*, db_session: Session, event: Event, now: datetime) -> None:
    if event.status == EventStatus.OPEN:
        event.status = EventStatus.ACKNOWLEDGED
        event.acknowledged_at = now


def _active_pages(*, db_session: Session, event_id: int) -> list[Page]:
    return list(db_session.scalars(
        select(Page).where(Page.event_id == event_id, Page.status == page_service.ACTIVE)
        .order_by(Page.id).with_for_update(key_share=True)))


def list_events(*, db_session: Session, org_ids: frozenset[int], status: str | None = None,
                organization_id: int | None = None, severity_min: int | None = None,
                person_id: int | None = None, since: datetime | None = None, until: datetime | None = None,
                limit: int = 50, offset: int = 0) -> list[Event]:
    query = select(Event).where(Event.organization_id.in_(org_ids) if person_id is None
                                else person_scope(person_id, org_ids))
    if status:
        query = query.where(Event.status == status)
    if organization_id is not None:
        query = query.where(Event.organization_id == organization_id)
    if severity_min is not None:
        query = query.where(Event.severity >= severity_min)
    if since is not None:
        query = query.where(Event.received_at >= since)
    if until is not None:
        query = query.where(Event.received_at < until)
    return list(db_session.scalars(query.order_by(Event.received_at.desc(), Event.id.desc())
                                   .limit(limit).offset(offset)))


def involved_event_ids(person_id: int):
    """Events an on-call person was notified for: the only ones of their commune they may see."""
    return select(Notification.event_id).where(Notification.person_id == person_id).scalar_subquery()


def told_event_ids(person_id: int):
    """Events a person was asked about (a page reached them) or told of by an inform step, whichever commune
    opened them."""
    return select(Notification.event_id).where(Notification.person_id == person_id, or_(
        and_(Notification.purpose == "solicit", Notification.page_id.is_not(None)),
        Notification.purpose == "inform")).scalar_subquery()


def person_scope_of_one(person_id: int, org_ids: frozenset[int]):
    """`person_scope` for one event: its own messages are looked at, not the person's every message (a
    phone's answer read them all, in the write turn, on a storm night)."""
    served = select(Organization.id).where(Organization.served_by_id.in_(org_ids)).scalar_subquery()
    # `+ 0`: through the event's messages (its index), never the person's every one.
    mine = (Notification.event_id == Event.id) & (Notification.person_id + 0 == person_id)
    told = mine & or_(and_(Notification.purpose == "solicit", Notification.page_id.is_not(None)),
                      Notification.purpose == "inform")  # as `told_event_ids`
    return or_(and_(Event.organization_id.in_(org_ids), exists().where(mine)),
               and_(Event.organization_id.in_(served), exists().where(told)))


def person_scope(person_id: int, org_ids: frozenset[int]):
    """What a person on call sees: their organization's events they were notified of and, for a person of the
    métropole (its astreinte de décision, named in a commune's procedure), the events of the communes it serves
    that they were paged or informed for — nothing else of those communes."""
    served = select(Organization.id).where(Organization.served_by_id.in_(org_ids)).scalar_subquery()
    return or_(and_(Event.organization_id.in_(org_ids), Event.id.in_(involved_event_ids(person_id))),
               and_(Event.organization_id.in_(served), Event.id.in_(told_event_ids(person_id))))


def visible_to_person(*, db_session: Session, person_id: int, org_ids: frozenset[int],
                      event_ids: set[int]) -> set[int]:
    """Of these events, those `person_scope` gives the person."""
    return set(db_session.scalars(select(Event.id).where(Event.id.in_(event_ids), person_scope(person_id, org_ids))))
