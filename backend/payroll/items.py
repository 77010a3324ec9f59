"""One agent's payroll items for a month, from their on-call periods and interventions (no database).

The arithmetic is `payroll.rules`'s; this module names each result with the commune's payroll code and
a reference payroll can trace back:
- an astreinte unit is one item (quantity 1, rate = amount = the regime's), referenced by its group, its
  bounds and the turns or replacements it draws on;
- the short-notice majoration is an item of its own (rate = the majorated amount − the amount), so the
  regulatory rate stays readable and the majoration has its own code;
- an intervention gives one item per slot: paid hours (quantity = hours to the hundredth, the amount
  from the exact minutes, as `payroll.rules` computes it) or time off (quantity = hours credited,
  majoration included; no rate, no amount), referenced by the event's number.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from backend.payroll import rules as pay

UTC = UTC

# Item key -> (default code, default label). The commune maps each to its own payroll code.
DEFAULT_CODES: dict[str, tuple[str, str]] = {
    "astreinte.week": ("ASTSEM", "Astreinte — semaine complète"),
    "astreinte.weekend": ("ASTWE", "Astreinte — week-end (vendredi soir au lundi matin)"),
    "astreinte.workweek": ("ASTLV", "Astreinte — du lundi matin au vendredi soir"),
    "astreinte.night": ("ASTNUIT", "Astreinte — nuit"),
    "astreinte.night_short": ("ASTNUITF", "Astreinte — nuit fractionnée (moins de 10 h)"),
    "astreinte.saturday": ("ASTSAM", "Astreinte — samedi"),
    "astreinte.sunday_or_holiday": ("ASTDIM", "Astreinte — dimanche ou jour férié"),
    "astreinte.holiday_supplement": ("ASTFER", "Astreinte — jour férié en sus de la semaine ou du week-end"),
    "astreinte.short_notice": ("ASTMAJ", "Astreinte — majoration délai de prévenance (moins de 15 jours)"),
    "intervention.weekday": ("INTSEM", "Intervention — jour de semaine"),
    "intervention.saturday": ("INTSAM", "Intervention — samedi"),
    "intervention.night": ("INTNUIT", "Intervention — nuit (22 h – 7 h)"),
    "intervention.sunday_or_holiday": ("INTDIM", "Intervention — dimanche ou jour férié"),
    "repos.weekday": ("RCSEM", "Repos compensateur d'intervention — jour de semaine (heures)"),
    "repos.saturday": ("RCSAM", "Repos compensateur d'intervention — samedi (heures)"),
    "repos.night": ("RCNUIT", "Repos compensateur d'intervention — nuit (heures)"),
    "repos.sunday_or_holiday": ("RCDIM", "Repos compensateur d'intervention — dimanche ou jour férié (heures)"),
}
CODE_KEYS = tuple(DEFAULT_CODES)


def code_for(codes: Mapping[str, Mapping[str, str]], regime_id: str, key: str) -> tuple[str, str]:
    """(code, label) of an item: the regime's own when the commune set one (`technique-2015/astreinte.week`:
    payroll keeps the sectors' indemnities apart), else the item's."""
    chosen = codes.get(f"{regime_id}/{key}") or codes[key]
    return chosen["code"], chosen["label"]


@dataclass(frozen=True)
class Period:
    """One effective shift of the agent, with the instant they were told of it."""

    start: datetime
    end: datetime
    notice: datetime | None
    group: str
    source: str  # "tour 3 du planning n° 12", "remplacement n° 5", "échange n° 2"


@dataclass(frozen=True)
class Intervention:
    event_id: int
    event_number: str
    start: datetime
    end: datetime
    ended_by: str  # done | closure


@dataclass(frozen=True)
class Item:
    section: str  # astreinte | majoration | intervention | repos
    key: str  # one of CODE_KEYS
    code: str
    label: str
    quantity: Decimal
    rate: Decimal | None
    amount: Decimal | None
    reference: str
    start: datetime
    end: datetime
    detail: str = ""  # what the statement shows besides the label


def fr(value: Decimal | None) -> str:
    """A French decimal: comma, no thousands separator ("" for none)."""
    return "" if value is None else str(value).replace(".", ",")


def money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def local(value: datetime, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M")


def span(start: datetime, end: datetime, tz: str) -> str:
    return f"du {local(start, tz)} au {local(end, tz)}"


def hours_minutes(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}"


def astreinte_items(periods: Sequence[Period], *, regime: pay.Regime, variant: str | None, tz: str,
                    holidays: str | Collection[date] | None, month: tuple[int, int], morning: time,
                    evening: time, codes: Mapping[str, Mapping[str, str]]) -> list[Item]:
    """The units the periods make that `payroll.rules` dates in `month`, and their majorations."""
    if not periods:
        return []
    units = pay.astreinte_units([(p.start, p.end) for p in periods], tz=tz, holidays=holidays, regime=regime,
                                notice=[p.notice for p in periods], variant=variant, morning=morning,
                                evening=evening, month=month)
    items = []
    for unit in units:
        sources = [p for p in periods if p.start < unit.end and p.end > unit.start]
        groups = ", ".join(dict.fromkeys(p.group for p in sources))
        drawn_on = " + ".join(dict.fromkeys(p.source for p in sources))
        reference = f"{groups}, {span(unit.start, unit.end, tz)}, {drawn_on}"
        key = "astreinte.holiday_supplement" if unit.supplement else f"astreinte.{unit.kind}"
        detail = unit.label + (" — tenue en partie" if unit.partial else "")
        notified = max((p.notice for p in sources if p.notice is not None), default=None)
        if unit.short_notice and notified is not None:
            detail += f" — prévenu le {notified.astimezone(ZoneInfo(tz)):%d/%m/%Y} (moins de 15 jours francs)"
        items.append(Item("astreinte", key, *code_for(codes, regime.id, key), Decimal(1), unit.amount,
                          unit.amount, reference, unit.start, unit.end, detail))
        extra = unit.majorated_amount - unit.amount
        if unit.short_notice and extra > 0:
            key = "astreinte.short_notice"
            detail = f"{unit.label} : {fr(unit.amount)} € → {fr(unit.majorated_amount)} €"
            items.append(Item("majoration", key, *code_for(codes, regime.id, key), Decimal(1), extra, extra,
                              reference, unit.start, unit.end, detail))
    return items


def intervention_items(interventions: Sequence[Intervention], *, regime: pay.Regime, mode: str, tz: str,
                       holidays: str | Collection[date] | None,
                       codes: Mapping[str, Mapping[str, str]]) -> list[Item]:
    items = []
    for found in sorted(interventions, key=lambda i: i.start):
        slots = pay.intervention_slots(found.start, found.end, tz=tz, holidays=holidays)
        compensation = pay.intervention_compensation(slots, regime, mode)
        reference = f"Événement {found.event_number}, intervention {span(found.start, found.end, tz)}"
        for line in compensation.lines:
            if mode == "paid":
                key = f"intervention.{line.slot}"
                items.append(Item("intervention", key, *code_for(codes, regime.id, key), line.hours, line.rate,
                                  line.amount, reference, found.start, found.end,
                                  f"{line.label} : {hours_minutes(line.minutes)}"))
            else:
                key = f"repos.{line.slot}"
                credited = money(Decimal(line.time_off_minutes) / 60)
                percent = (line.majoration * 100).normalize()
                detail = (f"{line.label} : {hours_minutes(line.minutes)} travaillées, majorées de {percent:f} % "
                          f"→ {hours_minutes(line.time_off_minutes)} de repos")
                items.append(Item("repos", key, *code_for(codes, regime.id, key), credited, None, None,
                                  reference, found.start, found.end, detail))
    return items


def business_hours(covered: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime,
                   tz: str) -> list[tuple[datetime, datetime]]:
    """Monday–Friday hours the PC does not cover: taken as the agents' regular working hours."""
    zone = ZoneInfo(tz)
    found = []
    day = start.astimezone(zone).date()
    while True:
        day_start = datetime.combine(day, time(0)).replace(tzinfo=zone).astimezone(UTC)
        if day_start >= end:
            break
        day_end = datetime.combine(day + timedelta(days=1), time(0)).replace(tzinfo=zone).astimezone(UTC)
        if day.weekday() < 5:
            cursor = max(day_start, start)
            for s, e in sorted(covered):
                if e <= cursor or s >= day_end:
                    continue
                if s > cursor:
                    found.append((cursor, min(s, day_end, end)))
                cursor = max(cursor, e)
            if cursor < min(day_end, end):
                found.append((cursor, min(day_end, end)))
        day += timedelta(days=1)
    return [(s, e) for s, e in found if e > s]


def rest_messages(interventions: Sequence[Intervention], *, duty: Sequence[tuple[datetime, datetime]],
                  tz: str) -> list[str]:
    """Daily-rest warnings of `payroll.rules`, kept where an intervention falls in the day judged."""
    if not interventions:
        return []
    spans = [(i.start, i.end) for i in interventions]
    messages = []
    for warning in pay.rest_warnings(spans, duty=duty, tz=tz):
        day_end = warning.day_start + timedelta(hours=24)
        if any(s < day_end and e > warning.day_start for s, e in spans):
            messages.append(warning.message)
    return messages
