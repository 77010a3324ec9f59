"""On-call payroll: the commune's settings, and a month's export (CSV, XLSX, one PDF per agent), kept per version.

Who is paid: the commune's people who are not élus (élus are never paid for astreinte, whatever the
settings), whose group kind (or own rule) has a regime, and who are not excluded by their own rule.
By default technique groups are paid under "technique-2015" (astreinte d'exploitation), cadre groups
under "autres-2015", and prestataire groups not at all (their company pays them).

Astreinte: the effective shifts of every group over the month and 8 days each side (so a week or a
weekend starting in the month is whole, and one starting before it is seen to cover its first days),
per person and regime, cut into units by `payroll.rules`, which keeps the units starting in the month.
The notice of a shift is when its holder was told: for a turn, the creation of the rotation version —
or of an older version that already gave them the same turn (an edit that adds someone does not make
everyone's turns short-notice); for a replacement or a swap, the creation of the override.

Interventions, from the events' trace: for a person, from their first solicitation (`page.notify` for
them) or their first `response.ack` / `en_route` / `on_site`, whichever comes first, to their first
`response.done` after it (travel included); without a `done`, to the event's closure (a warning says
so); an event still open gives no intervention yet (a warning says so). Someone solicited who never
answered did not intervene. An intervention belongs to the month in which it starts (local time), whole.

Daily rest: `payroll.rules.rest_warnings` with, as regular duty, the commune's business hours taken as
the Monday–Friday hours the PC does not cover — an approximation: it assumes every agent works those
hours every weekday (no leave, part time or shifts). A warning is kept only where an intervention falls
in the day it judges.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from backend.coverage import service as coverage_service
from backend.errors import Conflict, NotFound, Unprocessable
from backend.events.models import Event
from backend.groups.models import OnCallGroup
from backend.orgs.models import Organization
from backend.payroll import export as payroll_export
from backend.payroll import items as payroll_items
from backend.payroll import render as payroll_render
from backend.payroll import rules as pay
from backend.payroll.items import Intervention, Item, Period
from backend.payroll.models import PayrollExport, PayrollPersonSettings, PayrollSettings, PayrollStatement
from backend.payroll.schemas import SettingsUpdate
from backend.people.models import Person
from backend.schedule import service as schedule_service
from backend.schedule.models import Override, Rotation
from backend.trace.kinds import TraceKind
from backend.trace.models import TraceEntry
from escalation import oncall

UTC = UTC
PAID_KINDS = ("technique", "cadre", "prestataire")  # "elu" is never paid
DEFAULT_KIND_REGIMES: dict[str, dict | None] = {
    "technique": {"regime": "technique-2015", "variant": "exploitation"},
    "cadre": {"regime": "autres-2015", "variant": "securite"},
    "prestataire": None,
}
MARGIN = timedelta(days=8)
TRACE_KINDS = (TraceKind.PAGE_NOTIFY, TraceKind.RESPONSE_ACK, TraceKind.RESPONSE_EN_ROUTE, TraceKind.RESPONSE_ON_SITE, TraceKind.RESPONSE_DONE,
               TraceKind.EVENT_CLOSED, TraceKind.TRACE_CORRECTION)
BEGIN_KINDS = (TraceKind.RESPONSE_ACK, TraceKind.RESPONSE_EN_ROUTE, TraceKind.RESPONSE_ON_SITE)


# --- settings ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Conf:
    collectivite: str
    kind_regimes: dict[str, dict | None]
    codes: dict[str, dict[str, str]]
    morning: time
    evening: time


def settings_of(*, db_session: Session, organization: Organization) -> PayrollSettings:
    """The commune's settings row; one that set nothing has the defaults (not yet stored)."""
    row = db_session.scalar(select(PayrollSettings).where(PayrollSettings.organization_id == organization.id))
    if row is None:
        row = PayrollSettings(organization_id=organization.id, collectivite_code="", kind_regimes={}, codes={},
                              morning="08:30", evening="17:30")
    return row


