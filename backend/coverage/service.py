"""The PC's coverage hours per commune: weekly windows, public holidays, per-date exceptions."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.coverage.models import CoverageException, CoverageSettings
from backend.coverage.schemas import CoverageUpdate
from backend.errors import Conflict, NotFound
from backend.orgs.models import Organization
from escalation import coverage as core


def settings_of(*, db_session: Session, organization: Organization) -> CoverageSettings:
    """The commune's settings; a commune that set nothing has the first customer's hours."""
    row = db_session.scalar(select(CoverageSettings).where(CoverageSettings.organization_id == organization.id))
    if row is None:
        row = CoverageSettings(organization_id=organization.id, weekly=windows_to_json(core.CHENOVE_WEEKLY),
                               holidays="FR", out_of_coverage="solicit", watch_confirm_minutes=30,
                               swap_needs_approval=False)
    return row


def update(*, db_session: Session, organization: Organization, patch: CoverageUpdate, now: datetime) -> CoverageSettings:
    changes = patch.changes()
    row = settings_of(db_session=db_session, organization=organization)
    if row.id is None:
        db_session.add(row)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = now
    db_session.flush()
    return row


def exceptions_of(*, db_session: Session, organization_id: int, since: date | None = None) -> list[CoverageException]:
    query = select(CoverageException).where(CoverageException.organization_id == organization_id)
    if since is not None:
        query = query.where(CoverageException.day >= since)
    return list(db_session.scalars(query.order_by(CoverageException.day)))


def add_exception(*, db_session: Session, organization: Organization, day: date, windows: list[dict],
                  label: str) -> CoverageException:
    taken = db_session.scalar(select(CoverageException.id).where(
        CoverageException.organization_id == organization.id, CoverageException.day == day))
    if taken is not None:
        raise Conflict("this date already has an exception; delete it first", code="exception_exists")
    row = CoverageException(organization_id=organization.id, day=day, windows=windows,
                            label=label)
    db_session.add(row)
    db_session.flush()
    return row


def get_exception(*, db_session: Session, exception_id: int, org_ids: frozenset[int]) -> CoverageException:
    row = db_session.scalar(select(CoverageException).where(CoverageException.id == exception_id,
                                                            CoverageException.organization_id.in_(org_ids)))
    if row is None:
        raise NotFound("coverage exception")
    return row


def coverage_of(*, db_session: Session, organization: Organization,
                row: CoverageSettings | None = None) -> core.Coverage:
    row = row or settings_of(db_session=db_session, organization=organization)
    exceptions = tuple(
        core.DayException(e.day, tuple((_time(w["start"]), _time(w.get("end"))) for w in e.windows))
        for e in exceptions_of(db_session=db_session, organization_id=organization.id))
    weekly = tuple(core.Window(int(w["weekday"]), _time(w["start"]), _time(w.get("end"))) for w in row.weekly)
    return core.Coverage(tz=organization.timezone or "Europe/Paris", weekly=weekly, holidays=row.holidays,
                         exceptions=exceptions)


def is_covered(*, db_session: Session, organization: Organization, at: datetime,
               row: CoverageSettings | None = None) -> bool:
    return core.is_covered(coverage_of(db_session=db_session, organization=organization, row=row), at)


def intervals(*, db_session: Session, organization: Organization, start: datetime,
              end: datetime) -> list[tuple[datetime, datetime]]:
    return core.covered_intervals(coverage_of(db_session=db_session, organization=organization), start, end)


def _time(text: str | None) -> time | None:
    if text in (None, "", "24:00"):
        return None
    return time.fromisoformat(text)


def _text(value: time | None) -> str:
    return "24:00" if value is None else value.strftime("%H:%M")


def windows_to_json(windows) -> list[dict]:
    return [{"weekday": w.weekday, "start": _text(w.start), "end": _text(w.end)} for w in windows]


def weekly_hours(weekly: list[dict]) -> float:
    minutes = 0
    for w in weekly:
        start_h, start_m = map(int, w["start"].split(":"))
        end_h, end_m = map(int, (w.get("end") or "24:00").split(":"))
        minutes += (end_h * 60 + end_m) - (start_h * 60 + start_m)
    return minutes / 60


def upcoming_holidays(*, organization: Organization, row: CoverageSettings, now: datetime,
                      count: int = 5) -> list[dict]:
    today = now.date()
    found = core.public_holidays(row.holidays, [today.year, today.year + 1])
    return [{"day": day, "name": name} for day, name in sorted(found.items()) if day >= today][:count]
