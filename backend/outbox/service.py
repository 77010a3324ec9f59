"""The notification outbox: which channels reach a person, and the rows the dispatcher drains.

Channel policy (DESIGN.md §2): severity 1 never wakes anybody (e-mail only); severity 2 is
push first, with the SMS held back and sent only if the push fails or is not acknowledged
within `push_fallback_seconds`, or at once when the person has no push device; severity 3
is push and SMS together; severity 4 adds e-mail. A person without a phone app (a basic
phone) is SMS only; `email_copies` adds an e-mail to every solicitation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.events.models import Event
from backend.orgs.models import Organization
from backend.outbox.models import Notification, NotificationStatus
from backend.pages.models import Page
from backend.people.models import ContactMethod, Person
from escalation.planner import PageStatus
from escalation.severity import next_road, notice_roads, roads
from escalation.severity import severity as severity_of
from escalation.voice import call_after_sms_s, calls_at_once
from notifications.base import ChannelKind
from notifications.notice import Notice, render_notice
from notifications.render import EventSummary, render
from notifications.voice_twilio import DEFAULT_RING_S, call_length_s

PUSH_KINDS = ("push", "fcm")
@dataclass(frozen=True)
class OutboxPolicy:
    push_fallback_seconds: float = 120.0
    sms_flood_limit: int = 8
    voice: bool = False  # a voice provider is configured: communes that chose calls get them
    voice_ring_s: float = DEFAULT_RING_S  # Twilio's ring time, with which a call's length is reckoned


class SessionNotConfigured(RuntimeError):
    """A session made without what the outbox reads from it (`backend.runtime.session_info`)."""


def policy_of(db_session: Session) -> OutboxPolicy:
    return _setting(db_session, "outbox_policy")


def links_of(db_session: Session):
    """The signer of one-tap links (`backend.links.signing.LinkSigner`)."""
    return _setting(db_session, "links")


def _setting(db_session: Session, key: str):
    # No silent default: a session without them wrote e-mails without their one-tap links and
    # used another flood limit than the installation's, and nothing said so.
    value = db_session.info.get(key)
    if value is None:
        raise SessionNotConfigured(f"this session has no {key!r}: make its factory with "
                                   "backend.runtime.session_info(settings) (Runtime.build does)")
    return value


@dataclass(frozen=True)
class Planned:
    contact: ContactMethod
    delay_s: float = 0.0  # > 0: held back as a fallback, pulled forward if the push fails
    channel: str | None = None  # another road to the contact's address (a call to the SMS number)
    after_sms: bool = False  # a call held back for when the SMS stays unanswered


def plan(person: Person, severity: int, purpose: str, policy: OutboxPolicy) -> list[Planned]:
    """The person's contact methods on the roads the severity table chooses (escalation/severity.py)."""
    usable = [cm for cm in person.contact_methods if cm.enabled]
    contacts = {"push": [cm for kind in PUSH_KINDS for cm in usable if cm.kind == kind],
                "sms": [cm for cm in usable if cm.kind == "sms"][:1],
                "email": [cm for cm in usable if cm.kind == "email"][:1]}
    chosen = roads(severity, purpose, push=bool(contacts["push"]), sms=bool(contacts["sms"]),
                   email=bool(contacts["email"]), email_copies=person.email_copies,
                   push_fallback_s=policy.push_fallback_seconds)
    return [Planned(cm, road.delay_s) for road in chosen for cm in contacts[road.kind]]


# Further back than this, a call handed to Twilio has ended whatever its words and ring time.
LONGEST_CALL = timedelta(minutes=10)


def calls(db_session: Session, organization: Organization, person: Person, severity: int, purpose: str,
          planned: list[Planned], policy: OutboxPolicy, now: datetime) -> list[Planned]:
    """The call the commune chose beside the SMS, to the same number (escalation/voice.py)."""
    sms = next((item for item in planned if item.contact.kind == "sms"), None)
    if not policy.voice or sms is None:
        return []
    if calls_at_once(severity, purpose, from_severity=organization.voice_from_severity):
        # One call at a time to a phone: during another page's call this one waits for it to end
        # (held back, so it is dropped if this page is answered or moves on meanwhile).
        wait_s = call_in_progress_s(db_session, person.id, now, ring_s=policy.voice_ring_s)
        return [Planned(sms.contact, wait_s, channel=ChannelKind.VOICE.value)]
    after_s = call_after_sms_s(severity, purpose, from_severity=organization.voice_from_severity,
                               after_sms_minutes=organization.voice_after_sms_minutes)
    if after_s is None:
        return []
    return [Planned(sms.contact, sms.delay_s + after_s, channel=ChannelKind.VOICE.value, after_sms=True)]