def conf_of(row: PayrollSettings, organization: Organization) -> Conf:
    codes = {key: dict(row.codes.get(key) or {"code": code, "label": label})
             for key, (code, label) in payroll_items.DEFAULT_CODES.items()}
    codes.update({key: dict(value) for key, value in (row.codes or {}).items() if "/" in key and value})
    return Conf(collectivite=row.collectivite_code or organization.code,
                kind_regimes={**DEFAULT_KIND_REGIMES, **(row.kind_regimes or {})}, codes=codes,
                morning=time.fromisoformat(row.morning), evening=time.fromisoformat(row.evening))


def check_regime(regime_id: str, variant: str | None) -> tuple[str, str]:
    """(regime id, variant name) when both exist; the regime's default variant when none is named."""
    try:
        regime = pay.load_regime(regime_id)
        name, _ = regime.variant(variant)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="unknown_regime") from exc
    return regime.id, name


def update_settings(*, db_session: Session, organization: Organization, patch: SettingsUpdate,
                    now: datetime) -> PayrollSettings:
    changes = patch.changes()
    if "kind_regimes" in changes:
        changes["kind_regimes"] = {k: (v.model_dump() if v is not None else None)
                                   for k, v in (patch.kind_regimes or {}).items()}
    row = settings_of(db_session=db_session, organization=organization)
    if "kind_regimes" in changes:
        merged = dict(row.kind_regimes or {})
        for kind, value in changes.pop("kind_regimes").items():
            if kind not in PAID_KINDS:
                raise Unprocessable("élus are never paid for astreinte" if kind == "elu" else
                                    f"unknown group kind {kind!r}", code="kind_not_paid")
            if value is None:
                merged[kind] = None
            else:
                regime, variant = check_regime(value["regime"], value.get("variant"))
                merged[kind] = {"regime": regime, "variant": variant}
        row.kind_regimes = merged
    if "codes" in changes:
        merged = dict(row.codes or {})
        for key, value in changes.pop("codes").items():
            regime_id, _, item = key.rpartition("/")
            if item not in payroll_items.CODE_KEYS:
                raise Unprocessable(f"unknown item {item!r}; known: {list(payroll_items.CODE_KEYS)}",
                                    code="unknown_item")
            if regime_id:
                check_regime(regime_id, None)
            if value is None:  # back to the default: the item's own code, or the one of every regime
                merged.pop(key, None)
                continue
            merged[key] = {"code": value["code"], "label": value["label"]}
        row.codes = merged
    for name, value in changes.items():
        setattr(row, name, value)
    if time.fromisoformat(row.morning) >= time.fromisoformat(row.evening):
        raise Unprocessable("the astreinte day's morning comes before its evening", code="bad_day_bounds")
    row.updated_at = now
    if row.id is None:
        db_session.add(row)
    db_session.flush()
    return row


def person_rules(*, db_session: Session, organization_id: int) -> list[PayrollPersonSettings]:
    return list(db_session.scalars(select(PayrollPersonSettings).where(
        PayrollPersonSettings.organization_id == organization_id).order_by(PayrollPersonSettings.person_id)))


def _person_of(db_session: Session, organization: Organization, person_id: int) -> Person:
    person = db_session.get(Person, person_id)
    if person is None or person.organization_id != organization.id:
        raise NotFound("person")
    return person


def set_person_rule(*, db_session: Session, organization: Organization, person_id: int, regime: str | None,
                    variant: str | None, excluded: bool, intervention_mode: str,
                    now: datetime) -> PayrollPersonSettings:
    person = _person_of(db_session, organization, person_id)
    if person.is_elected:
        raise Unprocessable("élus are never paid for astreinte", code="elected_not_paid")
    if regime is not None:
        regime, variant = check_regime(regime, variant)
    elif variant is not None:
        raise Unprocessable("a variant goes with a regime", code="variant_without_regime")
    row = db_session.scalar(select(PayrollPersonSettings).where(PayrollPersonSettings.person_id == person.id))
    if row is None:
        row = PayrollPersonSettings(organization_id=organization.id, person_id=person.id)
        db_session.add(row)
    row.regime, row.variant, row.excluded = regime, variant, excluded
    row.intervention_mode, row.updated_at = intervention_mode, now
    db_session.flush()
    return row


