"""The planning over HTTP: staff read it, admins and the commune's referent edit it, on-call staff swap."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from backend.auth.service import Principal
from backend.coverage import service as coverage_service
from backend.db import db_now
from backend.deps import CurrentPrincipal, SessionDep, Staff
from backend.errors import Forbidden, Unprocessable
from backend.groups import service as group_service
from backend.groups.dependencies import editable_group
from backend.groups.models import OnCallGroup
from backend.orgs import service as org_service
from backend.orgs.models import Organization
from backend.orgs.schemas import Id
from backend.people.models import Person
from backend.routing import OneHopRoute
from backend.schedule import messages as swap_messages
from backend.schedule import schemas, views
from backend.schedule import service as schedule_service
from backend.schedule.dependencies import me
from backend.schedule.models import SwapStatus
from backend.trace import service as trace_service
from backend.trace.service import Actor
from backend.watch import service as watch_service

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["planning"])

DEFAULT_SPAN = timedelta(days=7)
HORIZON = timedelta(days=10 * 365)  # the planning is read within this of today


def actor_of(principal: Principal) -> Actor:
    return Actor("user", principal.user.id, principal.user.full_name)


def period(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The period asked for, refused before any work when it is empty, too long or too far away
    (the turns of a rotation are counted from its anchor: a date in year 9000 costs minutes)."""
    start = start or now
    end = end or start + DEFAULT_SPAN
    if end <= start:
        raise Unprocessable("end must be after start", code="empty_period")
    if end - start > schedule_service.MAX_SPAN:
        raise Unprocessable("ask for at most 400 days at a time", code="period_too_long")
    if start < now - HORIZON or end > now + HORIZON:
        raise Unprocessable(f"the planning is read within {HORIZON.days // 365} years of today",
                            code="period_too_far")
    return start, end


# Rotations and replacements ------------------------------------------------------------------------
@router.get("/groups/{group_id}/rotation", response_model=schemas.RotationOut | None,
            summary="The rotation in force (null when the group plans no turns)")
def read_rotation(group_id: Id, db: SessionDep, principal: Staff):
    group = group_service.get_group(db_session=db, group_id=group_id, org_ids=principal.org_ids)
    return views.rotation_view(db, schedule_service.current_rotation(db_session=db, group_id=group.id))


@router.put("/groups/{group_id}/rotation", response_model=schemas.RotationOut,
            summary="A new version of the rotation, from `effective_from` (turns already held keep their record)")
def set_rotation(group_id: Id, body: schemas.RotationIn, db: SessionDep, principal: Staff):
    group = editable_group(db, principal, group_id)
    now = db_now(db)
    row = schedule_service.set_rotation(db_session=db, group=group, member_ids=body.member_ids,
                                        anchor_local=body.anchor_local, turn_days=body.turn_days,
                                        effective_from=body.effective_from or now, actor=actor_of(principal),
                                        user_id=principal.user.id)
    watch_service.plan(db_session=db, group=group, now=now)
    return views.rotation_view(db, row)


@router.delete("/groups/{group_id}/rotation", status_code=204, summary="Stop planning turns for this group")
def end_rotation(group_id: Id, db: SessionDep, principal: Staff):
    group = editable_group(db, principal, group_id)
    now = db_now(db)
    schedule_service.end_rotation(db_session=db, group=group, at=now, actor=actor_of(principal))
    watch_service.plan(db_session=db, group=group, now=now)


@router.post("/groups/{group_id}/overrides", status_code=201, response_model=schemas.OverrideOut,
             summary="Someone replaces the holder for a period (sickness, leave); person null = nobody")
def add_override(group_id: Id, body: schemas.OverrideIn, db: SessionDep, principal: Staff):
    group = editable_group(db, principal, group_id)
    row = schedule_service.add_override(db_session=db, group=group, starts_at=body.starts_at, ends_at=body.ends_at,
                                        person_id=body.person_id, replaces_person_id=body.replaces_person_id,
                                        reason=body.reason, actor=actor_of(principal), user_id=principal.user.id)
    watch_service.plan(db_session=db, group=group, now=db_now(db))
    return views.override_view(db, row)


@router.delete("/overrides/{override_id}", response_model=schemas.OverrideOut, summary="Cancel a replacement")
def cancel_override(override_id: Id, db: SessionDep, principal: Staff):
    row = schedule_service.get_override(db_session=db, override_id=override_id, org_ids=principal.org_ids)
    group = editable_group(db, principal, row.group_id)
    now = db_now(db)
    schedule_service.cancel_override(db_session=db, override=row, group=group, actor=actor_of(principal), now=now)
    watch_service.plan(db_session=db, group=group, now=now)
    return views.override_view(db, row)


# Reading the planning ----------------------------------------------------------------------------------
@router.get("/organizations/{organization_id}/planning", response_model=schemas.PlanningOut,
            summary="The week grid: every group's shifts, replacements and gaps, with the PC's hours")
def read_planning(organization_id: Id, db: SessionDep, principal: Staff, start: AwareDatetime | None = None,
                  end: AwareDatetime | None = None, group_id: Id | None = None):
    organization = org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    now = db_now(db)
    start, end = period(start, end, now)
    return views.planning(db_session=db, organization=organization, start=start, end=end, now=now,
                          group_id=group_id)


@router.get("/organizations/{organization_id}/gaps", response_model=list[schemas.GroupPlanningOut],
            summary="Groups with nobody on call during covered hours in the next days")
