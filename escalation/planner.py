"""The escalation planner of one page (one solicitation of an event).

A page walks a frozen chain of groups: the members of each group one at a time in roster
order, then the next group, and the whole chain again `repeats` times. `decide` takes the
page's state, its frozen policy, one signal and `now`, and returns the new state (with the
next deadline) and the actions the shell must carry out. It never looks at a clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from escalation.severity import DEFAULT_SEVERITY


class PageStatus(str, enum.Enum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    UNREACHED = "unreached"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class GroupRoster:
    group_id: int
    name: str
    members: tuple[int, ...]  # person ids, in the order they are tried


@dataclass(frozen=True)
class Timing:
    ack_timeout_s: int
    repeats: int = 1  # further passes over the whole chain after the first one


@dataclass(frozen=True)
class Policy:
    chain: tuple[GroupRoster, ...]
    timings: dict[int, Timing]  # by severity; a severity without timing asks no acknowledgement

    def timing(self, severity: int) -> Timing | None:
        return self.timings.get(severity)

    def to_json(self) -> dict:
        return {
            "chain": [
                {"group_id": g.group_id, "name": g.name, "members": list(g.members)} for g in self.chain
            ],
            "timings": {
                str(sev): {"ack_timeout_s": t.ack_timeout_s, "repeats": t.repeats}
                for sev, t in sorted(self.timings.items())
            },
        }

    @classmethod
    def from_json(cls, data: dict) -> Policy:
        return cls(
            chain=tuple(
                GroupRoster(g["group_id"], g["name"], tuple(g["members"])) for g in data["chain"]
            ),
            timings={
                int(sev): Timing(t["ack_timeout_s"], t["repeats"]) for sev, t in data["timings"].items()
            },
        )


@dataclass(frozen=True)
class PageState:
    status: PageStatus = PageStatus.ACTIVE
    severity: int = DEFAULT_SEVERITY
    round: int = 0
    group_index: int = 0
    member_index: int = -1  # -1: nobody tried yet
    declined: frozenset[int] = frozenset()
    notified_at: datetime | None = None  # when the current target was solicited
    due_at: datetime | None = None  # the next deadline; None once nothing is left to do

    @property
    def started(self) -> bool:
        return self.member_index >= 0

    def current_target(self, policy: Policy) -> int | None:
        if not self.started or self.status is not PageStatus.ACTIVE:
            return None
        return policy.chain[self.group_index].members[self.member_index]


# Signals: what happened to the page.
@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Tick:
    """A deadline was reached (the shell calls it when `now >= state.due_at`)."""


@dataclass(frozen=True)
class Declined:
    person_id: int
    reason: str = ""


@dataclass(frozen=True)
class NotReached:
    """The person's call was taken by an answering machine: like a timeout come early, not a decline
    (they are asked again in a later round)."""

    person_id: int
    reason: str = "voicemail"


@dataclass(frozen=True)
class Acknowledged:
    person_id: int | None  # None: acknowledged by an operator on nobody's behalf


@dataclass(frozen=True)
class Requalified:
    severity: int


@dataclass(frozen=True)
class Cancelled:
    reason: str


Signal = Start | Tick | Declined | NotReached | Acknowledged | Requalified | Cancelled


# Actions: what the shell must do.
@dataclass(frozen=True)
class Notify:
    person_id: int
    group_id: int
    round: int
    reason: str  # "start", "timeout", "declined", "voicemail"


@dataclass(frozen=True)
class Escalated:
    from_group_id: int
    to_group_id: int


@dataclass(frozen=True)
class Repeated:
    round: int  # the pass that starts (1 = second pass)


@dataclass(frozen=True)
class Unreached:
    rounds: int


@dataclass(frozen=True)
class Stopped:
    status: PageStatus
    reason: str


Action = Notify | Escalated | Repeated | Unreached | Stopped


@dataclass(frozen=True)
class Decision:
    state: PageState
    actions: tuple[Action, ...] = field(default=())

    @property
    def due_at(self) -> datetime | None:
        return self.state.due_at


def decide(state: PageState, policy: Policy, signal: Signal, now: datetime) -> Decision:
    """Apply one signal to a page; a signal that no longer applies changes nothing."""
    if state.status is not PageStatus.ACTIVE:
        return Decision(state)
    if isinstance(signal, Start):
        if state.started:
            return Decision(state)
        return _advance(state, policy, now, reason="start")
    if isinstance(signal, Tick):
        if state.due_at is None or now < state.due_at:
            return Decision(state)
        return _advance(state, policy, now, reason="timeout")
    if isinstance(signal, Declined):
        declined = replace(state, declined=state.declined | {signal.person_id})
        if state.current_target(policy) == signal.person_id:
            return _advance(declined, policy, now, reason="declined")
        return Decision(declined)
    if isinstance(signal, NotReached):
        if state.current_target(policy) == signal.person_id:
            return _advance(state, policy, now, reason=signal.reason)
        return Decision(state)
    if isinstance(signal, Acknowledged):
        done = replace(state, status=PageStatus.ACKNOWLEDGED, due_at=None)
        return Decision(done, (Stopped(PageStatus.ACKNOWLEDGED, "acknowledged"),))
    if isinstance(signal, Requalified):
        return _requalify(state, policy, signal.severity, now)
    if isinstance(signal, Cancelled):
        done = replace(state, status=PageStatus.CANCELLED, due_at=None)
        return Decision(done, (Stopped(PageStatus.CANCELLED, signal.reason),))
    raise TypeError(f"unknown signal {signal!r}")


def _requalify(state: PageState, policy: Policy, severity: int, now: datetime) -> Decision:
    timing = policy.timing(severity)
    if timing is None:
        done = replace(state, severity=severity, status=PageStatus.CANCELLED, due_at=None)
        return Decision(done, (Stopped(PageStatus.CANCELLED, "no acknowledgement asked at this severity"),))
    requalified = replace(state, severity=severity)
    if state.notified_at is None:
        return Decision(requalified)
    # The running step adopts the new timeout, counted from when its target was solicited.
    due = max(now, state.notified_at + timedelta(seconds=timing.ack_timeout_s))
    return Decision(replace(requalified, due_at=due))


def _positions(state: PageState, policy: Policy, repeats: int):
    """Every (round, group, member) position after the current one, in the order they are tried."""
    round_, group, member = state.round, state.group_index, state.member_index + 1
    while round_ <= repeats:
        while group < len(policy.chain):
            members = policy.chain[group].members
            while member < len(members):
                yield round_, group, member
                member += 1
            group, member = group + 1, 0
        round_, group, member = round_ + 1, 0, 0


def _advance(state: PageState, policy: Policy, now: datetime, reason: str) -> Decision:
    timing = policy.timing(state.severity)
    if timing is None:
        done = replace(state, status=PageStatus.CANCELLED, due_at=None)
        return Decision(done, (Stopped(PageStatus.CANCELLED, "no acknowledgement asked at this severity"),))
    for round_, group, member in _positions(state, policy, timing.repeats):
        person = policy.chain[group].members[member]
        if person in state.declined:
            continue
        actions: list[Action] = []
        if round_ != state.round:
            actions.append(Repeated(round_))
        elif state.started and group != state.group_index:
            actions.append(
                Escalated(policy.chain[state.group_index].group_id, policy.chain[group].group_id)
            )
        actions.append(Notify(person, policy.chain[group].group_id, round_, reason))
        moved = replace(
            state,
            round=round_,
            group_index=group,
            member_index=member,
            notified_at=now,
            due_at=now + timedelta(seconds=timing.ack_timeout_s),
        )
        return Decision(moved, tuple(actions))
    rounds = state.round + 1
    done = replace(state, status=PageStatus.UNREACHED, due_at=None)
    return Decision(done, (Unreached(rounds),))
