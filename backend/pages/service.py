"""The escalation shell: open pages, feed signals to the pure planner, carry out its actions."""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

import escalation as esc
from backend.db import db_now, get_held, held_row, hold
from backend.events.models import Event
from backend.groups.models import OnCallGroup
from backend.orgs.models import Organization
from backend.outbox import service as outbox_service
from backend.pages.models import Page
from backend.people.models import Person
from backend.procedures.models import DEFAULT_TIMINGS, Procedure
from backend.procedures.plan import Plan
from backend.schedule import service as schedule_service
from backend.signals import steps_due
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.service import SYSTEM, Actor
from escalation.severity import page_chains

ACTIVE = esc.PageStatus.ACTIVE.value


def group_roster(*, db_session: Session, group_id: int, at: datetime) -> esc.GroupRoster:
    """A group's active people in the order escalation tries them at `at`: the holder of the turn first."""
    frozen = db_session.info.get("frozen_rosters", {}).get((group_id, at))
    if frozen is not None:
        return frozen
    return group_rosters(db_session=db_session, group_ids=[group_id], at=at)[group_id]


def group_rosters(*, db_session: Session, group_ids: list[int], at: datetime) -> dict[int, esc.GroupRoster]:
    """`group_roster` for several groups, read together (a few statements in all, not a few each)."""
    ids = list(dict.fromkeys(group_ids))
    groups = {group.id: group for group in db_session.scalars(
        select(OnCallGroup).where(OnCallGroup.id.in_(ids)).options(joinedload(OnCallGroup.members))).unique()}
    missing = set(ids) - set(groups)
    if missing:
        raise LookupError(f"on-call groups {sorted(missing)} do not exist")
    orders = schedule_service.rosters_at(
        db_session=db_session, at=at,
        groups={groups[i]: tuple(m.person_id for m in groups[i].members) for i in ids})
    everyone = {person_id for order in orders.values() for person_id in order}
    active = set(db_session.scalars(select(Person.id).where(Person.id.in_(everyone), Person.active)))
    return {i: esc.GroupRoster(i, groups[i].name, tuple(p for p in orders[i] if p in active)) for i in ids}


@contextmanager
def rosters_frozen(db_session: Session, group_ids: list[int], at: datetime):
    """Within the block, the rosters of `group_ids` at `at` are the ones read on entering it, all
    together: an event's creation asks for each of its groups once or twice (its pages, its
    informed groups), and read one by one they were a third of its statements."""
    frozen = group_rosters(db_session=db_session, group_ids=group_ids, at=at) if group_ids else {}
    db_session.info["frozen_rosters"] = {(group_id, at): roster for group_id, roster in frozen.items()}
    try:
        yield
    finally:
        db_session.info.pop("frozen_rosters", None)


def policy_for(*, db_session: Session, procedure: Procedure | Plan, group_ids: list[int], at: datetime) -> esc.Policy:
    """Freeze the chain (rosters as they are at `at`) and the timings of the procedure."""
    chain = [group_roster(db_session=db_session, group_id=group_id, at=at) for group_id in group_ids]
    timings = {int(sev): esc.Timing(int(t["ack_timeout_s"]), int(t.get("repeats", 1)))
               for sev, t in (procedure.timings or DEFAULT_TIMINGS).items()}
    return esc.Policy(tuple(chain), timings)


def solicited_groups(procedure: Procedure | Plan, severity: int) -> list[int]:
    return [s.group_id for s in procedure.steps if s.mode == "solicit" and s.min_severity <= severity]


def informed_groups(procedure: Procedure | Plan, severity: int) -> list[int]:
    return [s.group_id for s in procedure.steps if s.mode == "inform" and s.min_severity <= severity]


def informed_steps(procedure: Procedure | Plan, severity: int) -> list[tuple[int, bool]]:
    """(group, whole list) for each group the procedure informs at this severity."""
    return [(s.group_id, bool(getattr(s, "inform_all", False))) for s in procedure.steps
            if s.mode == "inform" and s.min_severity <= severity]


def informed_people(roster: esc.GroupRoster, whole_list: bool) -> tuple[int, ...]:
    """Who an inform step tells: the group's person on call (the first escalation would try), or
    every active member when the procedure asks for « toute la liste »."""
    return roster.members if whole_list else roster.members[:1]


def open_pages(*, db_session: Session, event: Event, procedure: Procedure | Plan, now: datetime) -> list[Page]:
    """The pages the severity opens (escalation/severity.py): one walking the chain, or one per group at once.

    `procedure`: the procedure, the version an event was opened with, or the groups chosen without one.
    """
    chains = page_chains(event.severity, solicited_groups(procedure, event.severity))
    return [open_page(db_session=db_session, event=event, procedure=procedure, chain=chain, now=now)
            for chain in chains]