def delete_person_rule(*, db_session: Session, organization: Organization, person_id: int) -> None:
    person = _person_of(db_session, organization, person_id)
    row = db_session.scalar(select(PayrollPersonSettings).where(PayrollPersonSettings.person_id == person.id))
    if row is None:
        raise NotFound("payroll rule")
    db_session.delete(row)
    db_session.flush()


# --- the month's figures ---------------------------------------------------------------------------
@dataclass
class AgentPay:
    person_id: int
    name: str
    employee_number: str | None
    intervention_mode: str
    last_name: str = ""
    first_name: str = ""
    regimes: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def total(self, *sections: str) -> Decimal:
        return sum((i.amount for i in self.items if i.amount is not None and (not sections or i.section in sections)),
                   Decimal("0.00"))

    def time_off_hours(self) -> Decimal:
        return sum((i.quantity for i in self.items if i.section == "repos"), Decimal("0.00"))


@dataclass
class Computation:
    organization_name: str
    collectivite: str
    month: str
    tz: str
    complete: bool
    agents: list[AgentPay]
    warnings: list[str]  # about the export as a whole
    excluded: list[dict]
    settings: dict


def month_bounds(month: str, tz: str) -> tuple[int, int, datetime, datetime]:
    try:
        year, number = (int(part) for part in month.split("-"))
        if not (2000 <= year <= 2100 and 1 <= number <= 12 and len(month) == 7):
            raise ValueError
    except ValueError:
        raise Unprocessable("a month is written YYYY-MM, e.g. 2026-11", code="bad_month") from None
    zone = ZoneInfo(tz)
    start = datetime(year, number, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone).astimezone(UTC)
    return year, number, start, end


