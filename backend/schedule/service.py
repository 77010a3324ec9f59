"""Planning d'astreinte: rotation versions, overrides and swaps, and who holds the watch at an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Conflict, NotFound, Unprocessable
from backend.groups.models import OnCallGroup
from backend.orgs.models import Organization
from backend.people import service as people_service
from backend.people.models import Person
from backend.schedule.models import Override, Rotation, SwapRequest, SwapStatus
from backend.trace import service as trace_service
from backend.trace.kinds import GroupTraceKind
from backend.trace.service import Actor
from escalation import oncall

MAX_SPAN = timedelta(days=400)


def tz_of(db_session: Session, organization_id: int) -> str:
    return db_session.scalar(select(Organization.timezone).where(Organization.id == organization_id)) or "Europe/Paris"


# Rotation versions ----------------------------------------------------------------------------
def rotations_between(*, db_session: Session, group_id: int, start: datetime, end: datetime) -> list[Rotation]:
    return list(db_session.scalars(
        select(Rotation).where(Rotation.group_id == group_id, Rotation.valid_from < end,
                               (Rotation.valid_until.is_(None)) | (Rotation.valid_until > start))
        .order_by(Rotation.valid_from)))


def rotation_at(*, db_session: Session, group_id: int, at: datetime) -> Rotation | None:
    rows = rotations_between(db_session=db_session, group_id=group_id, start=at, end=at + timedelta(microseconds=1))
    return rows[-1] if rows else None


def current_rotation(*, db_session: Session, group_id: int) -> Rotation | None:
    return db_session.scalar(select(Rotation).where(Rotation.group_id == group_id, Rotation.valid_until.is_(None))
                             .order_by(Rotation.valid_from.desc()).limit(1))


def core_rotation(row: Rotation, tz: str) -> oncall.Rotation:
    return oncall.Rotation(members=tuple(row.member_ids), anchor=row.anchor_local, tz=tz, turn_days=row.turn_days,
                           until=row.valid_until)


def set_rotation(*, db_session: Session, group: OnCallGroup, member_ids: list[int], anchor_local: datetime,
                 turn_days: int, effective_from: datetime, actor: Actor, user_id: int | None) -> Rotation:
    """A new version from `effective_from`: turns already held keep their record."""
    if not member_ids:
        raise Unprocessable("a rotation needs at least one person", code="empty_rotation")
    if len(set(member_ids)) != len(member_ids):
        raise Unprocessable("a person appears twice in the rotation", code="duplicate_member")
    people_service.ensure_members(db_session=db_session, organization_id=group.organization_id,
                                  person_ids=member_ids)
    lock_group(db_session, group.id)
    later = db_session.scalar(select(Rotation.id).where(Rotation.group_id == group.id,
                                                        Rotation.valid_from > effective_from).limit(1))
    if later is not None:
        raise Conflict("a later version of this rotation exists; change it instead", code="rotation_superseded")
    previous = current_rotation(db_session=db_session, group_id=group.id)
    if previous is not None:
        if previous.valid_from >= effective_from:
            db_session.delete(previous)  # it never applied: replace it outright
        else:
            previous.valid_until = effective_from
    row = Rotation(organization_id=group.organization_id, group_id=group.id, member_ids=list(member_ids),
                   anchor_local=anchor_local.replace(tzinfo=None, second=0, microsecond=0), turn_days=turn_days,
                   valid_from=effective_from, created_by_user_id=user_id)
    db_session.add(row)
    db_session.flush()
    trace_service.append_group(db_session=db_session, group=group, kind=GroupTraceKind.ROTATION_CHANGED, actor=actor,
                               at=effective_from, data={
                                   "rotation_id": row.id, "members": member_ids, "turn_days": turn_days,
                                   "anchor_local": row.anchor_local.isoformat(timespec="minutes"),
                                   "effective_from": effective_from})
    return row


def end_rotation(*, db_session: Session, group: OnCallGroup, at: datetime, actor: Actor) -> None:
    lock_group(db_session, group.id)
    row = current_rotation(db_session=db_session, group_id=group.id)
    if row is None:
        raise NotFound("rotation")
    if row.valid_from >= at:
        db_session.delete(row)
    else:
        row.valid_until = at
    trace_service.append_group(db_session=db_session, group=group, kind=GroupTraceKind.ROTATION_ENDED, actor=actor, at=at,
                               data={"rotation_id": row.id})


# Overrides --------------------------------------------------------------------------------------
def overrides_between(*, db_session: Session, group_id: int, start: datetime, end: datetime) -> list[Override]:
    return list(db_session.scalars(
        select(Override).where(Override.group_id == group_id, Override.cancelled_at.is_(None),
                               Override.starts_at < end, Override.ends_at > start)
        .order_by(Override.created_at, Override.id)))


def core_override(row: Override) -> oncall.Override:
    return oncall.Override(start=row.starts_at, end=row.ends_at, person_id=row.person_id,
                           replaces=row.replaces_person_id)


def add_override(*, db_session: Session, group: OnCallGroup, starts_at: datetime, ends_at: datetime,
                 person_id: int | None, replaces_person_id: int | None, reason: str, actor: Actor,
                 user_id: int | None, origin: str = "manual", swap_id: int | None = None) -> Override:
    if ends_at <= starts_at:
        raise Unprocessable("the replacement must end after it starts", code="empty_period")
    if ends_at - starts_at > MAX_SPAN:
        raise Unprocessable("a replacement lasts at most 400 days", code="period_too_long")
    if not rotations_between(db_session=db_session, group_id=group.id, start=starts_at, end=ends_at):
        raise Unprocessable("this group has no rotation over that period", code="no_rotation")
    people_service.ensure_members(db_session=db_session, organization_id=group.organization_id,
                                  person_ids=[p for p in (person_id, replaces_person_id) if p is not None])
    lock_group(db_session, group.id)
    row = Override(organization_id=group.organization_id, group_id=group.id, starts_at=starts_at, ends_at=ends_at,
                   person_id=person_id, replaces_person_id=replaces_person_id, reason=reason, origin=origin,
                   swap_id=swap_id, created_by_user_id=user_id)
    db_session.add(row)
    db_session.flush()
    names = names_of(db_session, [person_id, replaces_person_id])
    trace_service.append_group(db_session=db_session, group=group, kind=GroupTraceKind.OVERRIDE_ADDED, actor=actor, data={
        "override_id": row.id, "starts_at": starts_at, "ends_at": ends_at, "person_id": person_id,
        "person": names.get(person_id, "personne"), "replaces_person_id": replaces_person_id,
        "replaces": names.get(replaces_person_id), "reason": reason, "origin": origin})
    return row


def cancel_override(*, db_session: Session, override: Override, group: OnCallGroup, actor: Actor,
                    now: datetime) -> Override:
    if override.cancelled_at is not None:
        raise Conflict("this replacement is already cancelled", code="override_cancelled")
    lock_group(db_session, group.id)
    override.cancelled_at = now
    trace_service.append_group(db_session=db_session, group=group, kind=GroupTraceKind.OVERRIDE_CANCELLED, actor=actor,
                               at=now, data={"override_id": override.id})
    return override


def get_override(*, db_session: Session, override_id: int, org_ids: frozenset[int]) -> Override:
    row = db_session.scalar(select(Override).where(Override.id == override_id,
                                                   Override.organization_id.in_(org_ids)))
    if row is None:
        raise NotFound("override")
    return row


# Who is on call -----------------------------------------------------------------------------------
def shifts(*, db_session: Session, group: OnCallGroup, start: datetime, end: datetime) -> list[oncall.Shift]:
    """The effective periods of the group over [start, end), overrides applied, across rotation versions."""
    return [shift for _, shift in versioned_shifts(db_session=db_session, group=group, start=start, end=end)]


def versioned_shifts(*, db_session: Session, group: OnCallGroup, start: datetime,
                     end: datetime) -> list[tuple[Rotation, oncall.Shift]]:
    if end - start > MAX_SPAN:
        raise Unprocessable("ask for at most 400 days at a time", code="period_too_long")
    tz = tz_of(db_session, group.organization_id)
    overrides = [core_override(o) for o in overrides_between(db_session=db_session, group_id=group.id,
                                                             start=start, end=end)]
    result = []
    for row in rotations_between(db_session=db_session, group_id=group.id, start=start, end=end):
        piece_start = max(start, row.valid_from)
        piece_end = min(end, row.valid_until) if row.valid_until else end
        if piece_start < piece_end:
            result += [(row, s) for s in oncall.shifts(core_rotation(row, tz), overrides, piece_start, piece_end)]
    return result


def turns(*, db_session: Session, group: OnCallGroup, start: datetime, end: datetime) -> list[tuple[Rotation, oncall.Turn]]:
    tz = tz_of(db_session, group.organization_id)
    found = []
    for row in rotations_between(db_session=db_session, group_id=group.id, start=start, end=end):
        core = core_rotation(row, tz)
        for turn in oncall.turns(core, max(start, row.valid_from), min(end, row.valid_until) if row.valid_until else end):
            found.append((row, turn))
    return found


def holder_at(*, db_session: Session, group: OnCallGroup, at: datetime) -> int | None:
    row = rotation_at(db_session=db_session, group_id=group.id, at=at)
    if row is None:
        return None
    overrides = [core_override(o) for o in overrides_between(db_session=db_session, group_id=group.id,
                                                             start=at, end=at + timedelta(microseconds=1))]
    return oncall.holder_at(core_rotation(row, tz_of(db_session, group.organization_id)), overrides, at)


def roster_at(*, db_session: Session, group: OnCallGroup, members: tuple[int, ...], at: datetime) -> tuple[int, ...]:
    """Escalation order at `at`: the holder of the turn first, then the rest of the group in roster order."""
    return rosters_at(db_session=db_session, groups={group: members}, at=at)[group.id]


def rosters_at(*, db_session: Session, groups: dict[OnCallGroup, tuple[int, ...]],
               at: datetime) -> dict[int, tuple[int, ...]]:
    """`roster_at` for several groups (each with its members in roster order), read together: an
    event's procedure names two or three groups, frozen in its creation's transaction."""
    ids = [group.id for group in groups]
    end = at + timedelta(microseconds=1)
    rotations: dict[int, Rotation] = {}
    for version in db_session.scalars(select(Rotation).where(Rotation.group_id.in_(ids), Rotation.valid_from < end,
                                                             (Rotation.valid_until.is_(None)) | (Rotation.valid_until > at))
                                      .order_by(Rotation.valid_from)):
        rotations[version.group_id] = version  # the latest version in force, as `rotation_at`
    overrides: dict[int, list[oncall.Override]] = {group_id: [] for group_id in rotations}
    if rotations:
        for override in db_session.scalars(select(Override).where(Override.group_id.in_(list(rotations)),
                                                                  Override.cancelled_at.is_(None),
                                                                  Override.starts_at < end, Override.ends_at > at)
                                           .order_by(Override.created_at, Override.id)):
            overrides[override.group_id].append(core_override(override))
    zones: dict[int, str] = {}
    out = {}
    for group, members in groups.items():
        row = rotations.get(group.id)
        if row is None:
            out[group.id] = tuple(members)
            continue
        if group.organization_id not in zones:
            zones[group.organization_id] = tz_of(db_session, group.organization_id)
        out[group.id] = oncall.roster_at(members, core_rotation(row, zones[group.organization_id]),
                                         overrides[group.id], at)
    return out


def cadre_on_call(*, db_session: Session, organization_id: int, at: datetime) -> Person | None:
    """The commune's cadre d'astreinte at `at`: the first of its cadre group's roster at that instant."""
    for group in db_session.scalars(select(OnCallGroup).where(OnCallGroup.organization_id == organization_id,
                                                              OnCallGroup.kind == "cadre").order_by(OnCallGroup.id)):
        members = tuple(m.person_id for m in group.members)
        for person_id in roster_at(db_session=db_session, group=group, members=members, at=at):
            person = db_session.get(Person, person_id)
            if person is not None and person.active:
                return person
    return None


