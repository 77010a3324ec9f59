"""Taking the watch (prise d'astreinte), and the planning's gaps reported to the commune.

Each on-call period that starts is a `watch_turns` row due at its start: the worker then asks
the person to confirm (the push's round trip doubles as a channel self-test) and sets the row
due again at the confirmation deadline; still unconfirmed then, the commune's cadre is alerted.
Rows are planned a few days ahead and re-planned whenever the planning changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from backend.coverage import service as coverage_service
from backend.errors import Conflict, NotFound
from backend.groups.models import OnCallGroup
from backend.orgs.models import Organization
from backend.outbox import service as outbox_service
from backend.people.models import Person
from backend.schedule import service as schedule_service
from backend.schedule.models import Rotation
from backend.signals import steps_due
from backend.trace import service as trace_service
from backend.trace.kinds import GroupTraceKind
from backend.trace.service import Actor
from backend.watch.models import GapReport, WatchStatus, WatchTurn
from notifications import notice as notices

PLAN_AHEAD = timedelta(days=8)
GAP_HORIZON = timedelta(days=7)


def plan(*, db_session: Session, group: OnCallGroup, now: datetime) -> int:
    """Make the rows of the periods starting in the next days match the planning; return how many changed."""
    horizon = now + PLAN_AHEAD
    wanted: dict[tuple[datetime, int], tuple[datetime, int | None]] = {}
    previous = schedule_service.holder_at(db_session=db_session, group=group, at=now)
    # Looked at beyond the horizon so that a period starting inside it keeps its true end.
    shifts = schedule_service.shifts(db_session=db_session, group=group, start=now, end=horizon + PLAN_AHEAD)
    for shift in shifts:
        if shift.start >= horizon:
            break
        if shift.person_id is not None and shift.person_id != previous and shift.start > now:
            wanted[(shift.start, shift.person_id)] = (shift.end, previous)
        previous = shift.person_id
    _merge_ends(wanted, shifts)
    existing = {(row.starts_at, row.person_id): row for row in db_session.scalars(
        select(WatchTurn).where(WatchTurn.group_id == group.id, WatchTurn.starts_at > now,
                                WatchTurn.starts_at < horizon, WatchTurn.status.in_((WatchStatus.SCHEDULED, WatchStatus.DROPPED))))}
    changed = 0
    for key, row in existing.items():
        if key not in wanted and row.status == WatchStatus.SCHEDULED:
            row.status, row.due_at = WatchStatus.DROPPED, None
            changed += 1
    for (starts_at, person_id), (ends_at, previous_id) in wanted.items():
        row = existing.get((starts_at, person_id))
        if row is None:
            if _taken(db_session, group.id, starts_at, person_id):
                continue
            db_session.add(WatchTurn(organization_id=group.organization_id, group_id=group.id, person_id=person_id,
                                     previous_person_id=previous_id, starts_at=starts_at, ends_at=ends_at,
                                     status=WatchStatus.SCHEDULED, due_at=starts_at, created_at=now))
            changed += 1
            steps_due(db_session, starts_at)  # the signal keeps the earliest of the transaction
        elif row.status == WatchStatus.DROPPED or row.ends_at != ends_at or row.previous_person_id != previous_id:
            row.status, row.due_at, row.ends_at, row.previous_person_id = WatchStatus.SCHEDULED, starts_at, ends_at, previous_id
            changed += 1
            steps_due(db_session, starts_at)
    db_session.flush()
    return changed


def _merge_ends(wanted: dict, shifts) -> None:
    """A person's period runs on through consecutive shifts of theirs (a turn split only by an edit)."""
    ordered = sorted(shifts, key=lambda s: s.start)
    for (starts_at, person_id), (ends_at, previous_id) in list(wanted.items()):
        end = ends_at
        for shift in ordered:
            if shift.start == end and shift.person_id == person_id:
                end = shift.end
        wanted[(starts_at, person_id)] = (end, previous_id)


def _taken(db_session: Session, group_id: int, starts_at: datetime, person_id: int) -> bool:
    return db_session.scalar(select(WatchTurn.id).where(
        WatchTurn.group_id == group_id, WatchTurn.starts_at == starts_at, WatchTurn.person_id == person_id)) is not None


def plan_all(*, db_session: Session, now: datetime) -> int:
    groups = db_session.scalars(select(OnCallGroup).where(OnCallGroup.id.in_(
        select(Rotation.group_id).where((Rotation.valid_until.is_(None)) | (Rotation.valid_until > now)))))
    return sum(plan(db_session=db_session, group=group, now=now) for group in groups)


# The worker's part --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claimed:
    watch_id: int
    due_at: datetime