def compute(*, db_session: Session, organization: Organization, month: str, now: datetime,
            public_url: str = "") -> Computation:
    """Every agent's items for the month, with the warnings payroll and the manager must read (a missing
    matricule points to the person's page in the console at `public_url`)."""
    tz = organization.timezone or "Europe/Paris"
    year, number, start, end = month_bounds(month, tz)
    conf = conf_of(settings_of(db_session=db_session, organization=organization), organization)
    holidays = coverage_service.settings_of(db_session=db_session, organization=organization).holidays
    rules = {r.person_id: r for r in person_rules(db_session=db_session, organization_id=organization.id)}
    people = {p.id: p for p in db_session.scalars(select(Person).where(Person.organization_id == organization.id))}
    groups = list(db_session.scalars(select(OnCallGroup).options(selectinload(OnCallGroup.members))
                                     .where(OnCallGroup.organization_id == organization.id).order_by(OnCallGroup.id)))
    memberships: dict[int, list[OnCallGroup]] = defaultdict(list)
    for group in groups:
        for member in group.members:
            memberships[member.person_id].append(group)

    def regime_for(person_id: int, kind: str) -> tuple[str, str] | None:
        rule = rules.get(person_id)
        if rule is not None and rule.regime:
            return rule.regime, rule.variant
        found = conf.kind_regimes.get(kind) if kind != "elu" else None
        return (found["regime"], found["variant"]) if found else None

    def intervention_regime(person_id: int, group_id: int | None) -> tuple[str, str] | None:
        rule = rules.get(person_id)
        if rule is not None and rule.regime:
            return rule.regime, rule.variant
        candidates = [g for g in groups if g.id == group_id] + memberships.get(person_id, [])
        return next((r for r in (regime_for(person_id, g.kind) for g in candidates) if r), None)

    excluded: dict[int, str] = {}
    periods: dict[int, dict[tuple[str, str], list[Period]]] = defaultdict(lambda: defaultdict(list))
    for group in groups:
        for person_id, period in _group_periods(db_session, group, start - MARGIN, end + MARGIN, tz):
            reason = _exclusion(people.get(person_id), rules.get(person_id), group)
            regime = None if reason else regime_for(person_id, group.kind)
            if regime is None:
                if period.start < end and period.end > start:
                    excluded.setdefault(person_id, reason or f"groupe « {group.name} » sans régime d'astreinte")
                continue
            periods[person_id][regime].append(period)

    interventions = _interventions(db_session, organization, start, end, tz)
    covered = coverage_service.intervals(db_session=db_session, organization=organization,
                                         start=start - timedelta(days=1), end=end + timedelta(days=1))
    duty = payroll_items.business_hours(covered, start - timedelta(days=1), end + timedelta(days=1), tz)

    agents = []
    to_confirm: dict[str, set[str]] = {}  # regime label -> parts its data marks `to_check`
    for person_id in sorted(set(periods) | set(interventions), key=lambda p: _sort_name(people.get(p))):
        person = people.get(person_id)
        rule = rules.get(person_id)
        reason = _exclusion(person, rule, None)
        if reason:
            excluded.setdefault(person_id, reason)
            continue
        assert person is not None  # a person of no commune of ours is excluded above
        agent = AgentPay(person_id, person.display_name, person.employee_number,
                         rule.intervention_mode if rule else "paid", last_name=person.last_name,
                         first_name=person.first_name)
        mine = periods.get(person_id, {})
        for (regime_id, variant), found in mine.items():
            regime = pay.load_regime(regime_id)
            to_confirm.setdefault(regime.label, set()).update(pay.unverified(regime, variant))
            agent.items += payroll_items.astreinte_items(
                found, regime=regime, variant=variant, tz=tz, holidays=holidays, month=(year, number),
                morning=conf.morning, evening=conf.evening, codes=conf.codes)
            agent.regimes.append(f"{regime.label} — {regime.variant(variant)[1]['label']}")
        if _overlap_across(list(mine.values())):
            agent.warnings.append("Astreintes simultanées dans des groupes de régimes différents : chacune est "
                                  "comptée ; vérifier.")
        all_periods = [p for found in mine.values() for p in found]
        by_regime: dict[tuple[str, str], list[Intervention]] = defaultdict(list)
        kept = []
        for found, group_id, notes in interventions.get(person_id, []):
            regime = intervention_regime(person_id, group_id)
            if regime is None:
                continue  # not on the commune's payroll (a contractor's contact)
            agent.warnings += notes
            if found is None:
                continue
            by_regime[regime].append(found)
            kept.append(found)
            when = payroll_items.span(found.start, found.end, tz)
            if found.ended_by == "closure":
                agent.warnings.append(f"Intervention de l'événement {found.event_number} ({when}) : aucun « terminé », "
                                      "comptée jusqu'à la clôture de l'événement.")
            if not any(p.start < found.end and p.end > found.start for p in all_periods):
                agent.warnings.append(f"Intervention de l'événement {found.event_number} ({when}) hors de ses périodes "
                                      "d'astreinte : à vérifier (heures supplémentaires ?).")
            if any(s < found.end and e > found.start for s, e in duty):
                agent.warnings.append(f"Intervention de l'événement {found.event_number} ({when}) pendant les heures "
                                      "de service : vérifier qu'elle n'est pas déjà rémunérée.")
        for (regime_id, variant), found in by_regime.items():
            regime = pay.load_regime(regime_id)
            to_confirm.setdefault(regime.label, set()).update(
                p for p in pay.unverified(regime, variant, agent.intervention_mode) if not p.startswith("montants"))
            agent.items += payroll_items.intervention_items(found, regime=regime, mode=agent.intervention_mode, tz=tz,
                                                           holidays=holidays, codes=conf.codes)
            label = regime.label
            if not any(r.startswith(label) for r in agent.regimes):
                agent.regimes.append(label)
        agent.warnings += payroll_items.rest_messages(kept, duty=duty, tz=tz)
        if not agent.items and not agent.warnings:
            continue
        if not person.employee_number:
            agent.warnings.insert(0, f"{person.display_name} n'a pas de matricule : ses lignes sont exportées avec un "
                                     "matricule vide (à son nom) ; renseigner le matricule sur sa fiche, "
                                     f"{public_url.rstrip('/')}/console/#/personne/{person_id}, puis recalculer le mois.")
        agent.items.sort(key=lambda i: (i.start, _SECTIONS.index(i.section)))  # stable: slots stay in order
        agents.append(agent)

    warnings = []
    complete = now >= end
    if not complete:
        warnings.append(f"Le mois {month} n'est pas terminé : cet export est provisoire.")
    for label, parts in sorted(to_confirm.items()):
        if parts:  # figures Vigie's regime data could not check against the official text
            warnings.append(f"{label} : {', '.join(sorted(parts))} à confirmer par le service RH avant la paie "
                            "(non relus dans le texte officiel).")
    settings = {"collectivite": conf.collectivite, "kind_regimes": conf.kind_regimes, "codes": conf.codes,
                "morning": conf.morning.strftime("%H:%M"), "evening": conf.evening.strftime("%H:%M"),
                "holidays": holidays, "timezone": tz}
    paid = {a.person_id for a in agents}
    return Computation(organization.name, conf.collectivite, month, tz, complete, agents, warnings,
                       [{"person_id": p, "person": people[p].display_name if p in people else "", "reason": r}
                        for p, r in sorted(excluded.items()) if p not in paid], settings)