# Swaps ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TurnRef:
    rotation: Rotation
    turn: oncall.Turn


def find_turn(*, db_session: Session, group: OnCallGroup, rotation_id: int, index: int) -> TurnRef:
    row = db_session.get(Rotation, rotation_id)
    if row is None or row.group_id != group.id:
        raise NotFound("rotation")
    core = core_rotation(row, tz_of(db_session, group.organization_id))
    start, end = oncall.turn_bounds(core, index)
    if index < 0 or start < row.valid_from or (row.valid_until is not None and start >= row.valid_until):
        raise Unprocessable("this turn is not part of the rotation", code="unknown_turn")
    return TurnRef(row, oncall.Turn(index, row.member_ids[index % len(row.member_ids)], start, end))


def request_swap(*, db_session: Session, group: OnCallGroup, requester: Person, rotation_id: int, my_turn: int,
                 counterpart_id: int, their_turn: int | None, message: str, now: datetime) -> SwapRequest:
    mine = find_turn(db_session=db_session, group=group, rotation_id=rotation_id, index=my_turn)
    if holder_at(db_session=db_session, group=group, at=mine.turn.start) != requester.id:
        raise Unprocessable("you do not hold this turn", code="not_your_turn")
    if mine.turn.start <= now:
        raise Unprocessable("this turn has already begun", code="turn_started")
    if counterpart_id == requester.id:
        raise Unprocessable("a swap is with someone else", code="swap_with_self")
    people_service.ensure_members(db_session=db_session, organization_id=group.organization_id,
                                  person_ids=[counterpart_id])
    if their_turn is not None:
        theirs = find_turn(db_session=db_session, group=group, rotation_id=rotation_id, index=their_turn)
        if holder_at(db_session=db_session, group=group, at=theirs.turn.start) != counterpart_id:
            raise Unprocessable("your colleague does not hold that turn", code="not_their_turn")
        if theirs.turn.start <= now:
            raise Unprocessable("that turn has already begun", code="turn_started")
    swap = SwapRequest(organization_id=group.organization_id, group_id=group.id, requester_id=requester.id,
                       requester_turn=my_turn, counterpart_id=counterpart_id, counterpart_turn=their_turn,
                       rotation_id=rotation_id, message=message, status=SwapStatus.PENDING, created_at=now)
    db_session.add(swap)
    db_session.flush()
    _trace_swap(db_session, group, swap, GroupTraceKind.SWAP_REQUESTED, Actor("person", requester.id, requester.display_name), now)
    return swap


