"""Read models of the planning: the week grid of a commune, and "Mon astreinte" on the phone."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.coverage import service as coverage_service
from backend.groups.models import GroupMember, OnCallGroup
from backend.orgs.models import Organization
from backend.people.models import ContactMethod, Person
from backend.schedule import service as schedule_service
from backend.schedule.models import Override, Rotation, SwapRequest, SwapStatus
from backend.watch.models import WatchStatus, WatchTurn

MY_HORIZON = timedelta(days=90)


def rotation_view(db_session: Session, row: Rotation | None) -> dict | None:
    if row is None:
        return None
    names = schedule_service.names_of(db_session, row.member_ids)
    return {"id": row.id, "group_id": row.group_id, "member_ids": list(row.member_ids),
            "members": [names.get(p, "?") for p in row.member_ids], "anchor_local": row.anchor_local,
            "turn_days": row.turn_days, "valid_from": row.valid_from, "valid_until": row.valid_until,
            "timezone": schedule_service.tz_of(db_session, row.organization_id)}


def override_view(db_session: Session, row: Override) -> dict:
    names = schedule_service.names_of(db_session, [row.person_id, row.replaces_person_id])
    return {"id": row.id, "group_id": row.group_id, "starts_at": row.starts_at, "ends_at": row.ends_at,
            "person_id": row.person_id, "person": names.get(row.person_id),
            "replaces_person_id": row.replaces_person_id, "replaces": names.get(row.replaces_person_id),
            "reason": row.reason, "origin": row.origin, "cancelled_at": row.cancelled_at}


def shift_views(db_session: Session, shifts) -> list[dict]:
    names = schedule_service.names_of(db_session, [s.person_id for s in shifts] + [s.replacing for s in shifts])
    return [{"person_id": s.person_id, "person": names.get(s.person_id), "starts_at": s.start, "ends_at": s.end,
             "turn_index": s.turn_index, "replacing": s.replacing, "replacing_name": names.get(s.replacing)}
            for s in shifts]


def planning(*, db_session: Session, organization: Organization, start: datetime, end: datetime,
             now: datetime, group_id: int | None = None) -> dict:
    """Every group's effective shifts, replacements and gaps over [start, end), with the PC's hours."""
    covered = coverage_service.intervals(db_session=db_session, organization=organization, start=start, end=end)
    query = select(OnCallGroup).where(OnCallGroup.organization_id == organization.id)
    if group_id is not None:
        query = query.where(OnCallGroup.id == group_id)
    groups = []
    for group in db_session.scalars(query.order_by(OnCallGroup.name, OnCallGroup.id)):
        shifts = schedule_service.shifts(db_session=db_session, group=group, start=start, end=end)
        holder = schedule_service.holder_at(db_session=db_session, group=group, at=now)
        overrides = schedule_service.overrides_between(db_session=db_session, group_id=group.id, start=start, end=end)
        groups.append({
            "group_id": group.id, "group": group.name, "kind": group.kind,
            "rotation": rotation_view(db_session, schedule_service.rotation_at(
                db_session=db_session, group_id=group.id, at=max(start, min(now, end))) or
                schedule_service.current_rotation(db_session=db_session, group_id=group.id)),
            "holder_id": holder, "holder": schedule_service.names_of(db_session, [holder]).get(holder),
            "shifts": shift_views(db_session, shifts),
            "overrides": [override_view(db_session, o) for o in overrides],
            "gaps": [{"starts_at": s, "ends_at": e} for s, e in schedule_service.gaps(
                db_session=db_session, group=group, windows=covered, start=start, end=end)],
        })
    return {"organization_id": organization.id, "timezone": organization.timezone, "start": start, "end": end,
            "covered": [{"starts_at": s, "ends_at": e} for s, e in covered], "groups": groups}


def turn_view(db_session: Session, group: OnCallGroup, rotation_id: int, index: int, start: datetime,
              end: datetime, person_id: int | None) -> dict:
    return {"rotation_id": rotation_id, "index": index, "group_id": group.id, "group": group.name,
            "starts_at": start, "ends_at": end, "person_id": person_id,
            "person": schedule_service.names_of(db_session, [person_id]).get(person_id)}


def swap_view(db_session: Session, swap: SwapRequest) -> dict:
    group = db_session.get(OnCallGroup, swap.group_id)
    mine, theirs = schedule_service.swap_turns(db_session, group, swap)
    names = schedule_service.names_of(db_session, [swap.requester_id, swap.counterpart_id])
    return {"id": swap.id, "group_id": group.id, "group": group.name, "status": swap.status,
            "requester_id": swap.requester_id, "requester": names.get(swap.requester_id, "?"),
            "counterpart_id": swap.counterpart_id, "counterpart": names.get(swap.counterpart_id, "?"),
            "my_turn": turn_view(db_session, group, swap.rotation_id, mine.turn.index, mine.turn.start,
                                 mine.turn.end, swap.requester_id),
            "their_turn": None if theirs is None else turn_view(
                db_session, group, swap.rotation_id, theirs.turn.index, theirs.turn.start, theirs.turn.end,
                swap.counterpart_id),
            "message": swap.message, "created_at": swap.created_at, "decided_by": swap.decided_by,
            "decision_note": swap.decision_note}


def is_cadre(db_session: Session, person: Person) -> bool:
    return db_session.scalar(select(GroupMember.id).join(OnCallGroup, OnCallGroup.id == GroupMember.group_id).where(
        GroupMember.person_id == person.id, OnCallGroup.kind == "cadre",
        OnCallGroup.organization_id == person.organization_id).limit(1)) is not None


def my_oncall(*, db_session: Session, person: Person, now: datetime) -> dict:
    """My next turns (after replacements and swaps), who holds each group now, my swaps, my watch."""
    groups = list(db_session.scalars(select(OnCallGroup).where(OnCallGroup.organization_id == person.organization_id)
                                     .order_by(OnCallGroup.name, OnCallGroup.id)))
    next_turns, holders, group_turns, my_groups = [], [], [], []
    for group in groups:
        # From a month back: the turn in progress shows its real start, not "now".
        planned = [(r, s) for r, s in schedule_service.versioned_shifts(
            db_session=db_session, group=group, start=now - timedelta(days=31), end=now + MY_HORIZON) if s.end > now]
        member_ids = [m.person_id for m in group.members]
        if person.id in member_ids:
            names = schedule_service.names_of(db_session, member_ids)
            my_groups.append({"group_id": group.id, "group": group.name, "kind": group.kind,
                              "members": [{"person_id": p, "name": names[p]} for p in member_ids if p in names]})
        if not planned:
            continue
        holder = schedule_service.holder_at(db_session=db_session, group=group, at=now)
        current = next((s for _, s in planned if s.start <= now < s.end), None)
        holders.append({"group_id": group.id, "group": group.name, "kind": group.kind, "person_id": holder,
                        "person": schedule_service.names_of(db_session, [holder]).get(holder),
                        "phone": _sms_number(db_session, holder), "until": current.end if current else None})
        for rotation, shift in planned:
            if shift.turn_index is None or shift.person_id is None:
                continue
            view = turn_view(db_session, group, rotation.id, shift.turn_index, shift.start, shift.end, shift.person_id)
            if shift.person_id == person.id:
                next_turns.append(view)
            elif person.id in member_ids and shift.start > now:
                group_turns.append(view)
    next_turns.sort(key=lambda t: t["starts_at"])
    group_turns.sort(key=lambda t: t["starts_at"])
    watch = db_session.scalars(select(WatchTurn).where(
        WatchTurn.person_id == person.id, WatchTurn.ends_at > now,
        WatchTurn.status.in_((WatchStatus.SCHEDULED, WatchStatus.ASKED, WatchStatus.MISSED, WatchStatus.CONFIRMED))).order_by(WatchTurn.starts_at).limit(10))
    names = {g.id: g.name for g in groups}
    cadre = is_cadre(db_session, person)
    to_approve = []
    if cadre:
        to_approve = [swap_view(db_session, s) for s in db_session.scalars(select(SwapRequest).where(
            SwapRequest.organization_id == person.organization_id, SwapRequest.status == SwapStatus.AWAITING_APPROVAL))]
    return {
        "person_id": person.id, "timezone": schedule_service.tz_of(db_session, person.organization_id),
        "next_turns": next_turns[:20], "holders": holders, "groups": my_groups, "group_turns": group_turns[:60],
        "swaps": [swap_view(db_session, s) for s in schedule_service.swaps_of(db_session=db_session,
                                                                               person_id=person.id)],
        "watch": [{"id": w.id, "group_id": w.group_id, "group": names.get(w.group_id, ""), "starts_at": w.starts_at,
                   "ends_at": w.ends_at, "status": w.status,
                   "deadline": w.due_at if w.status == WatchStatus.ASKED else None, "confirmed_at": w.confirmed_at}
                  for w in watch],
        "can_approve_swaps": cadre, "to_approve": to_approve,
    }


def _sms_number(db_session: Session, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    return db_session.scalar(select(ContactMethod.address).where(
        ContactMethod.person_id == person_id, ContactMethod.kind == "sms", ContactMethod.enabled)
        .order_by(ContactMethod.priority, ContactMethod.id).limit(1))


def watch_rows(*, db_session: Session, group_id: int, start: datetime, end: datetime) -> list[WatchTurn]:
    return list(db_session.scalars(select(WatchTurn).where(
        WatchTurn.group_id == group_id, WatchTurn.starts_at < end, WatchTurn.ends_at > start,
        WatchTurn.status != WatchStatus.DROPPED).order_by(WatchTurn.starts_at)))

