"""iCal feeds (RFC 5545) of the planning, behind secret revocable URLs a phone calendar can subscribe to."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.security import token_digest
from backend.calendars.models import CalendarFeed
from backend.errors import NotFound
from backend.groups.models import OnCallGroup
from backend.orgs.models import Organization
from backend.schedule import service as schedule_service

PAST = timedelta(days=31)
FUTURE = timedelta(days=180)


def create(*, db_session: Session, organization_id: int, person_id: int | None, group_id: int | None, label: str,
           user_id: int | None) -> tuple[CalendarFeed, str]:
    """The token is shown once: only its digest is kept, so a leaked database leaks no feed."""
    token = secrets.token_urlsafe(24)
    feed = CalendarFeed(organization_id=organization_id, token_hash=token_digest(token), person_id=person_id,
                        group_id=group_id, label=label, created_by_user_id=user_id)
    db_session.add(feed)
    db_session.flush()
    return feed, token


def by_token(*, db_session: Session, token: str) -> CalendarFeed:
    feed = db_session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == token_digest(token)))
    if feed is None or feed.revoked_at is not None:
        raise NotFound("calendar")
    return feed


def feeds_of(*, db_session: Session, person_id: int | None = None, group_id: int | None = None) -> list[CalendarFeed]:
    query = select(CalendarFeed).where(CalendarFeed.revoked_at.is_(None))
    query = query.where(CalendarFeed.person_id == person_id) if person_id else query.where(
        CalendarFeed.group_id == group_id)
    return list(db_session.scalars(query.order_by(CalendarFeed.id)))


def revoke(*, db_session: Session, feed: CalendarFeed, now: datetime) -> None:
    feed.revoked_at = now


def render(*, db_session: Session, feed: CalendarFeed, now: datetime) -> bytes:
    organization = db_session.get(Organization, feed.organization_id)
    start, end = now - PAST, now + FUTURE
    if feed.group_id is not None:
        groups = [db_session.get(OnCallGroup, feed.group_id)]
        name = f"Astreinte {groups[0].name} — {organization.name}"
    else:
        groups = list(db_session.scalars(select(OnCallGroup).where(
            OnCallGroup.organization_id == feed.organization_id).order_by(OnCallGroup.id)))
        person = schedule_service.names_of(db_session, [feed.person_id]).get(feed.person_id, "")
        name = f"Mes astreintes — {person}"
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Vigie//Planning d'astreinte//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", organization.timezone or "Europe/Paris")
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    for group in groups:
        first, last = _whole_turns(db_session, group, start, end)
        shifts = schedule_service.shifts(db_session=db_session, group=group, start=first, end=last)
        names = schedule_service.names_of(db_session, [s.person_id for s in shifts])
        for shift in shifts:
            if shift.person_id is None or (feed.person_id is not None and shift.person_id != feed.person_id):
                continue
            who = names.get(shift.person_id, "?")
            event = icalendar.Event()
            # Stable per group, person and start: a calendar updates an entry instead of duplicating it.
            event.add("uid", f"vigie-{group.id}-{shift.person_id or 0}-{int(shift.start.timestamp())}@vigie")
            event.add("dtstamp", now)
            event.add("dtstart", shift.start)
            event.add("dtend", shift.end)
            event.add("summary", group.name + ("" if feed.person_id else f" — {who}"))
            note = f"Remplace {names.get(shift.replacing) or 'le titulaire'}" if shift.replacing else ""
            event.add("description", f"{organization.name}. {note}".strip())
            event.add("transp", "OPAQUE" if shift.person_id else "TRANSPARENT")
            cal.add_component(event)
    feed.last_fetched_at = now
    return cal.to_ical()


def _whole_turns(db_session: Session, group: OnCallGroup, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Widen the window to whole turns, so an entry never shows cut at the edge nor changes its UID as days pass."""
    edge = timedelta(microseconds=1)
    before = schedule_service.turns(db_session=db_session, group=group, start=start, end=start + edge)
    after = schedule_service.turns(db_session=db_session, group=group, start=end - edge, end=end)
    return (min([start, *(t.start for _, t in before)]), max([end, *(t.end for _, t in after)]))