def call_in_progress_s(db_session: Session, person_id: int, now: datetime, *, ring_s: float) -> float:
    """Seconds until the person's call in progress (or about to be placed) has ended at the latest; 0: none.

    A call is over once its ring time, the machine detection and every reading of its words are spent
    (`call_length_s`), even if Twilio's word on its end was lost.
    """
    ongoing = db_session.execute(select(
        Notification.status, Notification.handed_off_at, Notification.text, Notification.purpose).where(
        Notification.person_id == person_id, Notification.channel == ChannelKind.VOICE.value,
        ((Notification.status == NotificationStatus.QUEUED) & (Notification.due_at <= now))
        | ((Notification.status == NotificationStatus.SENT) & (Notification.handed_off_at >= now - LONGEST_CALL)))
        .limit(10)).all()
    ends = [(handed_off if status == NotificationStatus.SENT and handed_off is not None else now)
            + timedelta(seconds=call_length_s(ring_s, text, purpose))
            for status, handed_off, text, purpose in ongoing]
    return max([(end - now).total_seconds() for end in ends] + [0.0])


def summary_of(event: Event, organization: Organization) -> EventSummary:
    return EventSummary(org_code=organization.code, number=event.number, severity=event.severity,
                        title=event.title, place=event.place, category=event.category,
                        description=event.description, org_name=organization.name, exercise=event.exercise)


def reply_code_for(db_session: Session, *, person_id: int, page: Page | None) -> str | None:
    """The page's code, only when the person has another solicitation open (else `1` is enough)."""
    if page is None or page.reply_code is None:
        return None
    # One other open page is enough to need the code: stop at the first (a count grew with every page).
    # From the open pages, not from the person's messages: those grow with every page they were ever
    # asked on (a storm's tenth minute: 24,000 a number, read at every step), the open pages do not.
    # `+ 0`: each page's messages through their page's index; SQLite, given the choice, took the
    # person's and read all 24,000 for each open page.
    other = db_session.scalar(
        select(Page.id).where(Page.status == PageStatus.ACTIVE, Page.id != page.id, exists().where(
            Notification.page_id == Page.id, Notification.person_id + 0 == person_id,
            Notification.purpose == "solicit")).limit(1))
    return page.reply_code if other is not None else None


def enqueue(*, db_session: Session, event: Event, organization: Organization, person: Person, purpose: str,
            now: datetime, page_id: int | None = None, page_version: int | None = None,
            acked_by: str | None = None, contacts: list[ContactMethod] | None = None,
            note: str | None = None) -> list[Notification]:
    """Queue the notifications of one person for one purpose (`contacts` forces the roads)."""
    policy = policy_of(db_session)
    page = db_session.get(Page, page_id) if page_id is not None else None
    # A page for reinforcement (backend/responses/reinforcement.py) says who asked, at its own severity.
    reinforcement = (page.policy or {}).get("help") if page is not None and purpose == "solicit" else None
    level = page.severity if page is not None and reinforcement else event.severity
    if reinforcement:
        note = reinforcement.get("text") or None
    planned = [Planned(cm) for cm in contacts] if contacts is not None else plan(
        person, level, purpose, policy)
    if contacts is None:
        planned += calls(db_session, organization, person, level, purpose, planned, policy, now)
    if not planned:
        return []
    summary = summary_of(event, organization)
    code = reply_code_for(db_session, person_id=person.id, page=page) if purpose == "solicit" else None
    links = links_of(db_session)
    rows: list[Notification] = []
    for item in planned:
        contact = item.contact
        channel = ChannelKind(item.channel or contact.kind)
        one_tap = None
        if channel is ChannelKind.EMAIL and purpose == "solicit" and page_id is not None:
            one_tap = {"Je prends": links.url(person_id=person.id, page_id=page_id, action="ack", now=now),
                       "Indisponible": links.url(person_id=person.id, page_id=page_id, action="decline", now=now)}
        rendered = render(purpose, channel, summary, person_name=person.display_name, acked_by=acked_by,
                          reply_code=code if channel is ChannelKind.SMS else None, links=one_tap, note=note,
                          requested_by=reinforcement["person"] if reinforcement else None)
        data = {**rendered.data, "event_id": event.id, "page_id": page_id, "purpose": purpose,
                "reply_code": page.reply_code if page is not None else None}
        if purpose == "inform" and note:
            data["note"] = note  # what a fallback road says again
        if item.delay_s:
            data["fallback"] = True
        if item.after_sms:
            data["after_sms"] = True
        row = Notification(
            organization_id=event.organization_id, event_id=event.id, page_id=page_id, person_id=person.id,
            contact_method_id=contact.id, page_version=page_version, channel=channel.value,
            address=contact.address, purpose=purpose, subject=rendered.subject, text=rendered.text,
            html=rendered.html, data=data, urgent=severity_of(level).urgent, status=NotificationStatus.QUEUED,
            due_at=now + timedelta(seconds=item.delay_s), created_at=now,
        )
        db_session.add(row)
        rows.append(row)
    db_session.flush()
    return rows