def claim_due(*, db_session: Session, worker_id: str, now: datetime, lease_until: datetime,
              limit: int) -> list[Claimed]:
    due = (select(WatchTurn.id)
           .where(WatchTurn.status.in_((WatchStatus.SCHEDULED, WatchStatus.ASKED)), WatchTurn.due_at <= now,
                  (WatchTurn.claim_until.is_(None)) | (WatchTurn.claim_until < now))
           .order_by(WatchTurn.due_at).limit(limit).with_for_update(skip_locked=True, key_share=True))
    rows = db_session.execute(
        update(WatchTurn).where(WatchTurn.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker_id, claim_until=lease_until)
        .returning(WatchTurn.id, WatchTurn.due_at).execution_options(synchronize_session=False))
    return sorted((Claimed(*r) for r in rows), key=lambda c: c.due_at)


def step(*, db_session: Session, watch_id: int, worker_id: str, now: datetime) -> bool:
    """Fire one claimed row: ask at the start, alert the cadre at the deadline; False if it moved on."""
    row = db_session.get(WatchTurn, watch_id)
    if row is None:
        return False
    group = schedule_service.lock_group(db_session, row.group_id)
    db_session.refresh(row, with_for_update={"key_share": True})
    if row.claimed_by != worker_id or row.due_at is None or row.due_at > now:
        return False
    row.claimed_by, row.claim_until = None, None
    if row.status == WatchStatus.SCHEDULED:
        _ask(db_session, group, row, now)
        return True
    if row.status == WatchStatus.ASKED:
        _missed(db_session, group, row, now)
        return True
    return False


def _ask(db_session: Session, group: OnCallGroup, row: WatchTurn, now: datetime) -> None:
    organization = db_session.get(Organization, group.organization_id)
    settings = coverage_service.settings_of(db_session=db_session, organization=organization)
    person = _person(db_session, row.person_id)
    names = schedule_service.names_of(db_session, [row.person_id, row.previous_person_id])
    trace_service.append_group(db_session=db_session, group=group, kind=GroupTraceKind.WATCH_STARTED, at=now, data={
        "watch_id": row.id, "person_id": row.person_id, "person": names.get(row.person_id),
        "previous_person_id": row.previous_person_id, "previous": names.get(row.previous_person_id),
        "starts_at": row.starts_at, "ends_at": row.ends_at})
    tz = ZoneInfo(organization.timezone or "Europe/Paris")
    notice = notices.watch_ask(org_code=organization.code, group=group.name, starts=row.starts_at.astimezone(tz),
                               ends=row.ends_at.astimezone(tz), watch_id=row.id,
                               confirm_minutes=settings.watch_confirm_minutes)
    sent = outbox_service.enqueue_notice(db_session=db_session, organization_id=organization.id, person=person,
                                         notice=notice, now=now)
    row.status, row.asked_at = WatchStatus.ASKED, now
    row.due_at = now + timedelta(minutes=settings.watch_confirm_minutes)
    steps_due(db_session, row.due_at)
    trace_service.append_group(db_session=db_session, group=group, kind=GroupTraceKind.WATCH_ASKED, at=now, data={
        "watch_id": row.id, "person": person.display_name, "deadline": row.due_at,
        "notifications": [{"id": n.id, "channel": n.channel} for n in sent]})


def _missed(db_session: Session, group: OnCallGroup, row: WatchTurn, now: datetime) -> None:
    organization = db_session.get(Organization, group.organization_id)
    person = _person(db_session, row.person_id)
    row.status, row.missed_at, row.due_at = WatchStatus.MISSED, now, None
    cadre = schedule_service.cadre_on_call(db_session=db_session, organization_id=organization.id, at=now)
    if cadre is not None and cadre.id == person.id:
        cadre = None  # the cadre who did not confirm cannot be the one alerted about it
    alerted = []
    if cadre is not None:
        cadre = _person(db_session, cadre.id)
        phone = next((c.address for c in person.contact_methods if c.kind == "sms" and c.enabled), None)
        tz = ZoneInfo(organization.timezone or "Europe/Paris")
        notice = notices.watch_missed(org_code=organization.code, group=group.name, person=person.display_name,
                                      phone=phone, since=row.starts_at.astimezone(tz), watch_id=row.id)
        alerted = outbox_service.enqueue_notice(db_session=db_session, organization_id=organization.id,
                                                person=cadre, notice=notice, now=now, urgent=True)
    trace_service.append_group(db_session=db_session, group=group, kind=GroupTraceKind.WATCH_MISSED, at=now, data={
        "watch_id": row.id, "person_id": person.id, "person": person.display_name,
        "cadre_id": cadre.id if cadre else None, "cadre": cadre.display_name if cadre else None,
        "alarm": True, "notifications": [{"id": n.id, "channel": n.channel} for n in alerted]})