_SECTIONS = ("astreinte", "majoration", "intervention", "repos")


def _sort_name(person: Person | None) -> tuple:
    return (person.last_name, person.first_name, person.id) if person else ("", "", 0)


def _exclusion(person: Person | None, rule: PayrollPersonSettings | None, group: OnCallGroup | None) -> str | None:
    if person is None:
        return "personne d'une autre collectivité"
    if person.is_elected:
        return "élu : jamais payé d'astreinte"
    if group is not None and group.kind == "elu":
        return f"groupe « {group.name} » (astreinte élu) : jamais payé"
    if rule is not None and rule.excluded:
        return "exclu par le paramétrage de la paie"
    return None


def _overlap_across(sets: list[list[Period]]) -> bool:
    """Whether periods paid under two different regimes overlap (the same hours would be paid twice)."""
    return any(a.start < b.end and b.start < a.end
               for i, left in enumerate(sets) for right in sets[i + 1:] for a in left for b in right)


def _group_periods(db_session: Session, group: OnCallGroup, start: datetime, end: datetime,
                   tz: str) -> list[tuple[int, Period]]:
    """The group's effective shifts over [start, end), each with its notice and what it comes from."""
    versions = list(db_session.scalars(select(Rotation).where(Rotation.group_id == group.id)
                                       .order_by(Rotation.valid_from, Rotation.id)))
    if not versions:
        return []
    overrides = schedule_service.overrides_between(db_session=db_session, group_id=group.id, start=start, end=end)
    found = []
    for rotation, shift in schedule_service.versioned_shifts(db_session=db_session, group=group, start=start, end=end):
        if shift.person_id is None:
            continue
        if shift.replacing is None and shift.turn_index is not None:
            notice = _turn_notice(rotation, versions, shift, tz)
            source = f"tour {shift.turn_index} de la rotation n° {rotation.id}"
        else:
            notice, source = _override_notice(overrides, shift)
        found.append((shift.person_id, Period(shift.start, shift.end, notice, group.name, source)))
    return found


def _turn_notice(rotation: Rotation, versions: list[Rotation], shift: oncall.Shift, tz: str) -> datetime:
    """When the holder learnt of this turn: the oldest of the consecutive versions that already gave it them."""
    notice = rotation.created_at
    for older in reversed(versions[:versions.index(rotation)]):
        core = oncall.Rotation(members=tuple(older.member_ids), anchor=older.anchor_local, tz=tz,
                               turn_days=older.turn_days)
        turn = oncall.turn_at(core, shift.start)
        if turn is None or turn.person_id != shift.person_id or turn.end < shift.end:
            break
        notice = min(notice, older.created_at)
    return notice


