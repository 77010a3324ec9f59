"""The convention's figures, computed from the trace (the main courante), never from summary columns.

Definitions, as the follow-up meeting reads them:
- pick-up rate: answered calls / logged calls of the period (target 85 %);
- first action: the first human response to the event — an acknowledgement, a decline, a report-back
  (by the person, or recorded by an operator on their behalf), or an operator's own action on it
  (note, requalification, closure): the kinds of `HUMAN_ACTIONS` (backend/trace/kinds.py). The pages
  and informations Vigie sends by itself with the event do not count, so an event nobody answered has
  no first action and counts as a miss. The delay runs from the event's opening (`event.created`) and
  is compared with one hour and with the severity's target (target 100 % for both);
- reports per event: `report.sent` entries / events (target ≥ 1);
- time to acknowledge: `page.started` → `page.acknowledged`, by the group of the last person asked;
- escalation depth: how many people a page asked (`page.notify`) before it ended;
- delivery by channel: notifications whose trace shows them handed over (`sent`/`delivered`) against
  those that ended `failed`.
Events are counted by their reception time, in the commune's local months.
Drills (events marked « EXERCICE ») are left out of every figure of the convention and shown apart
(`exercises`: how many, their first action and their time to acknowledge).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.calls.models import BypassedAlert, Call
from backend.events.models import Event
from backend.orgs.models import Organization
from backend.trace.kinds import HUMAN_ACTIONS, TraceKind
from backend.trace.models import TraceEntry
from escalation.severity import severity as severity_of

PICKUP_TARGET = 0.85
ONE_HOUR_S = 3600
# Said with the figures (JSON, CSV, the console and its projection), so every reader has the same definition.
FIRST_ACTION_DEFINITION = ("Première action : la première réponse humaine à l'événement (acquittement, refus, "
                           "compte rendu, ou action de l'opérateur : réponse pour le compte d'un agent, note, "
                           "requalification, clôture), comptée depuis l'ouverture de l'événement. Les sollicitations "
                           "envoyées automatiquement ne comptent pas : un événement resté sans réponse est hors délai.")


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def days(period: Period, tz: str) -> tuple[date, date]:
    """The first and the last day a period covers, in `tz`: its end is exclusive (midnight after the last day)."""
    zone = ZoneInfo(tz)
    return period.start.astimezone(zone).date(), (period.end - timedelta(microseconds=1)).astimezone(zone).date()


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(entry: TraceEntry, since: datetime) -> float:
    return (entry.at - since).total_seconds()


def compute(*, db_session: Session, org_ids: frozenset[int], period: Period, tz: str = "Europe/Paris") -> dict:
    """Every figure of the dashboard for the communes `org_ids` over the period."""
    zone = ZoneInfo(tz)
    received = list(db_session.scalars(select(Event).where(
        Event.organization_id.in_(org_ids), Event.received_at >= period.start, Event.received_at < period.end)
        .order_by(Event.received_at)))
    entries: dict[int, list[TraceEntry]] = defaultdict(list)
    if received:
        for entry in db_session.scalars(select(TraceEntry).where(TraceEntry.event_id.in_([e.id for e in received]))
                                        .order_by(TraceEntry.event_id, TraceEntry.seq)):
            entries[entry.event_id].append(entry)
    events = [e for e in received if not e.exercise]
    drills = [e for e in received if e.exercise]
    calls = list(db_session.scalars(select(Call).where(
        Call.organization_id.in_(org_ids), Call.received_at >= period.start, Call.received_at < period.end,
        Call.voided_at.is_(None))))
    bypassed = list(db_session.scalars(select(BypassedAlert).where(
        BypassedAlert.organization_id.in_(org_ids), BypassedAlert.occurred_at >= period.start,
        BypassedAlert.occurred_at < period.end)))

    first_actions = [_first_action(event, entries[event.id]) for event in events]
    reports = sum(1 for event in events for e in entries[event.id] if e.kind == TraceKind.REPORT_SENT)
    answered = [c for c in calls if c.answered]
    bypassed_by_category: Counter[str] = Counter()
    for alert in bypassed:
        bypassed_by_category[alert.category] += alert.count
    return {
        "period": {"start": period.start, "end": period.end},
        "events": len(events),
        "calls": {
            "total": len(calls), "answered": len(answered), "missed": len(calls) - len(answered),
            "pickup_rate": _rate(len(answered), len(calls)), "target": PICKUP_TARGET,
            # Only measured waits: a one-click call has none (its ring and answer are the same click).
            "median_wait_s": statistics.median(waits) if (waits := [
                (c.answered_at - c.received_at).total_seconds() for c in answered if c.wait_known]) else None,
        },
        "first_action": _first_action_figures(events, first_actions),
        "reports": {"sent": reports, "per_event": _rate(reports, len(events)), "target": 1.0,
                    "events_without_report": sum(1 for ev in events if not any(
                        e.kind == TraceKind.REPORT_SENT for e in entries[ev.id]))},
        "by_category": dict(Counter(e.category for e in events).most_common()),
        "by_severity": {str(s): n for s, n in sorted(Counter(e.severity for e in events).items())},
        "by_month": dict(sorted(Counter(e.received_at.astimezone(zone).strftime("%Y-%m") for e in events).items())),
        "ack_by_group": _ack_by_group(entries[e.id] for e in events),
        "escalation_depth": _depth(entries[e.id] for e in events),
        "delivery_by_channel": _delivery(entries[e.id] for e in events),
        "exercises": _exercise_figures(drills, entries),
        "bypassed": {"total": sum(bypassed_by_category.values()),
                     "by_category": dict(bypassed_by_category.most_common())},
    }


def _first_action(event: Event, trace: list[TraceEntry]) -> float | None:
    created = next((e for e in trace if e.kind == TraceKind.EVENT_CREATED), None)
    since = created.at if created else event.received_at
    # An integration closing the event at the end of its alarm is not a person acting on it.
    action = next((e for e in trace if e is not created and e.kind in HUMAN_ACTIONS and e.actor_type != "system"),
                  None)
    return None if action is None else max(_seconds(action, since), 0.0)


def _first_action_figures(events: list[Event], delays: list[float | None]) -> dict:
    within_hour = sum(1 for d in delays if d is not None and d <= ONE_HOUR_S)
    within_target = sum(1 for ev, d in zip(events, delays)
                        if d is not None and d <= severity_of(ev.severity).first_action_target_s)
    by_severity = {}
    for severity in sorted({e.severity for e in events}):
        mine = [d for ev, d in zip(events, delays) if ev.severity == severity]
        done = [d for d in mine if d is not None]
        by_severity[str(severity)] = {
            "events": len(mine), "target_s": severity_of(severity).first_action_target_s,
            "within_target": sum(1 for d in done if d <= severity_of(severity).first_action_target_s),
            "without_action": len(mine) - len(done), "median_s": statistics.median(done) if done else None}
    return {"within_hour": within_hour, "within_hour_rate": _rate(within_hour, len(events)),
            "within_target": within_target, "within_target_rate": _rate(within_target, len(events)),
            "without_action": sum(1 for d in delays if d is None), "target": 1.0, "by_severity": by_severity,
            "definition": FIRST_ACTION_DEFINITION}


def _exercise_figures(drills: list[Event], entries: dict[int, list[TraceEntry]]) -> dict:
    """The drills of the period, apart: how the chain would have answered, never in the convention's figures."""
    first = _first_action_figures(drills, [_first_action(d, entries[d.id]) for d in drills])
    return {"events": len(drills),
            "first_action": {k: first[k] for k in ("within_hour", "within_hour_rate", "within_target",
                                                   "within_target_rate", "without_action")},
            "ack_by_group": _ack_by_group(entries[d.id] for d in drills)}