def confirm(*, db_session: Session, row: WatchTurn, person_id: int, via: str, now: datetime) -> WatchTurn:
    if row.person_id != person_id:
        raise NotFound("watch turn")
    if row.status == WatchStatus.CONFIRMED:
        raise Conflict("this turn is already confirmed", code="watch_confirmed")
    if row.status not in (WatchStatus.ASKED, WatchStatus.MISSED):
        raise Conflict("this turn has not begun", code="watch_not_started")
    group = schedule_service.lock_group(db_session, row.group_id)
    late = row.status == WatchStatus.MISSED
    row.status, row.confirmed_at, row.confirmed_via, row.due_at = WatchStatus.CONFIRMED, now, via, None
    person = db_session.get(Person, person_id)
    trace_service.append_group(db_session=db_session, group=group, kind=GroupTraceKind.WATCH_CONFIRMED, at=now,
                               actor=Actor("person", person.id, person.display_name),
                               data={"watch_id": row.id, "via": via, "late": late,
                                     "after_s": round((now - row.asked_at).total_seconds()) if row.asked_at else None})
    return row


def get_mine(*, db_session: Session, watch_id: int, person_id: int) -> WatchTurn:
    row = db_session.scalar(select(WatchTurn).where(WatchTurn.id == watch_id, WatchTurn.person_id == person_id))
    if row is None:
        raise NotFound("watch turn")
    return row


def waiting_for(*, db_session: Session, person_ids: list[int]) -> WatchTurn | None:
    """The person's turn awaiting confirmation, if any (an SMS `OK` confirms it)."""
    return db_session.scalar(select(WatchTurn).where(WatchTurn.person_id.in_(person_ids),
                                                     WatchTurn.status.in_((WatchStatus.ASKED, WatchStatus.MISSED)))
                             .order_by(WatchTurn.starts_at.desc()).limit(1))


def _person(db_session: Session, person_id: int) -> Person:
    return db_session.scalar(select(Person).options(selectinload(Person.contact_methods))
                             .where(Person.id == person_id))


# Gaps --------------------------------------------------------------------------------------------------
def organization_gaps(*, db_session: Session, organization: Organization, start: datetime,
                      end: datetime) -> dict[int, list[tuple[datetime, datetime]]]:
    windows = coverage_service.intervals(db_session=db_session, organization=organization, start=start, end=end)
    groups = db_session.scalars(select(OnCallGroup).where(OnCallGroup.organization_id == organization.id)
                                .order_by(OnCallGroup.id))
    found = {}
    for group in groups:
        holes = schedule_service.gaps(db_session=db_session, group=group, windows=windows, start=start, end=end)
        if holes:
            found[group.id] = holes
    return found


def report_gaps(*, db_session: Session, organization: Organization, now: datetime) -> int:
    """Tell the commune's referents, once per hole, about covered hours nobody holds in the next 7 days."""
    reported = 0
    for group_id, holes in organization_gaps(db_session=db_session, organization=organization, start=now,
                                             end=now + GAP_HORIZON).items():
        new = [(s, e) for s, e in holes if db_session.scalar(select(GapReport.id).where(
            GapReport.group_id == group_id, GapReport.starts_at == s, GapReport.ends_at == e)) is None]
        if not new:
            continue
        group = schedule_service.lock_group(db_session, group_id)
        for s, e in new:
            db_session.add(GapReport(organization_id=organization.id, group_id=group_id, starts_at=s, ends_at=e,
                                     reported_at=now))
        tz = ZoneInfo(organization.timezone or "Europe/Paris")
        notice = notices.gap_report(org_code=organization.code, group=group.name,
                                    gaps=[(s.astimezone(tz), e.astimezone(tz)) for s, e in new])
        told = outbox_service.enqueue_to_referents(db_session=db_session, organization_id=organization.id, notice=notice, now=now)
        trace_service.append_group(db_session=db_session, group=group, kind=GroupTraceKind.PLANNING_GAP, at=now, data={
            "gaps": [{"starts_at": s, "ends_at": e} for s, e in new],
            "notifications": [{"id": n.id, "channel": n.channel} for n in told]})
        reported += len(new)
    return reported


def report_all_gaps(*, db_session: Session, now: datetime) -> int:
    communes = db_session.scalars(select(Organization).where(Organization.kind == "commune"))
    return sum(report_gaps(db_session=db_session, organization=o, now=now) for o in communes)
