"""Drain the outbox: lease due notifications, hand them to their channel, record what happened."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.events.models import Event
from backend.outbox import flood
from backend.outbox import service as outbox_service
from backend.outbox.models import Notification, NotificationStatus
from backend.pages.models import Page
from backend.people.models import ContactMethod
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from escalation.planner import PageStatus
from notifications.base import ChannelKind, OutboundMessage, Outcome, SendResult
from notifications.registry import ChannelRegistry

log = logging.getLogger("vigie.dispatch")

BACKOFF_BASE_S = 5.0
BACKOFF_MAX_S = 300.0
FLOOD_RECHECK = timedelta(minutes=1)


@dataclass(frozen=True)
class Attempt:
    notification_id: int
    event_id: int
    message: OutboundMessage
    created_at: datetime
    attempts: int
    over_budget: bool = False  # merged into the number's digest instead of sent (flood protection)


def claim_due(*, db_session: Session, worker_id: str, now: datetime, lease_until: datetime,
              limit: int, sms_flood_limit: int = 8, channels: list[str] | None = None) -> list[Attempt]:
    due = (select(Notification.id)
           .where(Notification.status == NotificationStatus.QUEUED, Notification.due_at <= now,
                  (Notification.claim_until.is_(None)) | (Notification.claim_until < now),
                  *([Notification.channel.in_(channels)] if channels is not None else []))
           .order_by(Notification.due_at).limit(limit).with_for_update(skip_locked=True, key_share=True))
    # One statement: lease the rows and read them back with their page's state.
    page_status = select(Page.status).where(Page.id == Notification.page_id).scalar_subquery()
    page_person = select(Page.current_person_id).where(Page.id == Notification.page_id).scalar_subquery()
    rows = db_session.execute(
        update(Notification).where(Notification.id.in_(due.scalar_subquery()))
        .values(claimed_by=worker_id, claim_until=lease_until).returning(Notification, page_status, page_person)
        .execution_options(synchronize_session=False, populate_existing=True)).all()
    if not rows:
        return []
    attempts = []
    live = []
    for row, page_status, current_person_id in sorted(rows, key=lambda r: r[0].id):
        answered = row.purpose == "solicit" and page_status in (PageStatus.ACKNOWLEDGED, PageStatus.CANCELLED)
        # A held-back SMS is for the person still being asked; the page may have moved on.
        moved_on = (row.data or {}).get("fallback") and (page_status != PageStatus.ACTIVE or current_person_id != row.person_id)
        if answered or moved_on:
            # The page was answered between the step and this hand-off: say nothing more.
            # (An unreached page still wants its last solicitation: a late ack is still an ack.)
            row.status, row.due_at, row.claimed_by, row.claim_until = NotificationStatus.CANCELLED, None, None, None
            continue
        live.append(row)
    over = flood.split(db_session=db_session, rows=live, now=now, limit=sms_flood_limit)
    for row in live:
        attempts.append(Attempt(row.id, row.event_id, _message(row), row.created_at, row.attempts,
                                over_budget=row.id in over))
    return attempts


def release(*, db_session: Session, worker_id: str, notification_ids: list[int]) -> None:
    """Give leased rows back at once (leased beyond the room this worker has to send them)."""
    db_session.execute(update(Notification).where(Notification.id.in_(notification_ids),
                                                  Notification.claimed_by == worker_id)
                       .values(claimed_by=None, claim_until=None).execution_options(synchronize_session=False))


def _message(row: Notification) -> OutboundMessage:
    return OutboundMessage(notification_id=row.id, channel=ChannelKind(row.channel), address=row.address,
                           subject=row.subject, text=row.text, html=row.html, data=dict(row.data or {}),
                           urgent=row.urgent)


OVER_BUDGET = SendResult(Outcome.FAILED, "merged: too many SMS for this number in a quarter hour")


async def send(registry: ChannelRegistry, attempt: Attempt, *, deadline_s: float) -> SendResult:
    """Hand one message to its channel; whatever happens, an answer within `deadline_s` (plus a margin)."""
    if attempt.over_budget:
        return OVER_BUDGET
    channel = registry.get(attempt.message.channel)
    if channel is None:
        return SendResult.failed(f"no channel configured for {attempt.message.channel.value}")
    try:
        # The channel spends the deadline itself (the SMS channel across its providers); this
        # guard only catches a channel that overstays it.
        return await asyncio.wait_for(channel.send(attempt.message), timeout=deadline_s + 2.0)
    except TimeoutError:
        return SendResult.retry(f"the provider did not answer within {deadline_s + 2.0:g} s")
    except Exception as exc:  # a provider bug is a transient failure, never a lost message
        log.exception("channel %s raised", attempt.message.channel.value)
        return SendResult.retry(f"{type(exc).__name__}: {exc}")


def backoff(attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(max(retry_after, 1.0), BACKOFF_MAX_S)
    return min(BACKOFF_BASE_S * (2 ** max(attempts - 1, 0)), BACKOFF_MAX_S)


def record_results(*, db_session: Session, worker_id: str, attempts: list[Attempt], results: list[SendResult],
                   now: datetime, max_attempts: int, ages_s: list[float] | None = None,
                   sms_flood_limit: int = 8) -> list[float]:
    """Store each outcome and trace it; return the hand-off latencies (seconds) for metrics.

    `ages_s`: how long ago each provider answered (the recording comes a little later): the
    hand-off time is the database's `now` minus that age.
    """
    latencies = []
    handed_at = {a.notification_id: now - timedelta(seconds=max(age, 0.0))
                 for a, age in zip(attempts, ages_s or [0.0] * len(attempts))}
    by_event: dict[int | None, list[tuple[Attempt, SendResult]]] = {}
    for attempt, result in zip(attempts, results):
        by_event.setdefault(attempt.event_id, []).append((attempt, result))
    rows = {row.id: row for row in db_session.scalars(
        select(Notification).where(Notification.id.in_([a.notification_id for a in attempts])))}
    # Lock events in one order, so two workers never deadlock: in one statement, so that nothing
    # is flushed between two events and the group's rows are written together at the commit.
    # Messages outside any event (enrolment links, taking the watch) are recorded on their row
    # and logged, not traced.
    held = [e for e in by_event if e is not None]
    events = {event.id: event for event in db_session.scalars(
        select(Event).where(Event.id.in_(held)).order_by(Event.id).with_for_update(key_share=True))} if held else {}
    for event_id in sorted(by_event, key=lambda e: (e is None, e or 0)):
        event = None if event_id is None else events.get(event_id)
        for attempt, result in by_event[event_id]:
            row = rows.get(attempt.notification_id)
            if row is None or row.claimed_by != worker_id:
                continue  # our lease expired and another worker owns it now
            row.claimed_by, row.claim_until = None, None
            if attempt.over_budget and row.purpose in flood.WAIT_NOT_MERGE:
                row.due_at = flood.next_free_slot(db_session=db_session, address=row.address, now=now,
                                                  limit=sms_flood_limit) or now + FLOOD_RECHECK
                log.info("notification %s waits for its number's SMS budget until %s", row.id, row.due_at)
                continue
            if attempt.over_budget:
                digest = flood.merge_into_digest(db_session=db_session, row=row,
                                                 number=event.number if event else "Vigie", now=now)
                _trace(db_session, event, kind=TraceKind.NOTIFICATION_MERGED, at=now, data={
                    "notification_id": row.id, "digest_id": digest.id, "person_id": row.person_id,
                    "channel": row.channel, "purpose": row.purpose, "due_at": digest.due_at})
                continue
            row.attempts = attempt.attempts + 1
            kind = _apply_outcome(row, result, now, max_attempts)
            if row.handed_off_at is None and result.outcome in (Outcome.SENT, Outcome.DELIVERED):
                row.handed_off_at = max(handed_at[row.id], attempt.created_at)
                latencies.append((row.handed_off_at - attempt.created_at).total_seconds())
            trace_delivery(db_session, event, row, kind=kind, at=now, detail=result.detail)
            if kind == TraceKind.NOTIFICATION_FAILED:
                after_failure(db_session=db_session, event=event, row=row, now=now, gone=result.gone,
                              reason=result.detail)
    return latencies


def _trace(db_session: Session, event: Event | None, *, kind: TraceKind, at: datetime, data: dict) -> None:
    if event is None:
        log.info("%s %s", kind, data)
        return
    trace_service.append(db_session=db_session, event=event, kind=kind, at=at, data=data)


def trace_delivery(db_session: Session, event: Event | None, row: Notification, *, kind: TraceKind, at: datetime,
                   detail: str) -> None:
    """What became of one message, in its event's trace."""
    _trace(db_session, event, kind=kind, at=at, data={
        "notification_id": row.id, "page_id": row.page_id, "person_id": row.person_id, "channel": row.channel,
        "purpose": row.purpose, "attempt": row.attempts, "detail": detail, "next_attempt_at": row.due_at})