def _ack_by_group(traces) -> dict:
    delays: dict[str, list[float]] = defaultdict(list)
    for trace in traces:
        started = {e.data.get("page_id"): e.at for e in trace if e.kind == TraceKind.PAGE_STARTED}
        group_of: dict[int, str] = {}
        for entry in trace:
            if entry.kind == TraceKind.PAGE_NOTIFY:
                group_of[entry.data.get("page_id")] = entry.data.get("group") or "?"
            elif entry.kind == TraceKind.PAGE_ACKNOWLEDGED and entry.data.get("page_id") in started:
                page_id = entry.data["page_id"]
                delays[group_of.get(page_id, "?")].append((entry.at - started[page_id]).total_seconds())
    return {group: {"pages": len(values), "median_s": statistics.median(values), "max_s": max(values)}
            for group, values in sorted(delays.items())}


def _depth(traces) -> dict:
    asked: Counter[int] = Counter()
    ends: dict[int, str] = {}
    for trace in traces:
        for entry in trace:
            page_id = entry.data.get("page_id")
            if entry.kind == TraceKind.PAGE_NOTIFY:
                asked[page_id] += 1
            elif entry.kind in (TraceKind.PAGE_ACKNOWLEDGED, TraceKind.PAGE_UNREACHED, TraceKind.PAGE_CANCELLED):
                ends[page_id] = entry.kind.split(".")[1]
    distribution = Counter(asked.values())
    return {"pages": len(asked), "distribution": {str(k): v for k, v in sorted(distribution.items())},
            "mean": round(statistics.mean(asked.values()), 2) if asked else None,
            "acknowledged": sum(1 for v in ends.values() if v == "acknowledged"),
            "unreached": sum(1 for v in ends.values() if v == "unreached")}


def _delivery(traces) -> dict:
    outcome: dict[int, tuple[str, str]] = {}
    for trace in traces:
        for entry in trace:
            if entry.kind in (TraceKind.NOTIFICATION_SENT, TraceKind.NOTIFICATION_DELIVERED, TraceKind.NOTIFICATION_FAILED):
                nid = entry.data.get("notification_id")
                ok = entry.kind != TraceKind.NOTIFICATION_FAILED
                if nid not in outcome or ok:  # a later success (after a retry) wins over nothing
                    outcome[nid] = (entry.data.get("channel") or "?", "ok" if ok else "failed")
    by_channel: dict[str, Counter] = defaultdict(Counter)
    for channel, result in outcome.values():
        by_channel[channel][result] += 1
    return {channel: {"ok": c["ok"], "failed": c["failed"], "success_rate": _rate(c["ok"], c["ok"] + c["failed"])}
            for channel, c in sorted(by_channel.items())}


def scope(*, db_session: Session, org_ids: frozenset[int], organization_id: int | None) -> tuple[frozenset[int], str]:
    """The communes a figure covers (one, or all the caller sees) and the time zone of their months."""
    communes = frozenset(db_session.scalars(select(Organization.id).where(
        Organization.id.in_(org_ids), Organization.kind == "commune")))
    if organization_id is not None:
        communes = communes & {organization_id}
    tz = db_session.scalar(select(Organization.timezone).where(Organization.id.in_(communes)).limit(1))
    return communes, tz or "Europe/Paris"