def cancel_for_page(*, db_session: Session, page_id: int, purposes: tuple[str, ...] = ("solicit",)) -> int:
    """Solicitations still queued for a page that no longer needs them are not sent."""
    # One statement, and no flush first: nothing pending in this session changes which rows match.
    with db_session.no_autoflush:
        result = db_session.execute(
            update(Notification).where(Notification.page_id == page_id, Notification.status == NotificationStatus.QUEUED,
                                       Notification.purpose.in_(purposes))
            .values(status=NotificationStatus.CANCELLED, due_at=None).execution_options(synchronize_session="evaluate"))
    return result.rowcount


def cancel_held_fallbacks(*, db_session: Session, page_id: int, person_id: int) -> int:
    """The person moved on (declined, or the step timed out): their held SMS is no longer due."""
    count = 0
    for row in db_session.scalars(select(Notification).where(
            Notification.page_id == page_id, Notification.person_id == person_id,
            Notification.status == NotificationStatus.QUEUED, Notification.purpose == "solicit")):
        if (row.data or {}).get("fallback"):
            row.status, row.due_at = NotificationStatus.CANCELLED, None
            count += 1
    return count


def fall_back(*, db_session: Session, failed: Notification, now: datetime) -> Notification | None:
    """A road failed for good: pull the held SMS forward, or open the next road the person has."""
    siblings = list(db_session.scalars(select(Notification).where(
        Notification.event_id == failed.event_id, Notification.person_id == failed.person_id,
        Notification.page_id.is_(None) if failed.page_id is None else Notification.page_id == failed.page_id,
        Notification.purpose == failed.purpose, Notification.id != failed.id)))
    if any(s.status in (NotificationStatus.SENT, NotificationStatus.DELIVERED) or (s.status == NotificationStatus.QUEUED and not (s.data or {}).get("fallback"))
           for s in siblings if s.channel != failed.channel):
        return None  # another road is already carrying this message
    # A call held for when the SMS stays unanswered comes at once when the SMS itself failed.
    held = next((s for s in siblings if s.status == NotificationStatus.QUEUED and (s.data or {}).get("fallback")
                 and (failed.channel == "sms" or not (s.data or {}).get("after_sms"))), None)
    if held is not None:
        held.due_at = now
        return held
    if failed.person_id is None or failed.event_id is None:
        return None
    person = db_session.get(Person, failed.person_id)
    usable = [cm for cm in person.contact_methods if cm.enabled]
    kind = next_road(failed.channel, tried={s.channel for s in siblings} | {failed.channel},
                     has={cm.kind for cm in usable})
    if kind is None:
        return None
    contact = next(cm for cm in usable if cm.kind == kind)
    event = db_session.get(Event, failed.event_id)
    organization = db_session.get(Organization, failed.organization_id)
    rows = enqueue(db_session=db_session, event=event, organization=organization, person=person,
                   purpose=failed.purpose, now=now, page_id=failed.page_id, page_version=failed.page_version,
                   contacts=[contact], note=(failed.data or {}).get("note"))
    return rows[0] if rows else None