def read_gaps(organization_id: Id, db: SessionDep, principal: Staff, days: int = Query(default=7, ge=1, le=60)):
    organization = org_service.get(db_session=db, organization_id=organization_id, org_ids=principal.org_ids)
    now = db_now(db)
    grid = views.planning(db_session=db, organization=organization, start=now, end=now + timedelta(days=days), now=now)
    return [g for g in grid["groups"] if g["gaps"]]


@router.get("/groups/{group_id}/trace", summary="The group's own trace: turns taken, confirmations, swaps")
def read_group_trace(group_id: Id, db: SessionDep, principal: Staff, since: AwareDatetime | None = None) -> dict:
    group = group_service.get_group(db_session=db, group_id=group_id, org_ids=principal.org_ids)
    entries = trace_service.list_group_entries(db_session=db, group_id=group.id, since=since)
    check = trace_service.verify_group(db_session=db, group=group)
    return {"group_id": group.id, "intact": check.intact, "first_broken_seq": check.first_broken_seq,
            "entries": [{"seq": e.seq, "at": e.at, "kind": e.kind, "actor": e.actor_label, "data": e.data}
                        for e in entries]}


# Mon astreinte and swaps ---------------------------------------------------------------------------------
@router.get("/me/oncall", response_model=schemas.MyOnCallOut, summary="Mon astreinte")
def my_oncall(db: SessionDep, principal: CurrentPrincipal):
    return views.my_oncall(db_session=db, person=me(db, principal), now=db_now(db))


@router.post("/me/swaps", status_code=201, response_model=schemas.SwapOut, summary="Offer one of my turns")
def request_swap(body: schemas.SwapIn, db: SessionDep, principal: CurrentPrincipal):
    person = me(db, principal)
    group = group_service.get_group(db_session=db, group_id=body.group_id,
                                    org_ids=frozenset({person.organization_id}))
    now = db_now(db)
    swap = schedule_service.request_swap(db_session=db, group=group, requester=person, rotation_id=body.rotation_id,
                                         my_turn=body.my_turn, counterpart_id=body.counterpart_id,
                                         their_turn=body.their_turn, message=body.message, now=now)
    swap_messages.tell(db_session=db, swap=swap, who="counterpart", now=now)
    return views.swap_view(db, swap)


@router.post("/me/swaps/{swap_id}/accept", response_model=schemas.SwapOut)
def accept_swap(swap_id: Id, db: SessionDep, principal: CurrentPrincipal):
    return _answer(db, principal, swap_id, accept=True)


@router.post("/me/swaps/{swap_id}/refuse", response_model=schemas.SwapOut)
def refuse_swap(swap_id: Id, db: SessionDep, principal: CurrentPrincipal):
    return _answer(db, principal, swap_id, accept=False)


@router.post("/me/swaps/{swap_id}/cancel", response_model=schemas.SwapOut)
def cancel_swap(swap_id: Id, db: SessionDep, principal: CurrentPrincipal):
    person = me(db, principal)
    swap = schedule_service.get_swap(db_session=db, swap_id=swap_id, org_ids=frozenset({person.organization_id}))
    return views.swap_view(db, schedule_service.cancel_swap(db_session=db, swap=swap, person=person, now=db_now(db)))


@router.post("/swaps/{swap_id}/approve", response_model=schemas.SwapOut,
             summary="A cadre (or an editor of the directory) approves a swap")
def approve_swap(swap_id: Id, body: schemas.SwapDecisionIn, db: SessionDep, principal: CurrentPrincipal):
    return _decide(db, principal, swap_id, approve=True, note=body.note)


@router.post("/swaps/{swap_id}/reject", response_model=schemas.SwapOut)
def reject_swap(swap_id: Id, body: schemas.SwapDecisionIn, db: SessionDep, principal: CurrentPrincipal):
    return _decide(db, principal, swap_id, approve=False, note=body.note)


def _answer(db, principal: Principal, swap_id: int, *, accept: bool) -> dict:
    person = me(db, principal)
    swap = schedule_service.get_swap(db_session=db, swap_id=swap_id, org_ids=frozenset({person.organization_id}))
    organization = db.get(Organization, swap.organization_id)
    needs = coverage_service.settings_of(db_session=db, organization=organization).swap_needs_approval
    now = db_now(db)
    swap = schedule_service.answer_swap(db_session=db, swap=swap, person=person, accept=accept,
                                        needs_approval=needs, now=now)
    if swap.status == SwapStatus.DONE:
        watch_service.plan(db_session=db, group=db.get(OnCallGroup, swap.group_id), now=now)
    if swap.status in (SwapStatus.DONE, SwapStatus.AWAITING_APPROVAL):
        swap_messages.tell(db_session=db, swap=swap, who="cadre", now=now)
    return views.swap_view(db, swap)


def _decide(db, principal: Principal, swap_id: int, *, approve: bool, note: str) -> dict:
    swap = schedule_service.get_swap(db_session=db, swap_id=swap_id, org_ids=principal.org_ids)
    if principal.role in ("admin", "referent"):
        org_service.ensure_editor(principal=principal, organization_id=swap.organization_id)
        actor = actor_of(principal)
    else:
        person = db.get(Person, principal.person_id) if principal.person_id else None
        if person is None or not views.is_cadre(db, person):
            raise Forbidden("only a cadre of the commune approves swaps", code="role_forbidden")
        actor = Actor("person", person.id, person.display_name)
    now = db_now(db)
    swap = schedule_service.decide_swap(db_session=db, swap=swap, approve=approve, actor=actor, note=note, now=now)
    if swap.status == SwapStatus.DONE:
        watch_service.plan(db_session=db, group=db.get(OnCallGroup, swap.group_id), now=now)
    return views.swap_view(db, swap)