def after_failure(*, db_session: Session, event: Event | None, row: Notification, now: datetime, gone: bool,
                  reason: str) -> None:
    """A dead address is forgotten; the message takes the next road. Both are traced."""
    if gone and row.contact_method_id is not None:
        contact = db_session.get(ContactMethod, row.contact_method_id)
        if contact is not None:
            db_session.delete(contact)
            db_session.flush()
            _trace(db_session, event, kind=TraceKind.CONTACT_REMOVED, at=now, data={
                "person_id": row.person_id, "contact_method_id": row.contact_method_id, "channel": row.channel,
                "reason": reason})
    page_active = row.page_id is None or db_session.scalar(select(Page.status).where(Page.id == row.page_id)) == PageStatus.ACTIVE
    if row.purpose == "solicit" and not page_active:
        return
    nxt = outbox_service.fall_back(db_session=db_session, failed=row, now=now)
    if nxt is not None:
        _trace(db_session, event, kind=TraceKind.NOTIFICATION_FALLBACK, at=now, data={
            "failed_notification_id": row.id, "notification_id": nxt.id, "person_id": row.person_id,
            "from_channel": row.channel, "to_channel": nxt.channel, "page_id": row.page_id})


def _apply_outcome(row: Notification, result: SendResult, now: datetime, max_attempts: int) -> TraceKind:
    if result.outcome is Outcome.DELIVERED:
        row.status, row.due_at, row.provider_ref = NotificationStatus.DELIVERED, None, result.provider_ref
        return TraceKind.NOTIFICATION_DELIVERED
    if result.outcome is Outcome.SENT:
        row.status, row.due_at, row.provider_ref = NotificationStatus.SENT, None, result.provider_ref
        row.provider_message_id = result.provider_message_id
        return TraceKind.NOTIFICATION_SENT
    row.last_error = result.detail
    if result.outcome is Outcome.RETRY and row.attempts < max_attempts:
        row.due_at = now + timedelta(seconds=backoff(row.attempts, result.retry_after))
        return TraceKind.NOTIFICATION_RETRY
    row.status, row.due_at = NotificationStatus.FAILED, None
    return TraceKind.NOTIFICATION_FAILED