def enqueue_notice(*, db_session: Session, organization_id: int, person: Person, notice: Notice, now: datetime,
                   urgent: bool = False, contacts: list[ContactMethod] | None = None,
                   call: ContactMethod | None = None) -> list[Notification]:
    """A message about the planning (no event): push where the person has it, else SMS, else e-mail;
    an urgent one goes by push and SMS together. `call`: a mobile also called (the notice's `spoken`)."""
    if contacts is None:
        usable = [cm for cm in person.contact_methods if cm.enabled]
        by_road = {"push": [cm for kind in PUSH_KINDS for cm in usable if cm.kind == kind],
                   "sms": [cm for cm in usable if cm.kind == "sms"][:1],
                   "email": [cm for cm in usable if cm.kind == "email"][:1]}
        chosen = notice_roads(notice.kind, urgent=urgent, push=bool(by_road["push"]), sms=bool(by_road["sms"]),
                              email=bool(by_road["email"]))
        contacts = [cm for road in chosen for cm in by_road[road]]
    roads: list[tuple[int | None, int | None, str, str]] = [
        (person.id, contact.id, contact.kind, contact.address) for contact in contacts]
    if call is not None:
        roads.append((person.id, call.id, ChannelKind.VOICE.value, call.address))
    return _queue_notice(db_session, organization_id, notice, now, urgent, person.display_name, roads)


def enqueue_email_notice(*, db_session: Session, organization_id: int, address: str, name: str, notice: Notice,
                         now: datetime) -> list[Notification]:
    """A planning message to a login's e-mail, for a referent who is not in the directory."""
    return _queue_notice(db_session, organization_id, notice, now, False, name, [(None, None, "email", address)])


def _queue_notice(db_session: Session, organization_id: int, notice: Notice, now: datetime, urgent: bool,
                  name: str, roads: list[tuple[int | None, int | None, str, str]]) -> list[Notification]:
    rows = []
    for person_id, contact_id, kind, address in roads:
        rendered = render_notice(notice, kind, person_name=name)
        row = Notification(
            organization_id=organization_id, event_id=None, page_id=None, person_id=person_id,
            contact_method_id=contact_id, channel=kind, address=address, purpose=notice.kind[:20],
            subject=rendered.subject, text=rendered.text, html=rendered.html, data=rendered.data, urgent=urgent,
            status=NotificationStatus.QUEUED, due_at=now, created_at=now)
        db_session.add(row)
        rows.append(row)
    db_session.flush()
    return rows


def enqueue_written(*, db_session: Session, organization_id: int, person_id: int, contact: ContactMethod,
                    purpose: str, subject: str, text: str, html: str | None, data: dict, now: datetime,
                    event_id: int | None = None) -> Notification:
    """A message already written (a report, an install link), on the one road given."""
    row = Notification(organization_id=organization_id, event_id=event_id, page_id=None, person_id=person_id,
                       contact_method_id=contact.id, channel=contact.kind, address=contact.address, purpose=purpose,
                       subject=subject, text=text, html=html, data=data, urgent=False,
                       status=NotificationStatus.QUEUED, due_at=now, created_at=now)
    db_session.add(row)
    db_session.flush()
    return row


def enqueue_to_referents(*, db_session: Session, organization_id: int, notice: Notice,
                         now: datetime) -> list[Notification]:
    """The commune's referents: by their directory entry's roads, else by their login e-mail."""
    rows = []
    for user in db_session.scalars(select(User).where(User.organization_id == organization_id,
                                                      User.role == "referent", User.is_active).order_by(User.id)):
        person = db_session.get(Person, user.person_id) if user.person_id else None
        if person is not None and person.active:
            rows += enqueue_notice(db_session=db_session, organization_id=organization_id,
                                  person=person, notice=notice, now=now)
        else:
            rows += enqueue_email_notice(db_session=db_session, organization_id=organization_id,
                                        address=user.email, name=user.full_name, notice=notice, now=now)
    return rows
