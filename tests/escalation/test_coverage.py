"""Coverage windows of the PC: weekly windows, French public holidays, exceptions, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.coverage import (
    CHENOVE_WEEKLY,
    Coverage,
    DayException,
    Window,
    covered_intervals,
    day_kind,
    day_windows,
    default_coverage,
    is_covered,
    public_holidays,
)

UTC = UTC
PARIS = ZoneInfo("Europe/Paris")
H = timedelta(hours=1)
CHENOVE = default_coverage()


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def hours(intervals) -> float:
    return sum((end - start for start, end in intervals), timedelta()) / H


# --- holidays ----------------------------------------------------------------------------


def test_french_public_holidays_2026():
    found = public_holidays("FR", [2026])
    assert len(found) == 11
    assert found[date(2026, 1, 1)] == "Jour de l'an"  # a Thursday
    assert found[date(2026, 4, 6)] == "Lundi de Pâques"
    assert found[date(2026, 5, 1)] == "Fête du Travail"  # a Friday
    assert found[date(2026, 5, 14)] == "Ascension"  # a Thursday
    assert found[date(2026, 5, 25)] == "Lundi de Pentecôte"
    assert date(2026, 4, 3) not in found and date(2026, 12, 26) not in found


def test_alsace_moselle_adds_good_friday_and_saint_stephen():
    national, local = public_holidays("FR", [2026]), public_holidays("FR-alsace-moselle", [2026])
    assert len(local) == 13
    assert {d: n for d, n in local.items() if d not in national} == {
        date(2026, 4, 3): "Vendredi saint",
        date(2026, 12, 26): "Saint-Étienne",
    }


def test_holidays_of_several_years_and_no_calendar():
    assert len(public_holidays("FR", [2025, 2026, 2026])) == 22
    assert public_holidays(None, [2026]) == {}
    with pytest.raises(ValueError):
        public_holidays("FR-67", [2026])


# --- the first customer's week ---------------------------------------------------------


def test_chenove_weekly_windows():
    monday = [(w.start, w.end) for w in CHENOVE_WEEKLY if w.weekday == 0]
    assert monday == [(time(0), time(8, 30)), (time(12), time(13, 30)), (time(17, 30), None)]
    assert [(w.weekday, w.start, w.end) for w in CHENOVE_WEEKLY if w.weekday >= 5] == [
        (5, time(0), None), (6, time(0), None),
    ]


def test_every_week_of_2026_without_a_weekday_holiday_is_covered_130_5_hours():
    # A weekday: 8.5 h (00:00–08:30) + 1.5 h (lunch) + 6.5 h (17:30–24:00) = 16.5 h;
    # five of them and a 48 h weekend make 130.5 h. In elapsed time the week of the spring
    # change (Sunday 29 March has 23 h) is covered 129.5 h, the autumn one (25 October, 25 h)
    # 131.5 h: an astreinte paid by the hour counts those real hours.
    expected_normal = 5 * (8.5 + 1.5 + 6.5) + 2 * 24
    assert expected_normal == 130.5
    dst_weeks = {date(2026, 3, 23): 129.5, date(2026, 10, 19): 131.5}
    holidays = public_holidays("FR", [2026, 2027])
    monday, checked = date(2026, 1, 5), 0
    while monday.year == 2026:
        days = [monday + timedelta(days=i) for i in range(7)]
        start = datetime.combine(monday, time(0), tzinfo=PARIS)
        end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=PARIS)
        if not any(day in holidays for day in days[:5]):
            assert hours(covered_intervals(CHENOVE, start, end)) == dst_weeks.get(monday, expected_normal), monday
            checked += 1
        monday += timedelta(days=7)
    # Weeks whose holiday falls on the weekend (15 August, 1 November) stay at 130.5 h.
    # 52 Mondays; weeks with a weekday holiday: 6 April, 27 April (1 May), 4 May (8 May),
    # 11 May, 25 May, 13 July, 9 November, 21 December, 28 December (1 January 2027).
    assert checked == 52 - 9


def test_a_weekday_holiday_is_covered_from_the_evening_before_to_the_morning_after():
    # Ascension, Thursday 14 May 2026 (Paris is UTC+2 in May).
    found = covered_intervals(CHENOVE, paris(2026, 5, 13), paris(2026, 5, 16))
    assert found == [
        (utc(2026, 5, 12, 22, 0), utc(2026, 5, 13, 6, 30)),  # Wednesday 00:00–08:30
        (utc(2026, 5, 13, 10, 0), utc(2026, 5, 13, 11, 30)),  # lunch
        (utc(2026, 5, 13, 15, 30), utc(2026, 5, 15, 6, 30)),  # Wednesday 17:30 → Friday 08:30
        (utc(2026, 5, 15, 10, 0), utc(2026, 5, 15, 11, 30)),
        (utc(2026, 5, 15, 15, 30), utc(2026, 5, 15, 22, 0)),  # clipped at Saturday 00:00
    ]
    week = covered_intervals(CHENOVE, paris(2026, 5, 11), paris(2026, 5, 18))
    assert hours(week) == 130.5 - 16.5 + 24


def test_new_years_day_2026_a_thursday():
    found = covered_intervals(CHENOVE, paris(2025, 12, 31, 12), paris(2026, 1, 2, 12))
    # Winter time, UTC+1: Wednesday 17:30 → Friday 08:30.
    assert (utc(2025, 12, 31, 16, 30), utc(2026, 1, 2, 7, 30)) in found
    assert day_kind(CHENOVE, date(2026, 1, 1)) == "holiday"


def test_whit_monday_joins_the_weekend():
    found = covered_intervals(CHENOVE, paris(2026, 5, 22, 12), paris(2026, 5, 27))
    assert (utc(2026, 5, 22, 15, 30), utc(2026, 5, 26, 6, 30)) in found  # Friday 17:30 → Tuesday 08:30


def test_the_autumn_sunday_is_covered_25_hours():
    found = covered_intervals(CHENOVE, paris(2026, 10, 25), paris(2026, 10, 26))
    assert found == [(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))]
    assert hours(found) == 25


def test_good_friday_is_covered_in_alsace_moselle_only():
    alsace = Coverage(tz="Europe/Paris", weekly=CHENOVE_WEEKLY, holidays="FR-alsace-moselle")
    assert is_covered(alsace, paris(2026, 4, 3, 10, 0))
    assert not is_covered(CHENOVE, paris(2026, 4, 3, 10, 0))
    assert day_kind(alsace, date(2026, 12, 26)) == "holiday" and day_kind(CHENOVE, date(2026, 12, 26)) == "saturday"


def test_holidays_can_follow_the_weekly_windows():
    plain = Coverage(tz="Europe/Paris", weekly=CHENOVE_WEEKLY, holidays_covered_all_day=False)
    assert not is_covered(plain, paris(2026, 5, 14, 10, 0))
    assert is_covered(CHENOVE, paris(2026, 5, 14, 10, 0))
    assert day_kind(plain, date(2026, 5, 14)) == "holiday"


# --- instants -----------------------------------------------------------------------------


def test_is_covered_at_a_few_instants():
    assert is_covered(CHENOVE, paris(2026, 11, 22, 3, 10))  # Sunday night
    assert is_covered(CHENOVE, utc(2026, 11, 22, 3, 10))
    assert not is_covered(CHENOVE, paris(2026, 11, 24, 10, 0))  # Tuesday morning, office open
    assert is_covered(CHENOVE, paris(2026, 11, 24, 12, 30))  # Tuesday lunch break
    assert is_covered(CHENOVE, paris(2026, 11, 24, 8, 29, 59))
    assert not is_covered(CHENOVE, paris(2026, 11, 24, 8, 30))  # windows end exclusive
    assert is_covered(CHENOVE, paris(2026, 11, 24, 17, 30))


def test_day_kinds():
    assert day_kind(CHENOVE, date(2026, 11, 24)) == "weekday"
    assert day_kind(CHENOVE, date(2026, 11, 21)) == "saturday"
    assert day_kind(CHENOVE, date(2026, 11, 22)) == "sunday"
    assert day_kind(CHENOVE, date(2026, 11, 1)) == "holiday"  # Toussaint, a Sunday: holiday wins
    assert day_kind(default_coverage(), date(2026, 7, 14)) == "holiday"


# --- exceptions ---------------------------------------------------------------------------


def test_a_bridge_day_covered_all_day():
    bridge = Coverage(
        tz="Europe/Paris", weekly=CHENOVE_WEEKLY,
        exceptions=(DayException(date(2026, 5, 15), ((time(0), None),)),),
    )
    found = covered_intervals(bridge, paris(2026, 5, 13, 12, 30), paris(2026, 5, 19))
    # Wednesday 17:30 → Monday 08:30, through Ascension, the bridge and the weekend.
    assert found == [
        (utc(2026, 5, 13, 10, 30), utc(2026, 5, 13, 11, 30)),
        (utc(2026, 5, 13, 15, 30), utc(2026, 5, 18, 6, 30)),
        (utc(2026, 5, 18, 10, 0), utc(2026, 5, 18, 11, 30)),
        (utc(2026, 5, 18, 15, 30), utc(2026, 5, 18, 22, 0)),  # clipped at Tuesday 00:00
    ]
    assert is_covered(bridge, paris(2026, 5, 15, 10, 0)) and not is_covered(CHENOVE, paris(2026, 5, 15, 10, 0))
    assert day_kind(bridge, date(2026, 5, 15)) == "weekday"


def test_an_exception_can_leave_a_day_uncovered_even_a_holiday():
    closed = Coverage(
        tz="Europe/Paris", weekly=CHENOVE_WEEKLY,
        exceptions=(
            DayException(date(2026, 11, 21), ()),  # Saturday: the town hall handles it
            DayException(date(2026, 7, 14), ((time(20), None),)),  # fireworks evening only
        ),
    )
    found = covered_intervals(closed, paris(2026, 11, 20, 12, 0), paris(2026, 11, 23, 12, 0))
    assert found == [
        (utc(2026, 11, 20, 11, 0), utc(2026, 11, 20, 12, 30)),
        (utc(2026, 11, 20, 16, 30), utc(2026, 11, 20, 23, 0)),  # Friday 17:30 → Saturday 00:00
        (utc(2026, 11, 21, 23, 0), utc(2026, 11, 23, 7, 30)),  # Sunday 00:00 → Monday 08:30
    ]
    assert not is_covered(closed, paris(2026, 11, 21, 3, 10))
    assert day_kind(closed, date(2026, 11, 21)) == "saturday"
    assert day_windows(closed, date(2026, 7, 14)) == ((time(20), None),)
    assert not is_covered(closed, paris(2026, 7, 14, 10, 0)) and is_covered(closed, paris(2026, 7, 14, 21, 0))
    assert day_kind(closed, date(2026, 7, 14)) == "holiday"


def test_invalid_windows_are_refused():
    with pytest.raises(ValueError):
        Window(7, time(0), None)
    with pytest.raises(ValueError):
        Window(0, time(9), time(8))
    with pytest.raises(ValueError):
        DayException(date(2026, 5, 15), ((time(12), time(12)),))
    with pytest.raises(ValueError):
        Coverage(tz="Europe/Paris", weekly=(), holidays="FR-67")


# --- properties ---------------------------------------------------------------------------

ZONES = ("Europe/Paris", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "UTC")
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def spans(draw):
    start = draw(st.integers(0, 95))
    end = draw(st.integers(start + 1, 96))
    return time(start // 4, 15 * (start % 4)), (None if end == 96 else time(end // 4, 15 * (end % 4)))


@st.composite
def coverages(draw):
    weekly = tuple(Window(draw(st.integers(0, 6)), *draw(spans())) for _ in range(draw(st.integers(0, 12))))
    exceptions = tuple(
        DayException(date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 400))), tuple(draw(st.lists(spans(), max_size=3))))
        for _ in range(draw(st.integers(0, 4)))
    )
    return Coverage(
        tz=draw(st.sampled_from(ZONES)), weekly=weekly,
        holidays=draw(st.sampled_from(("FR", "FR-alsace-moselle", None))),
        holidays_covered_all_day=draw(st.booleans()), exceptions=exceptions,
    )


@settings(max_examples=150, deadline=None)
@given(coverages(), st.integers(0, 400 * 24 * 60), st.integers(1, 20 * 24 * 60), st.lists(st.integers(0, 10**9), max_size=10))
def test_covered_intervals_are_sorted_disjoint_and_agree_with_is_covered(coverage, start_min, length_min, offsets):
    start = BASE + timedelta(minutes=start_min)
    end = start + timedelta(minutes=length_min)
    found = covered_intervals(coverage, start, end)
    for low, high in found:
        assert start <= low < high <= end and low.tzinfo is UTC
        assert is_covered(coverage, low) and is_covered(coverage, high - timedelta(microseconds=1))
    for (_, high), (low, _) in zip(found, found[1:]):
        assert high < low  # merged: touching intervals would have been joined
        assert not is_covered(coverage, high)
    total = int((end - start).total_seconds())
    for offset in offsets:
        at = start + timedelta(seconds=offset % total)
        inside = any(low <= at < high for low, high in found)
        assert is_covered(coverage, at) == inside


@settings(max_examples=100, deadline=None)
@given(coverages(), st.integers(0, 400))
def test_a_whole_day_is_covered_exactly_by_its_windows(coverage, day_number):
    day = date(2026, 1, 1) + timedelta(days=day_number)
    zone = ZoneInfo(coverage.tz)
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    windows = day_windows(coverage, day)
    found = covered_intervals(coverage, midnight, next_midnight)
    if not windows:
        assert found == []
    if (time(0), None) in windows:
        assert found == [(midnight.astimezone(UTC), next_midnight.astimezone(UTC))]
