"""On-call pay: astreinte units, intervention slots and daily-rest warnings, from versioned regimes.

Amounts, rates, majorations and their sources live in ``backend/payroll/regimes/*.json``; nothing
here hard-codes one. Every instant is aware; returned instants are in UTC; calendars are the
commune's local wall clock (zoneinfo, ``fold=0`` for a missing or repeated time, as in
`escalation.oncall`), durations are elapsed time.

Astreinte units (`astreinte_units`), for one person's periods:

- Each local date D has a *daytime* [D ``morning``, D ``evening``) and a *night*
  [D ``evening``, D+1 ``morning``) (default 08:30 and 17:30, the commune's business hours).
  A night is a "night" unit whatever the day; a daytime is a "saturday" unit on a Saturday, a
  "sunday_or_holiday" unit on a Sunday or public holiday (a Saturday holiday is a holiday), and
  nothing on a working day, when the agent is at work.
- Composed units first, only where the periods hold them entirely: "week" (Monday morning →
  next Monday morning), then "weekend" (Friday evening → Monday morning), then "workweek"
  (Monday morning → Friday evening) where the regime has it. They absorb the nights and weekend
  daytimes inside them: the week rate is seven nights, a Saturday and a Sunday, the weekend three
  nights, a Saturday and a Sunday (QE n° 5880, JOAN 15 May 2018).
- A holiday's daytime inside a composed unit is paid on top (``supplement=True``) since the
  holiday rate covers the daytime only: the holiday amount on a weekday, the difference with the
  Saturday already included on a Saturday, nothing on a Sunday (same QE; CDG 44: 159.20 + 46.55
  = 205.75 and 159.20 − 37.40 + 46.55 = 168.35).
- What is left is cut into nights and daytimes. A slot held only in part (a swap at an odd hour)
  counts when at least half of it is held (``partial=True``): a slot split between two holders is
  paid to one at least, and stray minutes pay nothing. Where the regime has a "fractionnée" night
  rate, a night held less than its threshold (10 h) gets that rate instead. So a swap that gives
  away half a week leaves each holder the nights and days they held.
- A month takes the units that start in it (local date), so pass whole periods, not periods
  clipped at the month bounds: a week crossing the month end stays one week, in the month it
  starts. A holiday supplement is dated on the holiday.
- Short notice: a period notified less than ``days_francs`` (15) *jours francs* before it starts
  — neither the notification day nor the start day counts, so notified on the 3rd for the 18th is
  14 days — flags every unit drawing on it. The majorated amount is the amount + 50 % where the
  regime's variant says so, else the amount.

Interventions (`intervention_slots`): instants are rounded to the nearest minute, then each minute
goes to one slot, the best paid one — "sunday_or_holiday" (local date), else "night" (22:00–07:00),
else "saturday", else "weekday". The texts do not cumulate majorations (arrêté du 28 septembre 2015:
« les coefficients de majoration ne sont pas cumulables ») and their rates rank in that order.

Daily rest (`rest_warnings`): a working day starts with each work period (intervention, or regular
duty when given). Its rest is the longest gap from the end of a work period ending within the 24 h
from that start to the next work start (unbounded after the last period); it must last ``min_rest``
(11 h, décret n° 2000-815 art. 3 via décret n° 2001-623). So an intervention after a full night's
rest (05:00, the day's work having ended at 17:30) breaks nothing, one at 23:00 with work again at
08:30 does. Without the duty periods only chains of interventions can be judged.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from escalation.coverage import public_holidays

UTC = UTC
CENT = Decimal("0.01")
SLOTS = ("weekday", "saturday", "night", "sunday_or_holiday")
SLOT_LABELS = {
    "weekday": "Jour de semaine",
    "saturday": "Samedi",
    "night": "Nuit (22 h – 7 h)",
    "sunday_or_holiday": "Dimanche ou jour férié",
}
UNIT_KINDS = ("week", "weekend", "workweek", "night", "night_short", "saturday", "sunday_or_holiday")
_REQUIRED_UNITS = ("week", "weekend", "night", "saturday", "sunday_or_holiday")
_WEEKDAYS_FR = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")


# --- regimes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Regime:
    id: str
    label: str
    valid_from: date
    data: Mapping[str, Any] = field(repr=False, compare=False)  # the JSON document

    def variant(self, name: str | None = None) -> tuple[str, Mapping[str, Any]]:
        """The astreinte variant `name` (the regime's default when None) and its rules."""
        astreinte = self.data["astreinte"]
        name = name or astreinte["default_variant"]
        if name not in astreinte["variants"]:
            known = sorted(astreinte["variants"])
            raise ValueError(f"regime {self.id} has no variant {name!r}; known: {known}")
        return name, astreinte["variants"][name]


def unverified(regime: Regime, variant: str | None, intervention_mode: str | None = None) -> list[str]:
    """What of the regime, as used here, its data marks `to_check` (figures not read in the official text)."""
    _, rules = regime.variant(variant)
    found = []
    if rules.get("to_check"):
        found.append(f"montants de l'astreinte « {rules['label']} »")
    if intervention_mode == "time_off" and regime.data["interventions"]["time_off"].get("to_check"):
        found.append("majorations du repos compensateur d'intervention")
    if intervention_mode == "paid" and regime.data["interventions"]["paid"].get("to_check"):
        found.append("taux horaires des interventions")
    return found


def _check_regime(data: Mapping[str, Any]) -> None:
    astreinte, interventions = data["astreinte"], data["interventions"]
    Decimal(astreinte["short_notice"]["majoration"])
    int(astreinte["short_notice"]["days_francs"])
    if astreinte["default_variant"] not in astreinte["variants"]:
        raise ValueError(f"{data['id']}: the default variant is not defined")
    for name, variant in astreinte["variants"].items():
        units = variant["units"]
        missing = [kind for kind in _REQUIRED_UNITS if kind not in units]
        unknown = [kind for kind in units if kind not in UNIT_KINDS]
        if missing or unknown:
            raise ValueError(f"{data['id']}/{name}: missing units {missing}, unknown units {unknown}")
        for unit in units.values():
            if Decimal(unit["amount"]) < 0:
                raise ValueError(f"{data['id']}/{name}: negative amount")
    for key, table in (("paid", "rates"), ("time_off", "majorations")):
        values = interventions[key][table]
        if sorted(values) != sorted(SLOTS):
            raise ValueError(f"{data['id']}: interventions.{key}.{table} must give {SLOTS}")
        for value in values.values():
            Decimal(value)


@lru_cache(maxsize=1)
def _all_regimes() -> dict[str, Regime]:
    found: dict[str, Regime] = {}
    folder = resources.files("backend.payroll") / "regimes"
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".json"):
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if path.name != f"{data['id']}.json":
            raise ValueError(f"{path.name} holds regime {data['id']!r}; the file is named after its id")
        _check_regime(data)
        found[data["id"]] = Regime(data["id"], data["label"], date.fromisoformat(data["valid_from"]), data)
    return found