def _override_notice(overrides: list[Override], shift: oncall.Shift) -> tuple[datetime | None, str]:
    # Overrides apply in creation order, so the last one covering the shift is the one that put this person in.
    chosen = None
    for row in overrides:
        if row.person_id == shift.person_id and row.starts_at <= shift.start and shift.end <= row.ends_at:
            chosen = row
    if chosen is None:
        return None, "remplacement"
    if chosen.origin == "swap" and chosen.swap_id is not None:
        return chosen.created_at, f"échange n° {chosen.swap_id}"
    return chosen.created_at, f"remplacement n° {chosen.id}"


def _interventions(db_session: Session, organization: Organization, start: datetime, end: datetime,
                   tz: str) -> dict[int, list[tuple[Intervention | None, int | None, list[str]]]]:
    """Per person: the interventions starting in [start, end), the group they were asked for, and notes."""
    events = {e.id: e for e in db_session.scalars(select(Event).where(
        Event.organization_id == organization.id, Event.received_at < end,
        Event.exercise.is_(False),  # a drill is training, never paid as an intervention
        or_(Event.closed_at.is_(None), Event.closed_at >= start)))}
    if not events:
        return {}
    entries: dict[int, list[TraceEntry]] = defaultdict(list)
    for entry in db_session.scalars(select(TraceEntry).where(TraceEntry.event_id.in_(list(events)),
                                                             TraceEntry.kind.in_(TRACE_KINDS))
                                    .order_by(TraceEntry.event_id, TraceEntry.seq)):
        entries[entry.event_id].append(entry)
    found: dict[int, list] = defaultdict(list)
    for event_id, rows in entries.items():
        event = events[event_id]
        closed_at = next((e.at for e in rows if e.kind == TraceKind.EVENT_CLOSED), None)
        corrected = {e.corrects_id for e in rows if e.kind == TraceKind.TRACE_CORRECTION}
        by_person: dict[int, list[TraceEntry]] = defaultdict(list)
        for entry in rows:
            person_id = (entry.data or {}).get("person_id")
            if person_id is not None and entry.kind != TraceKind.TRACE_CORRECTION:
                by_person[person_id].append(entry)
        for person_id, mine in by_person.items():
            notify = next((e for e in mine if e.kind == TraceKind.PAGE_NOTIFY), None)
            begin = next((e for e in mine if e.kind in BEGIN_KINDS), None)
            if begin is None and not any(e.kind == TraceKind.RESPONSE_DONE for e in mine):
                continue  # asked, never answered: no intervention
            first = min((e for e in (notify, begin) if e is not None), key=lambda e: e.at, default=None)
            if first is None:
                continue  # a "done" with nothing before it: nothing to measure from
            done = next((e for e in mine if e.kind == TraceKind.RESPONSE_DONE and e.at >= first.at), None)
            at_end = done.at if done is not None else closed_at if closed_at and closed_at > first.at else None
            if not start <= first.at < end:
                continue
            group_id = (notify.data or {}).get("group_id") if notify is not None else None
            notes = []
            if any(e.id in corrected for e in mine):
                notes.append(f"La main courante de l'événement {event.number} corrige une entrée de cette "
                             "intervention : vérifier les heures.")
            if at_end is None:
                notes.append(f"Événement {event.number} encore ouvert : l'intervention commencée le "
                             f"{payroll_items.local(first.at, tz)} n'est pas comptée ; recalculer le mois après la clôture.")
                found[person_id].append((None, group_id, notes))
                continue
            intervention = Intervention(event.id, event.number, first.at, at_end,
                                        "done" if done is not None else "closure")
            found[person_id].append((intervention, group_id, notes))
    return found


