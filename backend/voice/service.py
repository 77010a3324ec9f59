"""A call's life in the outbox and the trace: picked up, a key pressed, ended.

A call is a `voice` notification. Picked up, it reads its page (if the page still waits for an
answer); key 1 or 2 is the person's answer (`responses.record`, via `voice`) and marks the call
delivered; a call ending without such a key (no answer, busy, failed, hung up) fails, and the
outbox's rules for a failed road apply. The page itself goes on at its own pace: its step's timeout
moves to the next person, as for an SMS left unread.

A call Twilio finds taken by an answering machine (or a fax: `AnsweredBy`, notifications/voice_twilio.py)
is hung up on without a word and ends « messagerie »: it fails, and the page asks the next person at
once — the person's other roads still carry the page, and their answer still counts. A test call
(« Tester mes alertes ») has no event and no page: key 1 marks it heard, nothing else moves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotFound, VigieError
from backend.events.models import Event
from backend.outbox.dispatch import after_failure, trace_delivery
from backend.outbox.models import Notification, NotificationStatus
from backend.pages import service as page_service
from backend.pages.models import Page
from backend.people.models import Person
from backend.responses import service as response_service
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.service import Actor
from escalation.planner import PageStatus
from notifications import voice_twiml
from notifications.base import ChannelKind
from notifications.voice_twilio import FAX, not_a_person

# Twilio's CallStatus words (its own, not a Vigie status): a call that ended.
HUNG_UP = "completed"  # picked up, then hung up (here: without a key pressed)
ENDED = frozenset({HUNG_UP, "busy", "no-answer", "failed", "canceled"})
# Why a call ended, as `voice.ended` says it (`reason`).
TAKEN, VOICEMAIL = "key", "voicemail"


def call_of(db_session: Session, notification_id: int) -> tuple[Notification, Event | None]:
    """The call and its event, locked for the trace (the order every writer of an event's trace takes)."""
    row = db_session.get(Notification, notification_id)
    if row is None or row.channel != ChannelKind.VOICE.value:
        raise NotFound("call")
    event = None if row.event_id is None else db_session.scalar(
        select(Event).where(Event.id == row.event_id).with_for_update(key_share=True))
    return row, event


def _trace(db_session: Session, event: Event | None, kind: TraceKind, row: Notification, now: datetime,
           actor: Actor = trace_service.SYSTEM, **data) -> None:
    if event is not None:
        trace_service.append(db_session=db_session, event=event, kind=kind, actor=actor, at=now, data={
            "notification_id": row.id, "page_id": row.page_id, "person_id": row.person_id, **data})


def _closed_words(db_session: Session, row: Notification) -> str | None:
    """What the call says instead of the page when the page no longer waits for this person's answer."""
    page = db_session.get(Page, row.page_id) if row.page_id is not None else None
    if page is None:
        return voice_twiml.OVER
    if page.status == PageStatus.ACKNOWLEDGED:
        who = db_session.get(Person, page.acknowledged_by_person_id) if page.acknowledged_by_person_id else None
        return voice_twiml.taken_by(who.display_name if who else None)
    return None if page.status == PageStatus.ACTIVE else voice_twiml.OVER


def answered(*, db_session: Session, notification_id: int, call_sid: str, answered_by: str,
             gather_url: Callable[[int], str], provider: str, now: datetime, trace: bool = True) -> str:
    """The call was picked up: its TwiML (the page read, waiting for a key; nothing for a machine)."""
    row, event = call_of(db_session, notification_id)
    if not_a_person(answered_by):
        if trace and row.status == NotificationStatus.SENT:
            _taken_by_machine(db_session, event, row, now, call_sid=call_sid, status="in-progress",
                              answered_by=answered_by, duration_s=None, provider=provider)
        return voice_twiml.hang_up()
    if trace:
        _trace(db_session, event, TraceKind.VOICE_ANSWERED, row, now, call_sid=call_sid,
               answered_by=answered_by or None)
    script = voice_twiml.script_for(row.purpose)
    if script is voice_twiml.TEST:
        return voice_twiml.ask(row.text, gather_url, script=script)
    closed = _closed_words(db_session, row)
    return voice_twiml.farewell(closed) if closed else voice_twiml.ask(row.text, gather_url)


def key(*, db_session: Session, notification_id: int, call_sid: str, digits: str, round_: int,
        gather_url: Callable[[int], str], now: datetime) -> str:
    """A key pressed: 1 takes the page, 2 declines it, another reads it again (within the rounds left).
    During a test call, 1 says the person hears Vigie's calls."""
    row, event = call_of(db_session, notification_id)
    script = voice_twiml.script_for(row.purpose)
    person = db_session.get(Person, row.person_id) if row.person_id is not None else None
    actor = Actor("person", person.id, person.display_name) if person else trace_service.SYSTEM
    kind = script.keys.get(digits)
    _trace(db_session, event, TraceKind.VOICE_KEY, row, now, actor=actor, call_sid=call_sid, digits=digits,
           round=round_, answer=kind)
    if kind is None:
        if round_ >= voice_twiml.ROUNDS:
            return voice_twiml.farewell(f"{voice_twiml.UNKNOWN_KEY} {script.no_key}")
        return voice_twiml.ask(row.text, gather_url, first_round=round_ + 1, preface=voice_twiml.UNKNOWN_KEY,
                               script=script)
    if row.status == NotificationStatus.SENT:
        row.status = NotificationStatus.DELIVERED
        trace_delivery(db_session, event, row, kind=TraceKind.NOTIFICATION_DELIVERED, at=now,
                       detail=f"appel répondu (touche {digits})")
    if script is voice_twiml.TEST:
        if not (row.data or {}).get("received_at"):
            row.data = {**(row.data or {}), "received_at": now.isoformat()}
        return voice_twiml.farewell(voice_twiml.TEST_HEARD)
    if event is None or person is None:
        return voice_twiml.farewell(voice_twiml.OVER)
    try:
        with db_session.begin_nested():
            response_service.record(db_session=db_session, event=event, kind=kind, person_id=person.id, actor=actor,
                                    via="voice", page_id=row.page_id, now=now)
    except VigieError:
        return voice_twiml.farewell(_closed_words(db_session, row) or voice_twiml.OVER)
    return voice_twiml.farewell(voice_twiml.ACKNOWLEDGED if kind == "ack" else voice_twiml.DECLINED)


def ended(*, db_session: Session, notification_id: int, call_sid: str, status: str, answered_by: str,
          duration_s: int | None, provider: str, now: datetime) -> str:
    """Twilio's word on the call; at its end, a call not taken by a key fails. Returns what it did."""
    row, event = call_of(db_session, notification_id)
    if status not in ENDED or (row.data or {}).get("ended"):
        # initiated, ringing, in-progress: the pick-up is traced when the page is read;
        # a call already ended (a machine hung up on at pick-up) is not ended twice.
        return "ignored"
    if row.status == NotificationStatus.SENT and not_a_person(answered_by):
        _taken_by_machine(db_session, event, row, now, call_sid=call_sid, status=status, answered_by=answered_by,
                          duration_s=duration_s, provider=provider)
        return "not_taken"
    taken = row.status == NotificationStatus.DELIVERED
    row.data = {**(row.data or {}), "ended": True}
    _trace(db_session, event, TraceKind.VOICE_ENDED, row, now, call_sid=call_sid, status=status,
           duration_s=duration_s, taken=taken, reason=TAKEN if taken else status)
    if row.status != NotificationStatus.SENT:
        return "taken" if taken else "ignored"
    row.status, row.last_error = NotificationStatus.FAILED, f"{provider}: {status}"
    words = "décroché sans touche" if status == HUNG_UP else status
    trace_delivery(db_session, event, row, kind=TraceKind.NOTIFICATION_FAILED, at=now,
                   detail=f"appel non pris ({provider} : {words})")
    after_failure(db_session=db_session, event=event, row=row, now=now, gone=False, reason=row.last_error)
    return "not_taken"


def _taken_by_machine(db_session: Session, event: Event | None, row: Notification, now: datetime, *, call_sid: str,
                      status: str, answered_by: str, duration_s: int | None, provider: str) -> None:
    """« Messagerie »: the call fails, and its page asks the next person now rather than at its timeout."""
    reason = FAX if answered_by == FAX else VOICEMAIL
    words = "fax" if reason == FAX else "messagerie"
    row.data = {**(row.data or {}), "ended": True, "answered_by": answered_by}
    _trace(db_session, event, TraceKind.VOICE_ENDED, row, now, call_sid=call_sid, status=status,
           duration_s=duration_s, taken=False, reason=reason, answered_by=answered_by)
    row.status, row.last_error = NotificationStatus.FAILED, f"{provider}: {words} ({answered_by})"
    trace_delivery(db_session, event, row, kind=TraceKind.NOTIFICATION_FAILED, at=now,
                   detail=f"appel non pris ({provider} : {words})")
    after_failure(db_session=db_session, event=event, row=row, now=now, gone=False, reason=row.last_error)
    if event is not None and row.page_id is not None and row.person_id is not None:
        page_service.not_reached(db_session=db_session, event=event, page_id=row.page_id, person_id=row.person_id,
                                 asked_at=row.created_at, now=now)