def open_page(*, db_session: Session, event: Event, procedure: Procedure | Plan, chain: list[int], now: datetime) -> Page:
    policy = policy_for(db_session=db_session, procedure=procedure, group_ids=chain, at=now)
    page = Page(event_id=event.id, organization_id=event.organization_id, severity=event.severity,
                policy=policy.to_json(), started_at=now, status=ACTIVE, reply_code=new_reply_code(db_session))
    db_session.add(page)
    db_session.flush()
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.PAGE_STARTED, at=now, data={
        "page_id": page.id, "severity": event.severity,
        "chain": [{"group_id": g.group_id, "group": g.name, "members": list(g.members)} for g in policy.chain],
    })
    apply_signal(db_session=db_session, event=event, page=page, signal=esc.Start(), now=now)
    return page


def new_reply_code(db_session: Session) -> str:
    """Four digits no other open page uses, so `1 4821` names one page without doubt."""
    for _ in range(20):
        code = f"{secrets.randbelow(9000) + 1000}"
        taken = db_session.scalar(select(Page.id).where(Page.reply_code == code, Page.status == ACTIVE).limit(1))
        if taken is None:
            return code
    return f"{secrets.randbelow(900000) + 100000}"


def state_of(page: Page) -> esc.PageState:
    return esc.PageState(status=esc.PageStatus(page.status), severity=page.severity, round=page.round,
                         group_index=page.group_index, member_index=page.member_index,
                         declined=frozenset(page.declined or ()), notified_at=page.notified_at, due_at=page.due_at)


def apply_signal(*, db_session: Session, event: Event, page: Page, signal, now: datetime,
                 actor: Actor = SYSTEM) -> esc.Decision:
    """Decide and carry out, in the caller's transaction, with the page and event rows held."""
    policy = esc.Policy.from_json(page.policy)
    decision = esc.decide(state_of(page), policy, signal, now)
    while True:
        _store(page, decision.state, policy, now)
        if page.status == ACTIVE:
            steps_due(db_session, page.due_at)
        unreachable = _carry_out(db_session=db_session, event=event, page=page, policy=policy,
                                 actions=decision.actions, now=now, actor=actor)
        if unreachable is None:
            return decision
        # Nobody can be reached at this person: move on at once rather than wait a timeout.
        decision = esc.decide(decision.state, policy, esc.Declined(unreachable, "no contact method"), now)


def _store(page: Page, state: esc.PageState, policy: esc.Policy, now: datetime) -> None:
    page.status = state.status.value
    page.severity = state.severity
    page.round = state.round
    page.group_index = state.group_index
    page.member_index = state.member_index
    page.declined = sorted(state.declined)
    page.notified_at = state.notified_at
    page.due_at = state.due_at
    page.version += 1
    page.claimed_by = None
    page.claim_until = None
    if state.status is esc.PageStatus.ACTIVE and state.started:
        page.current_group_id = policy.chain[state.group_index].group_id
        page.current_person_id = policy.chain[state.group_index].members[state.member_index]
    if state.status is not esc.PageStatus.ACTIVE and page.ended_at is None:
        page.ended_at = now


def _carry_out(*, db_session: Session, event: Event, page: Page, policy: esc.Policy, actions, now: datetime,
               actor: Actor) -> int | None:
    """Write the notifications and trace entries of a decision; return a person nobody can reach."""
    groups = {g.group_id: g.name for g in policy.chain}
    unreachable = None
    for action in actions:
        if isinstance(action, esc.Notify):
            person = get_held(db_session, Person, action.person_id, options=[joinedload(Person.contact_methods)])
            organization = get_held(db_session, Organization, event.organization_id)
            rows = outbox_service.enqueue(db_session=db_session, event=event, organization=organization,
                                          person=person, purpose="solicit", now=now, page_id=page.id,
                                          page_version=page.version)
            trace_service.append(db_session=db_session, event=event, kind=TraceKind.PAGE_NOTIFY, at=now, data={
                "page_id": page.id, "person_id": person.id, "person": person.display_name,
                "group_id": action.group_id, "group": groups.get(action.group_id, ""), "round": action.round,
                "reason": action.reason, "due_at": page.due_at,
                "notifications": [{"id": r.id, "channel": r.channel} for r in rows],
            })
            if not rows:
                unreachable = person.id
        elif isinstance(action, esc.Escalated):
            trace_service.append(db_session=db_session, event=event, kind=TraceKind.PAGE_ESCALATED, at=now, data={
                "page_id": page.id, "from_group_id": action.from_group_id, "from_group": groups[action.from_group_id],
                "to_group_id": action.to_group_id, "to_group": groups[action.to_group_id]})
        elif isinstance(action, esc.Repeated):
            trace_service.append(db_session=db_session, event=event, kind=TraceKind.PAGE_REPEATED, at=now,
                                 data={"page_id": page.id, "round": action.round})
        elif isinstance(action, esc.Unreached):
            _raise_unreached(db_session=db_session, event=event, page=page, rounds=action.rounds, now=now)
        elif isinstance(action, esc.Stopped):
            outbox_service.cancel_for_page(db_session=db_session, page_id=page.id)
            kind = TraceKind.PAGE_ACKNOWLEDGED if action.status is esc.PageStatus.ACKNOWLEDGED else TraceKind.PAGE_CANCELLED
            trace_service.append(db_session=db_session, event=event, kind=kind, at=now, actor=actor,
                                 data={"page_id": page.id, "reason": action.reason})
    return unreachable