def regimes() -> list[Regime]:
    """Every packaged regime, oldest first."""
    return sorted(_all_regimes().values(), key=lambda r: (r.valid_from, r.id))


def load_regime(regime_id: str) -> Regime:
    """The packaged regime `regime_id` (e.g. "technique-2015")."""
    found = _all_regimes()
    if regime_id not in found:
        raise ValueError(f"unknown pay regime {regime_id!r}; known: {sorted(found)}")
    return found[regime_id]


# --- shared helpers ------------------------------------------------------------------------


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _span(item: Any) -> tuple[datetime, datetime]:
    """(start, end) in UTC of a Shift-like object or a (start, end) pair."""
    start, end = (item.start, item.end) if hasattr(item, "start") else item
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end < start:
        raise ValueError("a period must not end before it starts")
    return start.astimezone(UTC), end.astimezone(UTC)


def _merge(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


Span = tuple[datetime, datetime]


def _held(merged: list[Span], start: datetime, end: datetime) -> list[Span]:
    """The parts of [start, end) the merged periods hold, in order."""
    return [(max(s, start), min(e, end)) for s, e in merged if s < end and e > start]


def _length(pieces: list[tuple[datetime, datetime]]) -> timedelta:
    return sum((e - s for s, e in pieces), timedelta())


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _holiday_dates(holidays: str | Collection[date] | None, first: date, last: date) -> frozenset[date]:
    """Holiday dates: a calendar name for `public_holidays` ("FR", "FR-alsace-moselle"), or dates."""
    if holidays is None:
        return frozenset()
    if isinstance(holidays, str):
        return frozenset(public_holidays(holidays, range(first.year, last.year + 1)))
    return frozenset(holidays)


# --- astreinte units -----------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    kind: str  # one of UNIT_KINDS
    label: str
    start: datetime  # UTC
    end: datetime
    amount: Decimal
    short_notice: bool
    majorated_amount: Decimal  # the amount with the short-notice majoration, when it applies
    partial: bool = False  # the slot was held in part only
    supplement: bool = False  # a holiday paid on top of the composed unit covering it
    time_off: tuple[Decimal, str] | None = None  # compensation in time instead, where the regime has it


def _time_off(spec: Mapping[str, Any]) -> tuple[Decimal, str] | None:
    found = spec.get("time_off")
    return (Decimal(found["quantity"]), found["unit"]) if found else None


def _jours_francs(notified: datetime, start: datetime, zone: ZoneInfo) -> int:
    return (start.astimezone(zone).date() - notified.astimezone(zone).date()).days - 1


def astreinte_units(
    periods: Sequence[Any],
    *,
    tz: str,
    holidays: str | Collection[date] | None,
    regime: Regime,
    notice: datetime | Sequence[datetime | None] | None = None,
    variant: str | None = None,
    morning: time = time(8, 30),
    evening: time = time(17, 30),
    month: tuple[int, int] | None = None,
) -> list[Unit]:
    """The regulatory units one person's on-call periods make (see the module docstring)."""
    if not morning < evening:
        raise ValueError("the morning comes before the evening")
    zone = ZoneInfo(tz)
    spans = [_span(p) for p in periods]
    notices = list(notice) if isinstance(notice, Sequence) else [notice] * len(spans)
    if len(notices) != len(spans):
        raise ValueError("give one notice per period, or one for all")
    _, spec = regime.variant(variant)
    units_spec = spec["units"]
    rule = regime.data["astreinte"]["short_notice"]
    majoration = Decimal(rule["majoration"]) if spec.get("short_notice") else Decimal(0)
    short_periods = []
    for span, notified in zip(spans, notices):
        if notified is not None:
            _require_aware(notified, "notice")
            if _jours_francs(notified, span[0], zone) < int(rule["days_francs"]):
                short_periods.append(span)
    merged = _merge(spans)
    if not merged:
        return []
    first = merged[0][0].astimezone(zone).date() - timedelta(days=7)
    last = merged[-1][1].astimezone(zone).date() + timedelta(days=1)
    off = _holiday_dates(holidays, first, last + timedelta(days=7))

    def daytime(day: date) -> tuple[datetime, datetime]:
        return _at(day, morning, zone), _at(day, evening, zone)

    def night(day: date) -> tuple[datetime, datetime]:
        return _at(day, evening, zone), _at(day + timedelta(days=1), morning, zone)

    def day_kind(day: date) -> str | None:
        if day in off or day.weekday() == 6:
            return "sunday_or_holiday"
        return "saturday" if day.weekday() == 5 else None

    def amount_of(kind: str) -> Decimal:
        return Decimal(units_spec[kind]["amount"])

    def make(kind: str, start: datetime, end: datetime, amount: Decimal, **extra: Any) -> Unit:
        short = any(s < end and e > start for s, e in short_periods)
        majorated = _money(amount * (1 + majoration)) if short else amount
        label = extra.pop("label", units_spec[kind]["label"])
        time_off = extra.pop("time_off", _time_off(units_spec[kind]))
        return Unit(kind, label, start, end, amount, short, majorated, time_off=time_off, **extra)

    units: list[Unit] = []
    composed: list[tuple[datetime, datetime]] = []
    windows = [  # kind, weekday it starts on, its bounds from that date, the daytimes inside
        ("week", 0, lambda d: (daytime(d)[0], daytime(d + timedelta(days=7))[0]), range(7)),
        ("weekend", 4, lambda d: (night(d)[0], daytime(d + timedelta(days=3))[0]), range(1, 3)),
        ("workweek", 0, lambda d: (daytime(d)[0], daytime(d + timedelta(days=4))[1]), range(5)),
    ]
    for kind, weekday, bounds, inside in windows:
        if kind not in units_spec:
            continue
        for day in _days(first, last):
            start, end = bounds(day)
            if day.weekday() != weekday or any(s < end and e > start for s, e in composed):
                continue
            if _length(_held(merged, start, end)) != end - start:
                continue
            composed.append((start, end))
            units.append(make(kind, start, end, amount_of(kind)))
            for holiday in (day + timedelta(days=offset) for offset in inside):
                if holiday not in off:
                    continue
                included = {5: "saturday", 6: "sunday_or_holiday"}.get(holiday.weekday())
                extra = amount_of("sunday_or_holiday") - (amount_of(included) if included else 0)
                if extra > 0:
                    holiday_label = units_spec["sunday_or_holiday"]["label"]
                    label = f"{holiday_label} — férié du {holiday:%d/%m} en sus de : {units_spec[kind]['label']}"
                    time_off = None if included else _time_off(units_spec["sunday_or_holiday"])
                    day_start, day_end = daytime(holiday)
                    extras = {"label": label, "time_off": time_off, "supplement": True}
                    units.append(make("sunday_or_holiday", day_start, day_end, extra, **extras))

    short_night = units_spec.get("night_short")
    for day in _days(first, last):
        for kind, (start, end) in (("day", daytime(day)), ("night", night(day))):
            kind = day_kind(day) if kind == "day" else kind
            if kind is None or any(s <= start and end <= e for s, e in composed):
                continue
            pieces = _held(merged, start, end)
            held = _length(pieces)
            if held <= timedelta():
                continue
            if kind == "night" and short_night is not None:
                if held < timedelta(hours=short_night["below_hours"]):
                    kind = "night_short"
            elif held * 2 < end - start:
                continue
            partial = held < end - start
            units.append(make(kind, pieces[0][0], pieces[-1][1], amount_of(kind), partial=partial))

    if month is not None:
        units = [u for u in units if u.start.astimezone(zone).timetuple()[:2] == tuple(month)]
    return sorted(units, key=lambda u: (u.start, u.supplement, u.end))


# --- interventions -------------------------------------------------------------------------


def _round_minute(value: datetime) -> datetime:
    down = value.replace(second=0, microsecond=0)
    return down + timedelta(minutes=1) if value - down >= timedelta(seconds=30) else down


def intervention_slots(
    start: datetime,
    end: datetime,
    *,
    tz: str,
    holidays: str | Collection[date] | None,
    night: tuple[time, time] = (time(22), time(7)),
) -> dict[str, int]:
    """Minutes of one intervention [start, end) by slot (SLOTS), in the commune's local time."""
    start, end = _span((start, end))
    start, end = _round_minute(start), _round_minute(end)
    zone = ZoneInfo(tz)
    minutes = dict.fromkeys(SLOTS, 0)
    if end <= start:
        return minutes
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    off = _holiday_dates(holidays, first, last)
    cuts = {start, end}
    for day in _days(first, last):
        for at in (time(0), night[1], night[0]):
            cut = _at(day, at, zone)
            if start < cut < end:
                cuts.add(cut)
    for left, right in pairwise(sorted(cuts)):
        local = left.astimezone(zone)
        if local.date() in off or local.weekday() == 6:
            slot = "sunday_or_holiday"
        elif local.time() >= night[0] or local.time() < night[1]:
            slot = "night"
        elif local.weekday() == 5:
            slot = "saturday"
        else:
            slot = "weekday"
        minutes[slot] += int((right - left).total_seconds()) // 60
    return minutes


@dataclass(frozen=True)
class CompensationLine:
    slot: str
    label: str
    minutes: int
    hours: Decimal  # minutes / 60, to the hundredth, for display
    rate: Decimal | None  # € per hour ("paid")
    amount: Decimal | None  # from the exact minutes, to the cent ("paid")
    majoration: Decimal | None  # "time_off"
    time_off_minutes: int | None  # minutes × (1 + majoration), to the nearest minute ("time_off")


@dataclass(frozen=True)
class Compensation:
    mode: str
    lines: tuple[CompensationLine, ...]
    total_amount: Decimal | None
    total_time_off_minutes: int | None


def intervention_compensation(slots: Mapping[str, int], regime: Regime, mode: str = "paid") -> Compensation:
    """Paid hours and amounts, or time off with its majorations, for slot minutes."""
    if mode not in ("paid", "time_off"):
        raise ValueError('mode is "paid" or "time_off"')
    unknown = set(slots) - set(SLOTS)
    if unknown:
        raise ValueError(f"unknown slots {sorted(unknown)}; known: {SLOTS}")
    rules = regime.data["interventions"][mode]
    lines = []
    for slot in SLOTS:
        minutes = slots.get(slot, 0)
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        if minutes == 0:
            continue
        hours = _money(Decimal(minutes) / 60)
        if mode == "paid":
            rate = Decimal(rules["rates"][slot])
            amount = _money(rate * minutes / 60)
            lines.append(CompensationLine(slot, SLOT_LABELS[slot], minutes, hours, rate, amount, None, None))
        else:
            majoration = Decimal(rules["majorations"][slot])
            credited = int((minutes * (1 + majoration)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            line = CompensationLine(slot, SLOT_LABELS[slot], minutes, hours, None, None, majoration, credited)
            lines.append(line)
    if mode == "paid":
        return Compensation(mode, tuple(lines), sum((line.amount for line in lines), Decimal("0.00")), None)
    return Compensation(mode, tuple(lines), None, sum(line.time_off_minutes for line in lines))


# --- daily rest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestWarning:
    day_start: datetime  # UTC: the work start the 24 h are counted from
    rest_start: datetime | None  # the longest rest of that day; None: no rest at all
    rest_end: datetime | None
    rest: timedelta
    message: str


def _duration(value: timedelta) -> str:
    hours, minutes = divmod(int(value.total_seconds()) // 60, 60)
    if hours == 0:
        return f"{minutes} min"
    return f"{hours} h {minutes:02d}" if minutes else f"{hours} h"


def _when(value: datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    return f"le {_WEEKDAYS_FR[local.weekday()]} {local:%d/%m/%Y} à {local:%H:%M}"


def rest_warnings(
    interventions: Iterable[Any],
    *,
    min_rest: timedelta = timedelta(hours=11),
    duty: Iterable[Any] = (),
    tz: str = "Europe/Paris",
) -> list[RestWarning]:
    """Where work (interventions, and regular duty if given) leaves less than `min_rest` in a day."""
    zone = ZoneInfo(tz)
    work = _merge([_span(i) for i in interventions] + [_span(d) for d in duty])
    rests = [(left[1], right[0]) for left, right in pairwise(work)]
    found: list[RestWarning] = []
    seen: set[tuple[datetime, datetime | None]] = set()
    for day_start, _ in work:
        day_end = day_start + timedelta(hours=24)
        if day_start < work[-1][1] <= day_end:
            continue  # the rest after the last work period has no end
        candidates = [r for r in rests if day_start < r[0] <= day_end]
        if candidates:
            rest_start, rest_end = max(candidates, key=lambda r: r[1] - r[0])
            if rest_end - rest_start >= min_rest or (rest_start, rest_end) in seen:
                continue
            seen.add((rest_start, rest_end))
            rest = rest_end - rest_start
            message = (
                f"Repos quotidien de {_duration(rest)} seulement (minimum {_duration(min_rest)}) : "
                f"fin du travail {_when(rest_start, zone)}, reprise {_when(rest_end, zone)} "
                f"(journée commencée {_when(day_start, zone)})."
            )
            found.append(RestWarning(day_start, rest_start, rest_end, rest, message))
        elif (day_start, None) not in seen:
            seen.add((day_start, None))
            message = (
                f"Aucun repos dans les 24 h suivant le début du travail {_when(day_start, zone)} "
                f"(minimum {_duration(min_rest)})."
            )
            found.append(RestWarning(day_start, None, None, timedelta(), message))
    return found