def answer_swap(*, db_session: Session, swap: SwapRequest, person: Person, accept: bool, needs_approval: bool,
                now: datetime) -> SwapRequest:
    if swap.counterpart_id != person.id:
        raise NotFound("swap request")
    _ensure_status(swap, "pending")
    group = db_session.get(OnCallGroup, swap.group_id)
    actor = Actor("person", person.id, person.display_name)
    swap.answered_at = now
    if not accept:
        swap.status = SwapStatus.REFUSED
        _trace_swap(db_session, group, swap, GroupTraceKind.SWAP_REFUSED, actor, now)
        return swap
    _ensure_still_valid(db_session, group, swap, now)
    _trace_swap(db_session, group, swap, GroupTraceKind.SWAP_ACCEPTED, actor, now)
    if needs_approval:
        swap.status = SwapStatus.AWAITING_APPROVAL
        return swap
    return _apply_swap(db_session, group, swap, actor, now)


def decide_swap(*, db_session: Session, swap: SwapRequest, approve: bool, actor: Actor, note: str,
                now: datetime) -> SwapRequest:
    _ensure_status(swap, "awaiting_approval")
    group = db_session.get(OnCallGroup, swap.group_id)
    swap.decided_by, swap.decision_note = actor.label, note
    if not approve:
        swap.status, swap.decided_at = SwapStatus.REJECTED, now
        _trace_swap(db_session, group, swap, GroupTraceKind.SWAP_REJECTED, actor, now)
        return swap
    _ensure_still_valid(db_session, group, swap, now)
    return _apply_swap(db_session, group, swap, actor, now)


