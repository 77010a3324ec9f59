"""« Renfort »: a person in the field asks for reinforcement.

The cadre on call is paged — a page of its own, durable and traced like any other (timeouts, the next
cadre of the roster, the PC's « sans réponse » alarm when nobody takes it), at least « grave » so that
push and SMS go together — and the PC's consoles ring until an operator takes note of the request.
Which cadres: the procedure's group of kind `cadre` (the event's version), else the commune's first
such group; the one who asks is never paged for their own call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import escalation as esc
from backend.errors import NotFound, Unprocessable
from backend.events.models import Event
from backend.groups.models import OnCallGroup
from backend.pages import service as page_service
from backend.pages.models import Page
from backend.people.models import Person
from backend.procedures import views as procedure_views
from backend.procedures.models import DEFAULT_TIMINGS
from backend.responses.models import Response
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.service import Actor

MANAGERS = "cadre"
LEAST_SEVERITY = 3  # a call for help is never a message that waits for the push to be read


def manager_group(*, db_session: Session, event: Event) -> OnCallGroup | None:
    plan = procedure_views.plan_of(db_session=db_session, event=event)
    group_ids = [s.group_id for s in plan.steps] if plan is not None else []
    groups = list(db_session.scalars(select(OnCallGroup).where(OnCallGroup.organization_id == event.organization_id,
                                                               OnCallGroup.kind == MANAGERS)
                                     .order_by(OnCallGroup.id)))
    in_plan = [g for g in groups if g.id in group_ids]
    return next(iter(in_plan or groups), None)


def help_page_of(*, db_session: Session, event_id: int) -> Page | None:
    """The event's reinforcement page still ringing, if any: a second call joins it rather than opening another."""
    for page in db_session.scalars(select(Page).where(Page.event_id == event_id, Page.status == page_service.ACTIVE)):
        if (page.policy or {}).get("help"):
            return page
    return None


def call_for_help(*, db_session: Session, event: Event, response: Response, person: Person | None,
                  now: datetime) -> Page | None:
    """Page the cadre on call for this request; None when one is already being paged or there is nobody."""
    if help_page_of(db_session=db_session, event_id=event.id) is not None:
        return None
    group = manager_group(db_session=db_session, event=event)
    if group is None:
        return None
    roster = page_service.group_roster(db_session=db_session, group_id=group.id, at=now)
    members = tuple(p for p in roster.members if p != response.person_id)
    if not members:
        return None
    plan = procedure_views.plan_of(db_session=db_session, event=event)
    timings = {int(sev): esc.Timing(int(t["ack_timeout_s"]), int(t.get("repeats", 1)))
               for sev, t in ((plan.timings if plan is not None else None) or DEFAULT_TIMINGS).items()}
    policy = esc.Policy((esc.GroupRoster(group.id, group.name, members),), timings)
    asked_by = person.display_name if person is not None else "le PC"
    page = Page(event_id=event.id, organization_id=event.organization_id, severity=max(event.severity, LEAST_SEVERITY),
                policy={**policy.to_json(), "help": {"response_id": response.id, "person_id": response.person_id,
                                                     "person": asked_by, "text": response.text[:160]}},
                started_at=now, status=page_service.ACTIVE, reply_code=page_service.new_reply_code(db_session))
    db_session.add(page)
    db_session.flush()
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.PAGE_STARTED, at=now, data={
        "page_id": page.id, "severity": page.severity, "reinforcement": True, "response_id": response.id,
        "requested_by": asked_by,
        "chain": [{"group_id": group.id, "group": group.name, "members": list(members)}]})
    page_service.apply_signal(db_session=db_session, event=event, page=page, signal=esc.Start(), now=now)
    return page


def take_note(*, db_session: Session, event: Event, response_id: int, user_id: int, actor: Actor,
              now: datetime) -> Response:
    """An operator saw the request: the consoles stop ringing for it (once; a second click changes nothing)."""
    response = db_session.scalar(select(Response).where(Response.id == response_id, Response.event_id == event.id))
    if response is None:
        raise NotFound("response")
    if response.kind != "need_help":
        raise Unprocessable("only a call for reinforcement is taken note of", code="not_reinforcement")
    if response.noted_at is not None:
        return response
    response.noted_at, response.noted_by_user_id = now, user_id
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.REINFORCEMENT_NOTED, actor=actor, at=now,
                         data={"response_id": response.id, "person_id": response.person_id})
    return response
