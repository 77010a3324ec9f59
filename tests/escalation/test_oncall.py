"""Rotations, overrides, swaps and gaps: who holds the astreinte when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.coverage import covered_intervals, default_coverage
from escalation.oncall import (
    Override,
    Rotation,
    Shift,
    Turn,
    gaps,
    holder_at,
    roster_at,
    shifts,
    swap,
    turn_at,
    turn_bounds,
    turns,
)

UTC = UTC
PARIS = ZoneInfo("Europe/Paris")
H = timedelta(hours=1)
S = timedelta(seconds=1)

# Monday 2 March 2026 08:30 in Paris; turn k is held by (11, 22, 33)[k % 3].
# Turn 3 (23 → 30 March) contains the spring change, turn 33 (19 → 26 October) the autumn one.
WEEKLY = Rotation(members=(11, 22, 33), anchor=datetime(2026, 3, 2, 8, 30), tz="Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- turns and daylight saving ---------------------------------------------------------


def test_first_turn_starts_at_the_anchor_in_local_time():
    assert turn_bounds(WEEKLY, 0) == (utc(2026, 3, 2, 7, 30), utc(2026, 3, 9, 7, 30))
    assert turn_at(WEEKLY, utc(2026, 3, 2, 7, 30)) == Turn(0, 11, utc(2026, 3, 2, 7, 30), utc(2026, 3, 9, 7, 30))


def test_spring_turn_lasts_167_hours_and_hands_over_at_0830_summer_time():
    start, end = turn_bounds(WEEKLY, 3)
    assert start == paris(2026, 3, 23, 8, 30) == utc(2026, 3, 23, 7, 30)  # CET, UTC+1
    assert end == paris(2026, 3, 30, 8, 30) == utc(2026, 3, 30, 6, 30)  # CEST, UTC+2
    assert end - start == 167 * H
    assert end.astimezone(PARIS).strftime("%A %H:%M") == "Monday 08:30"
    assert holder_at(WEEKLY, [], end - S) == 11
    assert holder_at(WEEKLY, [], end) == 22
    # 07:30 Paris time on the Monday after the change: the old turn is still running.
    assert holder_at(WEEKLY, [], paris(2026, 3, 30, 7, 30)) == 11


def test_autumn_turn_lasts_169_hours_and_hands_over_at_0830_winter_time():
    start, end = turn_bounds(WEEKLY, 33)  # 231 days = 33 weeks after 2 March
    assert start == paris(2026, 10, 19, 8, 30) == utc(2026, 10, 19, 6, 30)
    assert end == paris(2026, 10, 26, 8, 30) == utc(2026, 10, 26, 7, 30)
    assert end - start == 169 * H
    assert holder_at(WEEKLY, [], end - S) == 11  # 33 % 3 == 0
    assert holder_at(WEEKLY, [], end) == 22
    # 08:00 UTC on that Monday is 09:00 Paris time: the new turn has started.
    assert turn_at(WEEKLY, utc(2026, 10, 26, 8, 0)).index == 34


def test_every_handover_of_2026_is_monday_0830_in_paris():
    for turn in turns(WEEKLY, utc(2026, 3, 2, 7, 30), utc(2027, 1, 1)):
        assert turn.start.astimezone(PARIS).strftime("%a %H:%M") == "Mon 08:30"
        assert turn.end - turn.start in (167 * H, 168 * H, 169 * H)


def test_skipped_handover_time_is_read_with_the_offset_before_the_jump():
    # Daily hand-over at 02:30: on 29 March 2026 02:30 does not exist in Paris (02:00 → 03:00).
    daily = Rotation(members=(1, 2), anchor=datetime(2026, 3, 27, 2, 30), tz="Europe/Paris", turn_days=1)
    saturday = turn_bounds(daily, 1)
    sunday = turn_bounds(daily, 2)
    assert saturday[0] == utc(2026, 3, 28, 1, 30)  # 02:30 CET
    assert sunday[0] == utc(2026, 3, 29, 1, 30)  # "02:30" read as UTC+1, i.e. 03:30 CEST
    assert sunday[0].astimezone(PARIS).strftime("%H:%M") == "03:30"
    assert saturday[1] - saturday[0] == 24 * H
    assert sunday[1] == utc(2026, 3, 30, 0, 30)  # 02:30 CEST again the day after
    assert sunday[1] - sunday[0] == 23 * H


def test_repeated_handover_time_is_its_first_occurrence():
    # On 25 October 2026 02:30 happens twice in Paris (03:00 CEST → 02:00 CET): the first one.
    daily = Rotation(members=(1, 2), anchor=datetime(2026, 10, 24, 2, 30), tz="Europe/Paris", turn_days=1)
    sunday = turn_bounds(daily, 1)
    assert sunday == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30))
    assert sunday[1] - sunday[0] == 25 * H
    assert holder_at(daily, [], utc(2026, 10, 25, 0, 29)) == 1
    assert holder_at(daily, [], utc(2026, 10, 25, 0, 30)) == 2


def test_custom_turn_length_and_rotation_end():
    three_days = Rotation(
        members=(5, 6), anchor=datetime(2026, 3, 2, 8, 30), tz="Europe/Paris", turn_days=3,
        until=paris(2026, 3, 10, 12, 0),
    )
    assert turn_bounds(three_days, 1) == (utc(2026, 3, 5, 7, 30), utc(2026, 3, 8, 7, 30))
    last = turn_at(three_days, paris(2026, 3, 10, 11, 59))
    assert (last.index, last.person_id, last.end) == (2, 5, utc(2026, 3, 10, 11, 0))  # cut at `until`
    assert turn_at(three_days, paris(2026, 3, 10, 12, 0)) is None
    assert turn_at(three_days, paris(2026, 3, 2, 8, 29)) is None  # before the anchor
    assert [t.index for t in turns(three_days, utc(2026, 3, 1), utc(2026, 4, 1))] == [0, 1, 2]
    with pytest.raises(ValueError):
        turn_bounds(three_days, 3)
    with pytest.raises(ValueError):
        turn_bounds(three_days, -1)


def test_turns_are_whole_turns_overlapping_the_range():
    found = turns(WEEKLY, paris(2026, 3, 11, 0, 0), paris(2026, 3, 16, 8, 31))
    assert [(t.index, t.person_id) for t in found] == [(1, 22), (2, 33)]
    assert found[0].start == utc(2026, 3, 9, 7, 30)  # not clipped to the range
    assert turns(WEEKLY, paris(2026, 3, 11), paris(2026, 3, 16, 8, 30)) == found[:1]


def test_invalid_rotations_are_refused():
    with pytest.raises(ValueError):
        Rotation(members=(), anchor=datetime(2026, 3, 2, 8, 30), tz="Europe/Paris")
    with pytest.raises(ValueError):
        Rotation(members=(1,), anchor=paris(2026, 3, 2, 8, 30), tz="Europe/Paris")  # aware anchor
    with pytest.raises(ValueError):
        Rotation(members=(1,), anchor=datetime(2026, 3, 2, 8, 30), tz="Europe/Paris", turn_days=0)
    with pytest.raises(ValueError):
        Override(paris(2026, 3, 2), paris(2026, 3, 2), 1)


# --- overrides ---------------------------------------------------------------------------

GROUP = (11, 22, 33, 44)
# 22 holds turn 1 (Monday 9 → Monday 16 March); sick from Wednesday noon to Friday noon, 44 stands in.
SICK = Override(paris(2026, 3, 11, 12, 0), paris(2026, 3, 13, 12, 0), 44)


def test_override_in_the_middle_of_a_turn():
    turn_start, turn_end = turn_bounds(WEEKLY, 1)
    assert shifts(WEEKLY, [SICK], turn_start, turn_end) == [
        Shift(22, utc(2026, 3, 9, 7, 30), utc(2026, 3, 11, 11, 0), 1, None),
        Shift(44, utc(2026, 3, 11, 11, 0), utc(2026, 3, 13, 11, 0), 1, 22),
        Shift(22, utc(2026, 3, 13, 11, 0), utc(2026, 3, 16, 7, 30), 1, None),
    ]
    assert holder_at(WEEKLY, [SICK], paris(2026, 3, 11, 11, 59)) == 22
    assert holder_at(WEEKLY, [SICK], paris(2026, 3, 11, 12, 0)) == 44
    assert holder_at(WEEKLY, [SICK], paris(2026, 3, 13, 11, 59)) == 44
    assert holder_at(WEEKLY, [SICK], paris(2026, 3, 13, 12, 0)) == 22


def test_roster_puts_the_replacement_first_and_keeps_the_holder_in_group_order():
    assert roster_at(GROUP, WEEKLY, [SICK], paris(2026, 3, 12, 3, 10)) == (44, 11, 22, 33)
    assert roster_at(GROUP, WEEKLY, [SICK], paris(2026, 3, 10, 3, 10)) == (22, 11, 33, 44)
    outsider = Override(paris(2026, 3, 12), paris(2026, 3, 13), 99)
    assert roster_at(GROUP, WEEKLY, [outsider], paris(2026, 3, 12, 3, 10)) == (99, 11, 22, 33, 44)


def test_roster_without_rotation_or_holder_is_the_group_order():
    assert roster_at(GROUP, None, [SICK], paris(2026, 3, 12, 3, 10)) == GROUP
    assert roster_at(GROUP, WEEKLY, [], paris(2026, 3, 1)) == GROUP  # before the anchor
    nobody = Override(paris(2026, 3, 12), paris(2026, 3, 13), None)
    assert roster_at(GROUP, WEEKLY, [nobody], paris(2026, 3, 12, 3, 10)) == GROUP


def test_later_override_wins_and_replaces_only_applies_to_its_person():
    week = Override(paris(2026, 3, 9, 8, 30), paris(2026, 3, 16, 8, 30), 33)  # 33 takes 22's turn
    night = Override(paris(2026, 3, 12, 20, 0), paris(2026, 3, 13, 8, 0), 44)
    assert holder_at(WEEKLY, [week, night], paris(2026, 3, 12, 23, 0)) == 44
    assert holder_at(WEEKLY, [night, week], paris(2026, 3, 12, 23, 0)) == 33
    # "replaces 22" means while 22 holds it: 22's turn yes, 33's turn (16 → 23 March) no.
    for_22 = Override(paris(2026, 3, 15), paris(2026, 3, 17), 44, replaces=22)
    assert holder_at(WEEKLY, [for_22], paris(2026, 3, 15, 12, 0)) == 44
    assert holder_at(WEEKLY, [for_22], paris(2026, 3, 16, 12, 0)) == 33
    # It sees the holder left by the earlier overrides: 22 no longer holds the turn.
    assert holder_at(WEEKLY, [week, for_22], paris(2026, 3, 15, 12, 0)) == 33


def test_override_outside_any_turn():
    before = Override(paris(2026, 2, 28), paris(2026, 3, 1), 44)
    assert shifts(WEEKLY, [before], paris(2026, 2, 27), paris(2026, 3, 2, 8, 30)) == [
        Shift(None, utc(2026, 2, 26, 23), utc(2026, 2, 27, 23), None, None),
        Shift(44, utc(2026, 2, 27, 23), utc(2026, 2, 28, 23), None, None),
        Shift(None, utc(2026, 2, 28, 23), utc(2026, 3, 2, 7, 30), None, None),
    ]


# --- swaps -------------------------------------------------------------------------------


def test_swap_exchanges_two_whole_turns():
    first, second = swap(WEEKLY, 2, 3)
    assert first == Override(utc(2026, 3, 16, 7, 30), utc(2026, 3, 23, 7, 30), 11, replaces=33)
    assert second == Override(utc(2026, 3, 23, 7, 30), utc(2026, 3, 30, 6, 30), 33, replaces=11)
    assert shifts(WEEKLY, [first, second], turn_bounds(WEEKLY, 1)[0], turn_bounds(WEEKLY, 4)[1]) == [
        Shift(22, utc(2026, 3, 9, 7, 30), utc(2026, 3, 16, 7, 30), 1, None),
        Shift(11, utc(2026, 3, 16, 7, 30), utc(2026, 3, 23, 7, 30), 2, 33),
        Shift(33, utc(2026, 3, 23, 7, 30), utc(2026, 3, 30, 6, 30), 3, 11),
        Shift(22, utc(2026, 3, 30, 6, 30), utc(2026, 4, 6, 6, 30), 4, None),
    ]
    assert holder_at(WEEKLY, [first, second], paris(2026, 3, 16, 8, 29)) == 22
    assert holder_at(WEEKLY, [first, second], paris(2026, 3, 30, 8, 30)) == 22


def test_swap_of_a_sick_holders_turn_leaves_the_stand_in():
    # 22 swaps turn 1 with turn 2 (33) but 44 already stands in for 22 mid-week:
    # the swap only applies while 22 holds the turn.
    first, second = swap(WEEKLY, 1, 2)
    assert holder_at(WEEKLY, [SICK, first, second], paris(2026, 3, 12, 12, 0)) == 44
    assert holder_at(WEEKLY, [SICK, first, second], paris(2026, 3, 10, 12, 0)) == 33
    assert holder_at(WEEKLY, [SICK, first, second], paris(2026, 3, 18, 12, 0)) == 22


# --- gaps --------------------------------------------------------------------------------


def test_leave_without_replacement_is_a_gap_only_where_the_pc_is_covering():
    coverage = default_coverage()
    # Tuesday 10 March 2026: not covered 08:30–12:00 and 13:30–17:30 (Paris, UTC+1).
    in_the_evening = Override(paris(2026, 3, 10, 18, 0), paris(2026, 3, 10, 23, 0), None)
    in_the_morning = Override(paris(2026, 3, 10, 10, 0), paris(2026, 3, 10, 11, 0), None)
    straddling = Override(paris(2026, 3, 11, 11, 0), paris(2026, 3, 11, 12, 30), None)
    leave = [in_the_evening, in_the_morning, straddling]
    week = turn_bounds(WEEKLY, 1)
    found = gaps(shifts(WEEKLY, leave, *week), covered_intervals(coverage, *week))
    assert found == [
        (utc(2026, 3, 10, 17, 0), utc(2026, 3, 10, 22, 0)),  # 18:00–23:00
        (utc(2026, 3, 11, 11, 0), utc(2026, 3, 11, 11, 30)),  # 12:00–12:30, the covered part
    ]
    assert gaps(shifts(WEEKLY, [], *week), covered_intervals(coverage, *week)) == []


def test_windows_beyond_the_shifts_are_gaps_and_gaps_are_merged():
    held = [Shift(1, utc(2026, 3, 1, 10), utc(2026, 3, 1, 12), 0, None)]
    windows = [(utc(2026, 3, 1, 8), utc(2026, 3, 1, 11)), (utc(2026, 3, 1, 11), utc(2026, 3, 1, 14))]
    assert gaps(held, windows) == [(utc(2026, 3, 1, 8), utc(2026, 3, 1, 10)), (utc(2026, 3, 1, 12), utc(2026, 3, 1, 14))]
    assert gaps([], windows) == [(utc(2026, 3, 1, 8), utc(2026, 3, 1, 14))]


# --- properties --------------------------------------------------------------------------

ZONES = ("Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC")
BASE = datetime(2026, 1, 1, tzinfo=UTC)
MINUTES = 2 * 365 * 24 * 60


def instants(low: int = 0, high: int = MINUTES):
    return st.integers(low, high).map(lambda m: BASE + timedelta(minutes=m))


@st.composite
def rotations(draw):
    size = draw(st.integers(1, 4))
    anchor = datetime(2026, 1, 1) + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))
    until = draw(st.one_of(st.none(), instants()))
    return Rotation(
        members=tuple(range(1, size + 1)), anchor=anchor, tz=draw(st.sampled_from(ZONES)),
        turn_days=draw(st.sampled_from((1, 2, 7, 14))), until=until,
    )


@st.composite
def override_lists(draw, rotation):
    people = st.sampled_from(rotation.members + (99, None))
    found = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(instants())
        length = timedelta(minutes=draw(st.integers(1, 20 * 24 * 60)))
        replaces = draw(st.one_of(st.none(), st.sampled_from(rotation.members)))
        found.append(Override(start, start + length, draw(people), replaces))
    return found


@st.composite
def scenarios(draw):
    rotation = draw(rotations())
    start = draw(instants())
    end = start + timedelta(minutes=draw(st.integers(1, 60 * 24 * 60)))
    return rotation, draw(override_lists(rotation)), start, end


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.lists(st.integers(0, 10**9), min_size=1, max_size=10))
def test_shifts_tile_the_range_and_agree_with_holder_at(scenario, offsets):
    rotation, overrides, start, end = scenario
    found = shifts(rotation, overrides, start, end)
    assert found[0].start == start and found[-1].end == end
    for shift, following in zip(found, found[1:]):
        assert shift.end == following.start
        key = lambda s: (s.person_id, s.turn_index, s.replacing)  # noqa: E731
        assert key(shift) != key(following)  # merged
    assert all(s.start < s.end and s.start.tzinfo is UTC for s in found)
    for offset in offsets:
        at = start + timedelta(seconds=offset % int((end - start).total_seconds()))
        (containing,) = [s for s in found if s.start <= at < s.end]
        assert holder_at(rotation, overrides, at) == containing.person_id
        turn = turn_at(rotation, at)
        assert containing.turn_index == (turn.index if turn else None)


@settings(max_examples=200, deadline=None)
@given(rotations(), instants())
def test_turn_at_finds_the_turn_that_contains_the_instant(rotation, at):
    turn = turn_at(rotation, at)
    if turn is None:
        first = rotation.anchor.replace(tzinfo=ZoneInfo(rotation.tz)).astimezone(UTC)
        assert at < first or (rotation.until is not None and at >= rotation.until)
        return
    assert turn.start <= at < turn.end
    assert turn.person_id == rotation.members[turn.index % len(rotation.members)]
    assert turn in turns(rotation, at, at + S)


@settings(max_examples=100, deadline=None)
@given(rotations(), st.integers(0, 60))
def test_handovers_keep_the_anchor_wall_clock_time(rotation, index):
    zone = ZoneInfo(rotation.tz)
    wanted = rotation.anchor + timedelta(days=index * rotation.turn_days)
    local = wanted.replace(tzinfo=zone)
    exists = local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wanted
    if rotation.until is not None and local.astimezone(UTC) >= rotation.until:
        return
    start, _ = turn_bounds(rotation, index)
    if exists:
        assert start.astimezone(zone).replace(tzinfo=None) == wanted


@settings(max_examples=200, deadline=None)
@given(scenarios(), instants(), st.permutations((1, 2, 3, 4, 5, 6)))
def test_roster_is_the_group_with_the_holder_first(scenario, at, group):
    rotation, overrides, _, _ = scenario
    group = tuple(group[: len(rotation.members) + 1])
    roster = roster_at(group, rotation, overrides, at)
    holder = holder_at(rotation, overrides, at)
    if holder is None:
        assert roster == group
    elif holder in group:
        assert roster[0] == holder and sorted(roster) == sorted(group) and len(roster) == len(group)
        assert roster[1:] == tuple(p for p in group if p != holder)
    else:
        assert roster == (holder,) + group