def cancel_swap(*, db_session: Session, swap: SwapRequest, person: Person, now: datetime) -> SwapRequest:
    if swap.requester_id != person.id:
        raise NotFound("swap request")
    if swap.status not in (SwapStatus.PENDING, SwapStatus.AWAITING_APPROVAL):
        raise Conflict(f"this swap request is {swap.status}", code="swap_closed")
    swap.status, swap.decided_at = SwapStatus.CANCELLED, now
    _trace_swap(db_session, db_session.get(OnCallGroup, swap.group_id), swap, GroupTraceKind.SWAP_CANCELLED,
                Actor("person", person.id, person.display_name), now)
    return swap


def get_swap(*, db_session: Session, swap_id: int, org_ids: frozenset[int]) -> SwapRequest:
    swap = db_session.scalar(select(SwapRequest).where(SwapRequest.id == swap_id,
                                                       SwapRequest.organization_id.in_(org_ids)))
    if swap is None:
        raise NotFound("swap request")
    return swap


def swaps_of(*, db_session: Session, person_id: int) -> list[SwapRequest]:
    return list(db_session.scalars(select(SwapRequest).where(
        (SwapRequest.requester_id == person_id) | (SwapRequest.counterpart_id == person_id))
        .order_by(SwapRequest.created_at.desc()).limit(50)))