def _raise_unreached(*, db_session: Session, event: Event, page: Page, rounds: int, now: datetime) -> None:
    # The planner says it once; the column makes it once even if a step were replayed.
    if page.unreached_alarm_at is not None:
        return
    page.unreached_alarm_at = now
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.PAGE_UNREACHED, at=now,
                         data={"page_id": page.id, "rounds": rounds, "alarm": True})


def lock_event_and_page(*, db_session: Session, page_id: int, event_id: int | None = None) -> tuple[Event, Page] | None:
    """Take the event row then the page row, always in this order, so two steps never deadlock."""
    if event_id is None:
        event_id = db_session.scalar(select(Page.event_id).where(Page.id == page_id))
    if event_id is None:
        return None
    # Already locked, with the other steps of its group, by `lock_due_pages`: the page read then.
    event = held_row(db_session, Event, event_id, key=LOCKED)
    page = held_row(db_session, Page, page_id, key=LOCKED, take=True)
    if event is None:
        event = db_session.scalar(select(Event).where(Event.id == event_id).with_for_update(key_share=True))
    if page is None:
        page = db_session.scalar(select(Page).where(Page.id == page_id).with_for_update(key_share=True)
                                 .execution_options(populate_existing=True))
    return event, page


LOCKED = "locked_rows"


def lock_due_pages(*, db_session: Session, items: list[Claimed]) -> None:
    """Lock the events, then the pages, of the next few steps of a group: two statements, not two a step.

    In the order `lock_event_and_page` takes them (events by id, then pages), in the steps'
    transaction; each step then takes its page from here (read now, once).
    """
    event_ids = sorted({item.event_id for item in items})
    for event in db_session.scalars(select(Event).where(Event.id.in_(event_ids)).order_by(Event.id)
                                    .with_for_update(key_share=True)):
        hold(db_session, event, key=LOCKED)
    for page in db_session.scalars(select(Page).where(Page.id.in_([item.page_id for item in items]))
                                   .order_by(Page.id).with_for_update(key_share=True)
                                   .execution_options(populate_existing=True)):
        hold(db_session, page, key=LOCKED)


@dataclass(frozen=True)
class Claimed:
    page_id: int
    event_id: int
    due_at: datetime


def claim_due(*, db_session: Session, worker_id: str, now: datetime, lease_until: datetime,
              limit: int) -> list[Claimed]:
    """Lease due pages to this worker: one statement, safe on SQLite and PostgreSQL."""
    due = (select(Page.id)
           .where(Page.status == ACTIVE, Page.due_at <= now,
                  (Page.claim_until.is_(None)) | (Page.claim_until < now))
           .order_by(Page.due_at).limit(limit).with_for_update(skip_locked=True, key_share=True))
    rows = db_session.execute(
        update(Page).where(Page.id.in_(due.scalar_subquery())).values(claimed_by=worker_id, claim_until=lease_until)
        .returning(Page.id, Page.event_id, Page.due_at)
        .execution_options(synchronize_session=False)
    )
    return sorted((Claimed(*r) for r in rows), key=lambda c: c.due_at)


def step_due_page(*, db_session: Session, page_id: int, worker_id: str, now: datetime | None = None,
                  event_id: int | None = None) -> bool:
    """Fire one claimed page's deadline; False when the page moved on meanwhile (ack, other worker)."""
    held = lock_event_and_page(db_session=db_session, page_id=page_id, event_id=event_id)
    if held is None:
        return False
    event, page = held
    now = now or db_now(db_session)
    if page.status != ACTIVE or page.claimed_by != worker_id or page.due_at is None or page.due_at > now:
        if page.claimed_by == worker_id:
            page.claimed_by, page.claim_until = None, None
        return False
    apply_signal(db_session=db_session, event=event, page=page, signal=esc.Tick(), now=now)
    return True


def not_reached(*, db_session: Session, event: Event, page_id: int, person_id: int, asked_at: datetime,
                now: datetime, reason: str = "voicemail") -> bool:
    """A call asking the person for this page was taken by a machine: the next person is asked now.

    Only while the page still waits for that same asking of them (`asked_at`, when the call was
    queued): a machine answering an older round's call moves nothing. True when the page moved on.
    """
    page = db_session.scalar(select(Page).where(Page.id == page_id).with_for_update(key_share=True)
                             .execution_options(populate_existing=True))
    if (page is None or page.status != ACTIVE or page.current_person_id != person_id
            or page.notified_at is None or page.notified_at > asked_at):
        return False
    apply_signal(db_session=db_session, event=event, page=page, signal=esc.NotReached(person_id, reason), now=now)
    return True


def pages_of_event(*, db_session: Session, event_id: int) -> list[Page]:
    return list(db_session.scalars(select(Page).where(Page.event_id == event_id).order_by(Page.id)))


def next_due(*, db_session: Session) -> datetime | None:
    from sqlalchemy import func

    return db_session.scalar(select(func.min(Page.due_at)).where(Page.status == ACTIVE))

