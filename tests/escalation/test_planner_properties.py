"""Properties of the escalation planner, over generated rosters and histories of signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

import escalation as esc

T0 = datetime(2026, 11, 22, 3, 10, tzinfo=UTC)


@st.composite
def policies(draw):
    person_ids = iter(range(1, 1000))
    groups = []
    for group_id in range(1, draw(st.integers(1, 3)) + 1):
        members = tuple(next(person_ids) for _ in range(draw(st.integers(1, 4))))
        groups.append(esc.GroupRoster(group_id, f"G{group_id}", members))
    timings = {sev: esc.Timing(draw(st.integers(1, 900)), draw(st.integers(0, 2))) for sev in (2, 3, 4)}
    return esc.Policy(tuple(groups), timings)


def people_of(policy: esc.Policy) -> list[int]:
    return [p for g in policy.chain for p in g.members]


@st.composite
def histories(draw, policy):
    """Signals with the number of seconds elapsed before each (the shell's view of time)."""
    people = people_of(policy)
    signal = st.one_of(
        st.just(esc.Tick()),
        st.builds(esc.Declined, st.sampled_from(people), st.just("malade")),
        st.builds(esc.NotReached, st.sampled_from(people)),
        st.builds(esc.Acknowledged, st.one_of(st.none(), st.sampled_from(people))),
        st.builds(esc.Requalified, st.sampled_from([2, 3, 4])),
    )
    return draw(st.lists(st.tuples(st.integers(0, 1200), signal), max_size=40))


def run(policy, history, severity=3):
    """Feed Start then the history; return [(signal, decision)] in order."""
    now = T0
    state = esc.PageState(severity=severity)
    decision = esc.decide(state, policy, esc.Start(), now)
    log = [(esc.Start(), decision)]
    for elapsed, signal in history:
        now += timedelta(seconds=elapsed)
        decision = esc.decide(decision.state, policy, signal, now)
        log.append((signal, decision))
    return log


def ticks_until_done(policy, severity=3, limit=500):
    """Only deadlines: nobody ever answers. Each tick lands exactly on the due time."""
    state = esc.decide(esc.PageState(severity=severity), policy, esc.Start(), T0)
    decisions = [state]
    while state.state.due_at is not None and len(decisions) < limit:
        state = esc.decide(state.state, policy, esc.Tick(), state.state.due_at)
        decisions.append(state)
    return decisions


def notified(decisions) -> list[int]:
    return [a.person_id for d in decisions for a in d.actions if isinstance(a, esc.Notify)]


@given(st.data())
def test_nothing_is_sent_for_a_page_after_its_acknowledgement(data):
    policy = data.draw(policies())
    log = run(policy, data.draw(histories(policy)))
    acked = False
    for _signal, decision in log:
        if acked:
            assert decision.actions == ()
            assert decision.state.status is esc.PageStatus.ACKNOWLEDGED
            assert decision.state.due_at is None
        if decision.state.status is esc.PageStatus.ACKNOWLEDGED:
            acked = True


@given(st.data())
def test_each_deadline_acts_once(data):
    policy = data.draw(policies())
    log = run(policy, data.draw(histories(policy)))
    for _signal, decision in log:
        state = decision.state
        if state.due_at is None:
            continue
        early = esc.decide(state, policy, esc.Tick(), state.due_at - timedelta(microseconds=1))
        assert early.actions == () and early.state == state, "a deadline acted before it was due"
        fired = esc.decide(state, policy, esc.Tick(), state.due_at)
        assert fired.actions, "a due deadline did nothing"
        again = esc.decide(fired.state, policy, esc.Tick(), state.due_at)
        assert again.actions == (), "the same deadline acted twice"


@given(policies(), st.sampled_from([2, 3]))
def test_without_answers_the_roster_is_followed_in_order_every_round(policy, severity):
    decisions = ticks_until_done(policy, severity)
    rounds = policy.timing(severity).repeats + 1
    assert notified(decisions) == people_of(policy) * rounds
    timeout = timedelta(seconds=policy.timing(severity).ack_timeout_s)
    for before, after in zip(decisions, decisions[1:]):
        if after.state.status is esc.PageStatus.ACTIVE:
            assert after.state.due_at - before.state.due_at == timeout


@given(policies())
def test_unreached_is_raised_once_at_the_end_of_the_last_round(policy):
    decisions = ticks_until_done(policy)
    unreached = [a for d in decisions for a in d.actions if isinstance(a, esc.Unreached)]
    assert len(unreached) == 1
    assert isinstance(decisions[-1].actions[-1], esc.Unreached)
    assert decisions[-1].state.status is esc.PageStatus.UNREACHED
    later = esc.decide(decisions[-1].state, policy, esc.Tick(), T0 + timedelta(days=1))
    assert later.actions == ()


@given(st.data())
def test_unreached_is_never_raised_twice_whatever_happens(data):
    policy = data.draw(policies())
    log = run(policy, data.draw(histories(policy)))
    assert sum(isinstance(a, esc.Unreached) for _s, d in log for a in d.actions) <= 1


@given(st.data())
def test_a_person_who_declined_is_not_solicited_again_on_that_page(data):
    policy = data.draw(policies())
    log = run(policy, data.draw(histories(policy)))
    declined: set[int] = set()
    for signal, decision in log:
        for action in decision.actions:
            if isinstance(action, esc.Notify):
                assert action.person_id not in declined
        if isinstance(signal, esc.Declined):
            declined.add(signal.person_id)


@given(st.data())
def test_a_decline_by_the_current_target_moves_on_at_once(data):
    policy = data.draw(policies())
    start = esc.decide(esc.PageState(), policy, esc.Start(), T0)
    target = start.state.current_target(policy)
    moved = esc.decide(start.state, policy, esc.Declined(target, "indisponible"), T0 + timedelta(seconds=5))
    people = people_of(policy)
    if len(people) > 1:
        assert notified([moved]) == [people[1]]
        assert [a.reason for a in moved.actions if isinstance(a, esc.Notify)] == ["declined"]
    else:
        assert moved.state.status is esc.PageStatus.UNREACHED


@given(st.data())
def test_a_call_taken_by_a_machine_moves_on_at_once_without_counting_as_a_decline(data):
    policy = data.draw(policies())
    start = esc.decide(esc.PageState(), policy, esc.Start(), T0)
    target = start.state.current_target(policy)
    moved = esc.decide(start.state, policy, esc.NotReached(target), T0 + timedelta(seconds=20))
    people = people_of(policy)
    if len(people) > 1:
        assert notified([moved]) == [people[1]]
        assert [a.reason for a in moved.actions if isinstance(a, esc.Notify)] == ["voicemail"]
        assert moved.state.due_at == T0 + timedelta(seconds=20 + policy.timing(3).ack_timeout_s)
        assert target not in moved.state.declined  # asked again in the next round
        stale = esc.decide(moved.state, policy, esc.NotReached(target), T0 + timedelta(seconds=30))
        assert stale.state == moved.state and not stale.actions  # an earlier person's voicemail changes nothing
    elif policy.timing(3).repeats:
        assert notified([moved]) == [target] and moved.state.round == 1
    else:
        assert moved.state.status is esc.PageStatus.UNREACHED


def test_requalifying_adopts_the_new_timeout_from_when_the_target_was_solicited():
    policy = esc.Policy((esc.GroupRoster(1, "Technique", (11, 12)),),
                        {2: esc.Timing(900, 1), 3: esc.Timing(300, 1)})
    start = esc.decide(esc.PageState(severity=2), policy, esc.Start(), T0)
    assert start.state.due_at == T0 + timedelta(seconds=900)
    graver = esc.decide(start.state, policy, esc.Requalified(3), T0 + timedelta(seconds=60))
    assert graver.state.due_at == T0 + timedelta(seconds=300)
    late = esc.decide(start.state, policy, esc.Requalified(3), T0 + timedelta(seconds=600))
    assert late.state.due_at == T0 + timedelta(seconds=600), "an overdue step fires now, not in the past"


def test_requalifying_to_information_stops_the_page():
    policy = esc.Policy((esc.GroupRoster(1, "Technique", (11,)),), {3: esc.Timing(300, 0)})
    start = esc.decide(esc.PageState(severity=3), policy, esc.Start(), T0)
    info = esc.decide(start.state, policy, esc.Requalified(1), T0)
    assert info.state.status is esc.PageStatus.CANCELLED
    assert notified([info]) == []


def test_escalation_to_the_next_group_and_the_next_round_is_announced():
    policy = esc.Policy((esc.GroupRoster(1, "Technique", (11,)), esc.GroupRoster(2, "Cadre", (21,))),
                        {3: esc.Timing(300, 1)})
    decisions = ticks_until_done(policy)
    kinds = [type(a).__name__ for d in decisions for a in d.actions]
    assert kinds == ["Notify", "Escalated", "Notify", "Repeated", "Notify", "Escalated", "Notify", "Unreached"]


@settings(max_examples=50)
@given(policies())
def test_a_policy_survives_its_json_round_trip(policy):
    assert esc.Policy.from_json(policy.to_json()) == policy
