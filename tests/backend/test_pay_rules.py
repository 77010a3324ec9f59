"""On-call pay: astreinte units, intervention slots and rest warnings, against figures done by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.payroll.rules import (
    SLOTS,
    astreinte_units,
    intervention_compensation,
    intervention_slots,
    load_regime,
    regimes,
    rest_warnings,
    unverified,
)
from escalation.oncall import Override, Rotation, shifts

UTC = UTC
PARIS = ZoneInfo("Europe/Paris")
TZ = "Europe/Paris"
H = timedelta(hours=1)
TECHNIQUE = load_regime("technique-2015")
AUTRES = load_regime("autres-2015")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def d(value: str) -> Decimal:
    return Decimal(value)


def units(periods, regime=TECHNIQUE, **kwargs):
    return astreinte_units(periods, tz=TZ, holidays=kwargs.pop("holidays", "FR"), regime=regime, **kwargs)


def summary(found) -> list[tuple[str, str, Decimal]]:
    """(kind, local start, amount) of each unit, for readable assertions."""
    return [(u.kind, u.start.astimezone(PARIS).strftime("%a %d/%m %H:%M"), u.amount) for u in found]


def total(found) -> Decimal:
    return sum((u.amount for u in found), Decimal("0.00"))


def person_periods(rotation, overrides, person, start, end):
    return [s for s in shifts(rotation, overrides, start, end) if s.person_id == person]


# --- regimes -------------------------------------------------------------------------------


def test_regimes_are_versioned_data_files():
    assert [r.id for r in regimes()] == ["technique-2015", "autres-2015"]  # oldest first
    assert TECHNIQUE.valid_from == date(2015, 4, 17) and AUTRES.valid_from == date(2015, 11, 12)
    assert TECHNIQUE.variant() == ("exploitation", TECHNIQUE.data["astreinte"]["variants"]["exploitation"])
    assert AUTRES.variant()[0] == "securite"
    with pytest.raises(ValueError, match="unknown pay regime"):
        load_regime("technique-1999")
    with pytest.raises(ValueError, match="no variant"):
        TECHNIQUE.variant("permanence")


def test_the_exploitation_week_is_seven_nights_a_saturday_and_a_sunday():
    # QE n° 5880 (JOAN 15 May 2018): 159.20 = 7 × 10.75 + 37.40 + 46.55 = 75.25 + 83.95;
    # the weekend is Friday, Saturday and Sunday nights with the two days: 32.25 + 83.95 = 116.20.
    amounts = {k: d(v["amount"]) for k, v in TECHNIQUE.variant()[1]["units"].items()}
    assert 7 * amounts["night"] + amounts["saturday"] + amounts["sunday_or_holiday"] == amounts["week"]
    assert 3 * amounts["night"] + amounts["saturday"] + amounts["sunday_or_holiday"] == amounts["weekend"]


# --- astreinte units: holidays -------------------------------------------------------------


def test_a_week_with_ascension_thursday_adds_the_holiday():
    # Mon 11 → Mon 18 May 2026, Ascension on Thursday 14: 159.20 + 46.55 = 205.75 (CDG 44's example).
    found = units([(paris(2026, 5, 11, 8, 30), paris(2026, 5, 18, 8, 30))])
    assert summary(found) == [
        ("week", "Mon 11/05 08:30", d("159.20")),
        ("sunday_or_holiday", "Thu 14/05 08:30", d("46.55")),
    ]
    assert found[1].supplement and found[1].end == paris(2026, 5, 14, 17, 30)  # the daytime only
    assert total(found) == d("205.75")


def test_a_saturday_holiday_replaces_the_saturday_and_a_sunday_one_changes_nothing():
    # Assumption, Saturday 15 August 2026: 159.20 − 37.40 + 46.55 = 168.35, i.e. a 9.15 supplement.
    august = units([(paris(2026, 8, 10, 8, 30), paris(2026, 8, 17, 8, 30))])
    assert [u.amount for u in august] == [d("159.20"), d("9.15")] and total(august) == d("168.35")
    # All Saints', Sunday 1 November 2026: the Sunday rate is the holiday rate, the week stays 159.20.
    november = units([(paris(2026, 10, 26, 8, 30), paris(2026, 11, 2, 8, 30))])
    assert summary(november) == [("week", "Mon 26/10 08:30", d("159.20"))]


def test_a_friday_holiday_before_a_weekend_is_paid_besides_it():
    # Thu 30 April 17:30 → Mon 4 May 08:30, Labour Day on Friday 1 May 2026:
    # Thursday night 10.75 + Friday holiday daytime 46.55 + weekend from Friday evening 116.20 = 173.50.
    found = units([(paris(2026, 4, 30, 17, 30), paris(2026, 5, 4, 8, 30))])
    assert summary(found) == [
        ("night", "Thu 30/04 17:30", d("10.75")),
        ("sunday_or_holiday", "Fri 01/05 08:30", d("46.55")),
        ("weekend", "Fri 01/05 17:30", d("116.20")),
    ]
    assert total(found) == d("173.50")
    assert not any(u.supplement or u.partial for u in found)


def test_may_2026_for_a_weekly_rotation_attributes_units_by_start_date():
    # Weekly hand-over on Monday 08:30; person 1 holds the turns from 27 April, 11 and 25 May, person 2
    # those from 4 and 18 May. May 2026 holidays: Fri 1, Fri 8, Thu 14 (Ascension), Mon 25 (Pentecost).
    rotation = Rotation(members=(1, 2), anchor=datetime(2026, 4, 27, 8, 30), tz=TZ)
    window = (paris(2026, 4, 20), paris(2026, 6, 15))  # whole turns, not clipped at the month bounds
    one = units(person_periods(rotation, [], 1, *window), month=(2026, 5))
    # The week of 27 April belongs to April; its 1 May holiday is dated 1 May, so it is May's.
    # 46.55 + (159.20 + 46.55) + (159.20 + 46.55) = 318.40 + 139.65 = 458.05; the last week crosses into June.
    assert summary(one) == [
        ("sunday_or_holiday", "Fri 01/05 08:30", d("46.55")),
        ("week", "Mon 11/05 08:30", d("159.20")),
        ("sunday_or_holiday", "Thu 14/05 08:30", d("46.55")),
        ("week", "Mon 25/05 08:30", d("159.20")),
        ("sunday_or_holiday", "Mon 25/05 08:30", d("46.55")),
    ]
    assert total(one) == d("458.05")
    assert one[-2].end == paris(2026, 6, 1, 8, 30)
    # Person 2: (159.20 + 46.55 for 8 May) + 159.20 = 364.95; 25 May 08:30 is already person 1's.
    two = units(person_periods(rotation, [], 2, *window), month=(2026, 5))
    assert [u.kind for u in two] == ["week", "sunday_or_holiday", "week"]
    assert total(two) == d("364.95")


def test_alsace_moselle_good_friday_is_a_holiday_there_only():
    # Good Friday 3 April 2026 inside the week from Monday 30 March.
    week = [(paris(2026, 3, 30, 8, 30), paris(2026, 4, 6, 8, 30))]
    assert total(units(week)) == d("159.20")
    assert total(units(week, holidays="FR-alsace-moselle")) == d("205.75")  # 159.20 + 46.55
    assert total(units(week, holidays={date(2026, 4, 1)})) == d("205.75")  # explicit dates work too


# --- astreinte units: daylight saving --------------------------------------------------------


def test_a_week_across_a_clock_change_is_still_one_week():
    # 23 → 30 March 2026 lasts 167 h, 19 → 26 October 169 h: each is Monday 08:30 → Monday 08:30.
    spring = units([(paris(2026, 3, 23, 8, 30), paris(2026, 3, 30, 8, 30))])
    autumn = units([(paris(2026, 10, 19, 8, 30), paris(2026, 10, 26, 8, 30))])
    assert spring[0].end - spring[0].start == 167 * H and autumn[0].end - autumn[0].start == 169 * H
    assert summary(spring) == [("week", "Mon 23/03 08:30", d("159.20"))]
    assert summary(autumn) == [("week", "Mon 19/10 08:30", d("159.20"))]


def test_nights_are_measured_in_elapsed_hours_across_a_clock_change():
    # The night of Saturday 28 March 2026 runs 17:30 → 08:30 but lasts 14 h (02:00 becomes 03:00).
    full = units([(paris(2026, 3, 28, 17, 30), paris(2026, 3, 29, 8, 30))])
    assert [(u.kind, u.amount, u.partial) for u in full] == [("night", d("10.75"), False)]
    # 21:30 → 08:00 reads 10 h 30 on the clock but lasts 9 h 30: under 10 h, the "fractionnée" rate.
    spring = units([(paris(2026, 3, 28, 21, 30), paris(2026, 3, 29, 8))])
    assert [(u.kind, u.amount, u.partial) for u in spring] == [("night_short", d("8.60"), True)]
    # Autumn, Saturday 24 October 23:00 → 08:00 reads 9 h but lasts 10 h: the full night rate.
    autumn = units([(paris(2026, 10, 24, 23), paris(2026, 10, 25, 8))])
    assert [(u.kind, u.amount, u.partial) for u in autumn] == [("night", d("10.75"), True)]
    # Other sectors have no "fractionnée" rate: 9 h 30 held of a 14 h night is at least half → a night.
    other = units([(paris(2026, 3, 28, 21, 30), paris(2026, 3, 29, 8))], AUTRES)
    assert [(u.kind, u.amount) for u in other] == [("night", d("10.05"))]


# --- astreinte units: swaps ----------------------------------------------------------------


ROTATION = Rotation(members=(1, 2, 3), anchor=datetime(2026, 5, 4, 8, 30), tz=TZ)  # person 3: 18 → 25 May
MAY = (paris(2026, 4, 27), paris(2026, 6, 8))


def test_a_swap_giving_away_half_a_week_leaves_each_holder_their_nights():
    # Person 4 takes Thursday 21 May 08:30 → Monday 25 May 08:30 from person 3.
    swap = [Override(paris(2026, 5, 21, 8, 30), paris(2026, 5, 25, 8, 30), 4, replaces=3)]
    kept = units(person_periods(ROTATION, swap, 3, *MAY), month=(2026, 5))
    taken = units(person_periods(ROTATION, swap, 4, *MAY), month=(2026, 5))
    # Person 3 keeps Monday, Tuesday and Wednesday nights: 3 × 10.75 = 32.25.
    assert [u.kind for u in kept] == ["night"] * 3 and total(kept) == d("32.25")
    # Person 4: Thursday night 10.75 + the weekend 116.20 = 126.95; 32.25 + 126.95 = 159.20, the week.
    assert summary(taken) == [
        ("night", "Thu 21/05 17:30", d("10.75")),
        ("weekend", "Fri 22/05 17:30", d("116.20")),
    ]
    assert total(taken) == d("126.95")
    # Other sectors: 3 × 10.05 = 30.15, and 10.05 + 109.28 = 119.33; 30.15 + 119.33 = 149.48, their week.
    kept = units(person_periods(ROTATION, swap, 3, *MAY), AUTRES, month=(2026, 5))
    taken = units(person_periods(ROTATION, swap, 4, *MAY), AUTRES, month=(2026, 5))
    assert (total(kept), total(taken)) == (d("30.15"), d("119.33"))


def test_a_swap_at_odd_hours_pays_a_part_held_slot_to_whoever_holds_half_of_it():
    # Person 4 takes Wednesday 20 May 12:00 → Saturday 23 May 12:00.
    swap = [Override(paris(2026, 5, 20, 12), paris(2026, 5, 23, 12), 4, replaces=3)]
    kept = units(person_periods(ROTATION, swap, 3, *MAY))
    taken = units(person_periods(ROTATION, swap, 4, *MAY))
    # Person 3: Monday and Tuesday nights 21.50; Saturday daytime 12:00 → 17:30 is 5 h 30 of 9 h, at least
    # half: 37.40; Saturday night 10.75, Sunday 46.55, Sunday night 10.75. 21.50 + 37.40 + 68.05 = 126.95.
    assert [(u.kind, u.partial) for u in kept] == [
        ("night", False), ("night", False), ("saturday", True), ("night", False),
        ("sunday_or_holiday", False), ("night", False),
    ]
    assert kept[2].start == paris(2026, 5, 23, 12) and kept[2].end == paris(2026, 5, 23, 17, 30)
    assert total(kept) == d("126.95")
    # Person 4: Wednesday, Thursday, Friday nights 32.25; 08:30 → 12:00 on Saturday (3 h 30) is under half.
    assert [u.kind for u in taken] == ["night"] * 3 and total(taken) == d("32.25")


# --- astreinte units: short notice ---------------------------------------------------------


WEEK_18_MAY = [(paris(2026, 5, 18, 8, 30), paris(2026, 5, 25, 8, 30))]


def test_short_notice_counts_jours_francs():
    # Told on Saturday 2 May for Monday 18 May: 3 … 17 May are 15 jours francs, not short.
    assert not units(WEEK_18_MAY, notice=paris(2026, 5, 2, 18))[0].short_notice
    # Told on 3 May: 4 … 17 May are 14 days, short: 159.20 × 1.5 = 238.80.
    week = units(WEEK_18_MAY, notice=paris(2026, 5, 3, 9))[0]
    assert (week.short_notice, week.amount, week.majorated_amount) == (True, d("159.20"), d("238.80"))
    # Safety astreinte, 149.48 × 1.5 = 224.22; decision astreinte is flagged but not majorated.
    assert units(WEEK_18_MAY, notice=paris(2026, 5, 3), variant="securite")[0].majorated_amount == d("224.22")
    decision = units(WEEK_18_MAY, notice=paris(2026, 5, 3), variant="decision")[0]
    assert decision.short_notice and decision.majorated_amount == decision.amount == d("121.00")
    # Other sectors: flagged, no majoration found in their text.
    other = units(WEEK_18_MAY, AUTRES, notice=paris(2026, 5, 3))[0]
    assert other.short_notice and other.majorated_amount == d("149.48")
    assert not units(WEEK_18_MAY)[0].short_notice  # no notice given: nothing to flag


def test_short_notice_is_per_period_so_a_late_swap_is_majorated_alone():
    swap = [Override(paris(2026, 5, 21, 8, 30), paris(2026, 5, 25, 8, 30), 4, replaces=3)]
    taken = person_periods(ROTATION, swap, 4, *MAY)
    kept = person_periods(ROTATION, swap, 3, *MAY)
    # The swap is agreed on Tuesday 19 May for Thursday 21: 0 jours francs.
    # 10.75 × 1.5 = 16.125 → 16.13 (half up); 116.20 × 1.5 = 174.30.
    late = units(taken, notice=[paris(2026, 5, 19, 10)] * len(taken))
    assert [(u.short_notice, u.majorated_amount) for u in late] == [(True, d("16.13")), (True, d("174.30"))]
    # The rotation was published on 1 April: person 3's nights are not short.
    assert not any(u.short_notice for u in units(kept, notice=paris(2026, 4, 1)))
    with pytest.raises(ValueError, match="one notice per period"):
        units(taken, notice=[paris(2026, 5, 19)] * (len(taken) + 1))


def test_other_sectors_have_a_monday_to_friday_unit_and_time_off_equivalents():
    # Monday 18 May 08:30 → Friday 22 May 17:30: 45.00 (or half a day off) rather than 4 × 10.05 = 40.20.
    found = units([(paris(2026, 5, 18, 8, 30), paris(2026, 5, 22, 17, 30))], AUTRES)
    assert [(u.kind, u.amount, u.time_off) for u in found] == [("workweek", d("45.00"), (d("0.5"), "jour"))]
    assert units(WEEK_18_MAY, AUTRES)[0].time_off == (d("1.5"), "jour")
    assert units(WEEK_18_MAY)[0].time_off is None  # technical sector: paid only


# --- intervention slots --------------------------------------------------------------------


def slots(start, end, holidays="FR"):
    return intervention_slots(start, end, tz=TZ, holidays=holidays)


def test_saturday_evening_into_sunday_crosses_22_and_midnight():
    # Saturday 23 May 2026 21:30 → Sunday 01:15: Saturday 21:30–22:00 = 30 min; night 22:00–24:00 = 120
    # (night beats Saturday); Sunday 00:00–01:15 = 75 (Sunday beats night). 30 + 120 + 75 = 225 = 3 h 45.
    found = slots(paris(2026, 5, 23, 21, 30), paris(2026, 5, 24, 1, 15))
    assert found == {"weekday": 0, "saturday": 30, "night": 120, "sunday_or_holiday": 75}
    # Other sectors paid: 0.5 h × 20 + 2 h × 24 + 1.25 h × 32 = 10.00 + 48.00 + 40.00 = 98.00.
    paid = intervention_compensation(found, AUTRES)
    assert [(line.slot, line.hours, line.rate, line.amount) for line in paid.lines] == [
        ("saturday", d("0.50"), d("20.00"), d("10.00")),
        ("night", d("2.00"), d("24.00"), d("48.00")),
        ("sunday_or_holiday", d("1.25"), d("32.00"), d("40.00")),
    ]
    assert paid.total_amount == d("98.00")
    # Technical sector paid (agents outside IHTS): 3.75 h × 22 = 82.50.
    assert intervention_compensation(found, TECHNIQUE).total_amount == d("82.50")
    # Technical time off: 30 × 1.25 = 37.5 → 38; 120 × 1.5 = 180; 75 × 2 = 150; 368 min.
    off = intervention_compensation(found, TECHNIQUE, mode="time_off")
    assert [line.time_off_minutes for line in off.lines] == [38, 180, 150] and off.total_time_off_minutes == 368
    # Other sectors time off: 30 × 1.10 = 33; 120 × 1.25 = 150; 75 × 1.25 = 93.75 → 94; 277 min.
    assert intervention_compensation(found, AUTRES, mode="time_off").total_time_off_minutes == 277


def test_a_weekday_evening_running_into_ascension_day():
    # Wednesday 13 May 21:00 → Thursday 14 May (Ascension) 00:30: weekday 60, night 120, holiday 30.
    found = slots(paris(2026, 5, 13, 21), paris(2026, 5, 14, 0, 30))
    assert found == {"weekday": 60, "saturday": 0, "night": 120, "sunday_or_holiday": 30}
    # 1 h × 16 + 2 h × 24 + 0.5 h × 32 = 16 + 48 + 16 = 80.00.
    assert intervention_compensation(found, AUTRES).total_amount == d("80.00")
    # Early on a weekday: 05:30 → 08:00 is 90 min of night and 60 of day.
    assert slots(paris(2026, 5, 12, 5, 30), paris(2026, 5, 12, 8)) == {
        "weekday": 60, "saturday": 0, "night": 90, "sunday_or_holiday": 0,
    }


def test_intervention_slots_count_elapsed_minutes_across_clock_changes():
    # Saturday 28 March 23:00 → Sunday 04:00 reads 5 h but lasts 4 h: night 60 (Saturday 23:00–24:00),
    # Sunday 00:00–04:00 is 3 h elapsed = 180.
    assert slots(paris(2026, 3, 28, 23), paris(2026, 3, 29, 4)) == {
        "weekday": 0, "saturday": 0, "night": 60, "sunday_or_holiday": 180,
    }
    # Saturday 24 October 23:00 → Sunday 04:00 lasts 6 h: 60 + 300.
    assert slots(paris(2026, 10, 24, 23), paris(2026, 10, 25, 4)) == {
        "weekday": 0, "saturday": 0, "night": 60, "sunday_or_holiday": 300,
    }


def test_intervention_instants_round_to_the_minute_and_holidays_follow_the_calendar():
    # 21:29:31 → 21:30 and 01:15:29 → 01:15, so the same 225 minutes as above.
    assert sum(slots(paris(2026, 5, 23, 21, 29, 31), paris(2026, 5, 24, 1, 15, 29)).values()) == 225
    good_friday = (paris(2026, 4, 3, 10), paris(2026, 4, 3, 11))
    assert slots(*good_friday)["weekday"] == 60
    assert slots(*good_friday, holidays="FR-alsace-moselle")["sunday_or_holiday"] == 60
    with pytest.raises(ValueError, match="unknown slots"):
        intervention_compensation({"evening": 10}, AUTRES)
    with pytest.raises(ValueError, match="mode"):
        intervention_compensation({"night": 10}, AUTRES, mode="cash")


# --- daily rest ----------------------------------------------------------------------------


def duty_days(*days: int):
    """Chenôve office hours on those May 2026 days: 08:30–12:00 and 13:30–17:30."""
    return [span for day in days for span in ((paris(2026, 5, day, 8, 30), paris(2026, 5, day, 12)),
                                               (paris(2026, 5, day, 13, 30), paris(2026, 5, day, 17, 30)))]


def test_a_late_intervention_before_a_working_day_breaks_the_daily_rest():
    # Tuesday 12 May: work to 17:30, called out 23:00 → 01:00, back at work on Wednesday 08:30.
    # The day from Tuesday 08:30 rests at most 01:00 → 08:30 = 7 h 30 < 11 h.
    found = rest_warnings([(paris(2026, 5, 12, 23), paris(2026, 5, 13, 1))], duty=duty_days(12, 13, 14))
    assert len(found) == 1
    warning = found[0]
    assert (warning.rest_start, warning.rest_end) == (paris(2026, 5, 13, 1), paris(2026, 5, 13, 8, 30))
    assert warning.rest == 7.5 * H
    assert warning.day_start == paris(2026, 5, 12, 8, 30)
    assert warning.message == (
        "Repos quotidien de 7 h 30 seulement (minimum 11 h) : fin du travail le mer. 13/05/2026 à 01:00, "
        "reprise le mer. 13/05/2026 à 08:30 (journée commencée le mar. 12/05/2026 à 08:30)."
    )


def test_an_intervention_after_a_full_rest_breaks_nothing():
    # Work ends 17:30, the call comes at 05:00: 11 h 30 of rest were already taken before it.
    assert rest_warnings([(paris(2026, 5, 13, 5), paris(2026, 5, 13, 6))], duty=duty_days(12, 13, 14)) == []


def test_a_chain_of_interventions_alone_can_break_the_rest():
    # A storm: Monday 20:00 → Tuesday 02:00, Tuesday 06:00 → 12:00, Tuesday 18:00 → Wednesday 01:00.
    # The day from Monday 20:00 rests 4 h then 6 h (12:00 → 18:00): at most 6 h.
    storm = [
        (paris(2026, 5, 11, 20), paris(2026, 5, 12, 2)),
        (paris(2026, 5, 12, 6), paris(2026, 5, 12, 12)),
        (paris(2026, 5, 12, 18), paris(2026, 5, 13, 1)),
    ]
    found = rest_warnings(storm)
    assert [(w.day_start, w.rest_start, w.rest) for w in found] == [
        (paris(2026, 5, 11, 20), paris(2026, 5, 12, 12), 6 * H)
    ]
    # Over 25 h without a break there is no rest at all.
    nonstop = rest_warnings([(paris(2026, 5, 11, 20), paris(2026, 5, 12, 21))], duty=duty_days(13))
    assert [w.rest for w in nonstop] == [timedelta()] and nonstop[0].message.startswith("Aucun repos")
    assert rest_warnings([]) == []


# --- properties ----------------------------------------------------------------------------


START = datetime(2026, 1, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=365 * 24 * 3600).map(lambda s: START + timedelta(seconds=s))


@settings(max_examples=200, deadline=None)
@given(start=instants, seconds=st.integers(min_value=0, max_value=3 * 24 * 3600),
       calendar=st.sampled_from(["FR", "FR-alsace-moselle", None]))
def test_slots_sum_to_the_rounded_duration(start, seconds, calendar):
    end = start + timedelta(seconds=seconds)
    found = intervention_slots(start, end, tz=TZ, holidays=calendar)
    rounded = slots_rounded_minutes(start, end)
    assert set(found) == set(SLOTS) and all(v >= 0 for v in found.values())
    assert sum(found.values()) == rounded


def slots_rounded_minutes(start: datetime, end: datetime) -> int:
    def rounded(value: datetime) -> int:
        return (int(value.timestamp()) + 30) // 60  # UTC timestamps: half a minute rounds up
    return rounded(end) - rounded(start)


minutes = st.integers(min_value=0, max_value=28 * 24 * 60)
BASE = paris(2026, 3, 9)  # three weeks and more around the spring change
periods_strategy = st.lists(
    st.tuples(minutes, st.integers(min_value=1, max_value=10 * 24 * 60)), min_size=1, max_size=4
).map(lambda items: [(BASE + timedelta(minutes=a), BASE + timedelta(minutes=a + n)) for a, n in items])


@settings(max_examples=150, deadline=None)
@given(periods=periods_strategy, regime=st.sampled_from([TECHNIQUE, AUTRES]))
def test_units_never_overlap_and_lie_within_the_periods(periods, regime):
    found = astreinte_units(periods, tz=TZ, holidays="FR", regime=regime)

    def held(at: datetime) -> bool:
        return any(s <= at < e for s, e in periods)

    plain = [u for u in found if not u.supplement]
    for left, right in zip(plain, plain[1:]):
        assert left.end <= right.start
    for unit in found:
        assert unit.start < unit.end and unit.amount > 0
        assert held(unit.start) and held(unit.end - timedelta(microseconds=1))
        if unit.supplement:
            composed = [c for c in plain if c.kind in ("week", "weekend", "workweek")]
            assert any(c.start <= unit.start and unit.end <= c.end for c in composed)
        elif not unit.partial:
            # A whole unit is held throughout: every hand-over inside it is covered by some period.
            cuts = sorted({unit.start, *(t for s, e in periods for t in (s, e) if unit.start < t < unit.end)})
            assert all(held(t) for t in cuts)


def test_the_figures_a_regime_marks_to_check_are_named_where_they_are_used():
    technique, autres = load_regime("technique-2015"), load_regime("autres-2015")
    assert unverified(technique, "exploitation", "paid") == []
    assert unverified(technique, "exploitation", "time_off") == []
    assert unverified(technique, "decision") == ["montants de l'astreinte « Astreinte de décision »"]
    assert unverified(autres, "securite", "paid") == []
    assert unverified(autres, "securite", "time_off") == ["majorations du repos compensateur d'intervention"]