# --- exports ----------------------------------------------------------------------------------------
def create_export(*, db_session: Session, organization: Organization, month: str, created_by: str,
                  now: datetime, public_url: str = "") -> PayrollExport:
    """A new version of the month's export; earlier versions stay as they were."""
    db_session.scalar(select(Organization.id).where(Organization.id == organization.id).with_for_update(key_share=True))
    computation = compute(db_session=db_session, organization=organization, month=month, now=now,
                          public_url=public_url)
    version = (db_session.scalar(select(func.max(PayrollExport.version)).where(
        PayrollExport.organization_id == organization.id, PayrollExport.month == month)) or 0) + 1
    csv_text = payroll_export.to_csv(computation)
    row = PayrollExport(organization_id=organization.id, month=month, version=version,
                        complete=computation.complete, csv=csv_text,
                        xlsx=payroll_export.to_xlsx(computation, version=version, now=now),
                        sha256=hashlib.sha256(csv_text.encode("utf-8")).hexdigest(),
                        summary=payroll_export.summary(computation), created_by=created_by, created_at=now)
    db_session.add(row)
    db_session.flush()
    for agent in computation.agents:
        pdf = payroll_render.statement_pdf(computation, agent, export_id=row.id, version=version, now=now)
        db_session.add(PayrollStatement(export_id=row.id, person_id=agent.person_id, pdf=pdf))
    db_session.flush()
    return row


def version_status(row: PayrollExport, latest_version: int) -> str:
    """draft | validated | superseded (a later version of the same month exists)."""
    if row.version < latest_version:
        return "superseded"
    return "validated" if row.validated_at is not None else "draft"


def status_of(*, db_session: Session, row: PayrollExport) -> str:
    latest = db_session.scalar(select(func.max(PayrollExport.version)).where(
        PayrollExport.organization_id == row.organization_id, PayrollExport.month == row.month))
    return version_status(row, latest or row.version)


def validate_export(*, db_session: Session, row: PayrollExport, validated_by: str, now: datetime) -> PayrollExport:
    """The manager signs this version off for payroll: only the latest one, and only once the month is over."""
    db_session.scalar(select(Organization.id).where(Organization.id == row.organization_id).with_for_update(key_share=True))
    if row.validated_at is not None:
        raise Conflict(f"version {row.version} was already validated by {row.validated_by}", code="already_validated")
    if status_of(db_session=db_session, row=row) == "superseded":
        raise Conflict("a later version of this month exists: validate that one", code="superseded")
    if not row.complete:
        raise Conflict("this version was computed before the month ended: compute the month again once it is over",
                       code="month_not_over")
    row.validated_at, row.validated_by = now, validated_by
    db_session.flush()
    return row


def list_exports(*, db_session: Session, organization_id: int, month: str | None = None) -> list[PayrollExport]:
    query = select(PayrollExport).where(PayrollExport.organization_id == organization_id)
    if month is not None:
        query = query.where(PayrollExport.month == month)
    return list(db_session.scalars(query.order_by(PayrollExport.month.desc(), PayrollExport.version.desc())))


def get_export(*, db_session: Session, export_id: int, org_ids: frozenset[int]) -> PayrollExport:
    row = db_session.scalar(select(PayrollExport).where(PayrollExport.id == export_id,
                                                        PayrollExport.organization_id.in_(org_ids)))
    if row is None:
        raise NotFound("payroll export")
    return row


def statements_of(*, db_session: Session, export: PayrollExport) -> list[PayrollStatement]:
    return list(db_session.scalars(select(PayrollStatement).where(PayrollStatement.export_id == export.id)
                                   .order_by(PayrollStatement.id)))


def get_statement(*, db_session: Session, export: PayrollExport, person_id: int) -> PayrollStatement:
    row = db_session.scalar(select(PayrollStatement).where(PayrollStatement.export_id == export.id,
                                                           PayrollStatement.person_id == person_id))
    if row is None:
        raise NotFound("statement")
    return row