def swap_turns(db_session: Session, group: OnCallGroup, swap: SwapRequest) -> tuple[TurnRef, TurnRef | None]:
    mine = find_turn(db_session=db_session, group=group, rotation_id=swap.rotation_id, index=swap.requester_turn)
    theirs = None if swap.counterpart_turn is None else find_turn(
        db_session=db_session, group=group, rotation_id=swap.rotation_id, index=swap.counterpart_turn)
    return mine, theirs


def _apply_swap(db_session: Session, group: OnCallGroup, swap: SwapRequest, actor: Actor,
                now: datetime) -> SwapRequest:
    mine, theirs = swap_turns(db_session, group, swap)
    periods = [(mine.turn, swap.counterpart_id, swap.requester_id)]
    if theirs is not None:
        periods.append((theirs.turn, swap.requester_id, swap.counterpart_id))
    for turn, person_id, replaces in periods:
        add_override(db_session=db_session, group=group, starts_at=turn.start, ends_at=turn.end,
                     person_id=person_id, replaces_person_id=replaces, reason="échange de tour", actor=actor,
                     user_id=None, origin="swap", swap_id=swap.id)
    swap.status, swap.decided_at = SwapStatus.DONE, now
    _trace_swap(db_session, group, swap, GroupTraceKind.SWAP_DONE, actor, now)
    return swap


def _ensure_status(swap: SwapRequest, status: str) -> None:
    if swap.status != status:
        raise Conflict(f"this swap request is {swap.status}", code="swap_closed")


def _ensure_still_valid(db_session: Session, group: OnCallGroup, swap: SwapRequest, now: datetime) -> None:
    mine, theirs = swap_turns(db_session, group, swap)
    for ref, holder in ((mine, swap.requester_id), (theirs, swap.counterpart_id)):
        if ref is None:
            continue
        if ref.turn.start <= now:
            raise Conflict("a turn of this swap has already begun", code="turn_started")
        if holder_at(db_session=db_session, group=group, at=ref.turn.start) != holder:
            raise Conflict("the planning changed since the request", code="planning_changed")


def _trace_swap(db_session: Session, group: OnCallGroup, swap: SwapRequest, kind: GroupTraceKind, actor: Actor,
                now: datetime) -> None:
    lock_group(db_session, group.id)
    names = names_of(db_session, [swap.requester_id, swap.counterpart_id])
    trace_service.append_group(db_session=db_session, group=group, kind=kind, actor=actor, at=now, data={
        "swap_id": swap.id, "requester": names.get(swap.requester_id), "counterpart": names.get(swap.counterpart_id),
        "requester_turn": swap.requester_turn, "counterpart_turn": swap.counterpart_turn,
        "rotation_id": swap.rotation_id})


# Gaps -------------------------------------------------------------------------------------------------
def gaps(*, db_session: Session, group: OnCallGroup, windows: list[tuple[datetime, datetime]], start: datetime,
         end: datetime) -> list[tuple[datetime, datetime]]:
    """Covered time with nobody holding the watch; a group that plans no turns has none to report."""
    if not rotations_between(db_session=db_session, group_id=group.id, start=start, end=end):
        return []
    found = shifts(db_session=db_session, group=group, start=start, end=end)
    inactive = set(db_session.scalars(select(Person.id).where(
        Person.id.in_({s.person_id for s in found if s.person_id is not None}), Person.active.is_(False))))
    staffed = [s for s in found if s.person_id is not None and s.person_id not in inactive]
    return oncall.gaps(staffed, windows)


# Helpers -----------------------------------------------------------------------------------------------
def names_of(db_session: Session, person_ids) -> dict[int, str]:
    ids = {p for p in person_ids if p is not None}
    return {p.id: p.display_name for p in people_service.people_by_id(db_session=db_session, person_ids=ids).values()}


def lock_group(db_session: Session, group_id: int) -> OnCallGroup:
    # The group row carries the head of its trace chain: one writer at a time.
    return db_session.scalar(select(OnCallGroup).where(OnCallGroup.id == group_id).with_for_update(key_share=True)
                             .execution_options(populate_existing=True))
