"""When the PC is the commune's entry point: weekly windows, public holidays, exceptions.

Windows are local wall-clock times in the commune's time zone, turned into UTC instants
day by day with zoneinfo, so a covered day lasts 23 h or 25 h on a daylight-saving change.
A window bound that does not exist or happens twice follows zoneinfo's ``fold=0`` (the
offset in force before the change), as in `escalation.oncall`.

For one local date the first rule that applies decides: an exception for that date, then a
public holiday (covered all day when `holidays_covered_all_day`), then the weekly windows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_package

UTC = UTC
ALL_DAY: tuple[tuple[time, time | None], ...] = ((time(0), None),)

# Our calendar names → (country, subdivision) in the holidays package. Alsace-Moselle is
# the package's subdivision "57" (Moselle); "6AE" (Alsace, i.e. 67 and 68) has the same days.
_CALENDARS = {"FR": ("FR", None), "FR-alsace-moselle": ("FR", "57")}


@dataclass(frozen=True)
class Window:
    weekday: int  # 0 = Monday … 6 = Sunday
    start: time
    end: time | None  # None: until midnight

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        _check_bounds(self.start, self.end)


@dataclass(frozen=True)
class DayException:
    day: date
    windows: tuple[tuple[time, time | None], ...]  # () = not covered, ALL_DAY = covered all day

    def __post_init__(self) -> None:
        for start, end in self.windows:
            _check_bounds(start, end)


@dataclass(frozen=True)
class Coverage:
    tz: str
    weekly: tuple[Window, ...]
    holidays: str | None = "FR"
    holidays_covered_all_day: bool = True
    exceptions: tuple[DayException, ...] = ()

    def __post_init__(self) -> None:
        ZoneInfo(self.tz)
        if self.holidays is not None and self.holidays not in _CALENDARS:
            raise ValueError(f"unknown holiday calendar {self.holidays!r}; known: {sorted(_CALENDARS)}")


def _check_bounds(start: time, end: time | None) -> None:
    if start.tzinfo is not None or (end is not None and end.tzinfo is not None):
        raise ValueError("window bounds are naive local times")
    if end is not None and end <= start:
        raise ValueError("a window ends after it starts (None for midnight)")


def _weekdays(*days: int, windows: tuple[tuple[time, time | None], ...]) -> tuple[Window, ...]:
    return tuple(Window(day, start, end) for day in days for start, end in windows)


CHENOVE_WEEKLY: tuple[Window, ...] = _weekdays(
    0, 1, 2, 3, 4, windows=((time(0), time(8, 30)), (time(12), time(13, 30)), (time(17, 30), None))
) + _weekdays(5, 6, windows=ALL_DAY)


def default_coverage(tz: str = "Europe/Paris") -> Coverage:
    """Chenôve's coverage: nights, lunch breaks, weekends and French public holidays."""
    return Coverage(tz=tz, weekly=CHENOVE_WEEKLY, holidays="FR")


@lru_cache(maxsize=256)
def _holidays_of_year(calendar: str, year: int) -> tuple[tuple[date, str], ...]:
    country, subdiv = _CALENDARS[calendar]
    # The language is explicit: left out, the package picks it from the process's locale.
    found = holidays_package.country_holidays(country, subdiv=subdiv, years=year, language="fr")
    return tuple(sorted(found.items()))


def public_holidays(calendar: str | None, years: Iterable[int]) -> dict[date, str]:
    """Public holidays of a calendar ("FR", "FR-alsace-moselle" or None) by date, French names."""
    if calendar is None:
        return {}
    if calendar not in _CALENDARS:
        raise ValueError(f"unknown holiday calendar {calendar!r}; known: {sorted(_CALENDARS)}")
    return {day: name for year in sorted(set(years)) for day, name in _holidays_of_year(calendar, year)}


def _is_holiday(coverage: Coverage, day: date) -> bool:
    return day in public_holidays(coverage.holidays, (day.year,))


def day_windows(coverage: Coverage, day: date) -> tuple[tuple[time, time | None], ...]:
    """The local windows that apply on `day`, after exceptions and holidays."""
    for exception in reversed(coverage.exceptions):  # the last one given for a date wins
        if exception.day == day:
            return exception.windows
    if coverage.holidays_covered_all_day and _is_holiday(coverage, day):
        return ALL_DAY
    return tuple((w.start, w.end) for w in coverage.weekly if w.weekday == day.weekday())


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def _day_intervals(coverage: Coverage, day: date) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(coverage.tz)
    found = []
    for start, end in day_windows(coverage, day):
        begin = _instant(day, start, zone)
        finish = _instant(day + timedelta(days=1), time(0), zone) if end is None else _instant(day, end, zone)
        if finish > begin:
            found.append((begin, finish))
    return found


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def covered_intervals(coverage: Coverage, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Covered periods within [start, end), in UTC, sorted and merged across midnight."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []
    zone = ZoneInfo(coverage.tz)
    # One day of margin each side: a local day's intervals stay within that local day.
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    pieces = []
    while day <= last:
        for begin, finish in _day_intervals(coverage, day):
            if finish > start and begin < end:
                pieces.append((max(begin, start), min(finish, end)))
        day += timedelta(days=1)
    return _merge(pieces)


def is_covered(coverage: Coverage, at: datetime) -> bool:
    """Whether the PC is the commune's entry point at instant `at`."""
    _require_aware(at, "at")
    return bool(covered_intervals(coverage, at, at + timedelta(microseconds=1)))


def day_kind(coverage: Coverage, day: date) -> str:
    """The calendar kind of `day` ("holiday", "saturday", "sunday", "weekday"), exceptions aside."""
    if _is_holiday(coverage, day):
        return "holiday"
    return {5: "saturday", 6: "sunday"}.get(day.weekday(), "weekday")
