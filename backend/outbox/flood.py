"""Flood protection: a person gets a bounded number of SMS per quarter hour; the excess is merged.

Solicitations keep their place first; closings, confirmations and information are merged
first. The merged ones become one digest SMS, sent when the quarter hour allows it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.outbox.models import Notification, NotificationStatus
from notifications import notice as notices

WINDOW = timedelta(minutes=15)
PRIORITY = {"solicit": 0, "unreached": 1, "confirm": 2, "closing": 3, "inform": 4}
# A digest names its messages, it does not carry them: an install link merged into one would be lost.
WAIT_NOT_MERGE = frozenset({"enrol"})


def split(*, db_session: Session, rows: list[Notification], now: datetime, limit: int) -> set[int]:
    """Ids of the SMS rows of this batch that go over their number's budget."""
    by_address: dict[str, list[Notification]] = {}
    for row in rows:
        if row.channel == "sms" and row.purpose != "digest":
            by_address.setdefault(row.address, []).append(row)
    over: set[int] = set()
    if not by_address:
        return over
    batch = {row.id for row in rows}
    counts = []
    for address in by_address:
        # Handed off in the window, or being handed off now by this or another worker. Each count
        # stops at the limit and reads an index (a number's every SMS was read, under the write
        # lock, at every hand-off: a long storm night slowed the outbox down as it went).
        # A person's own tests (« Tester mes alertes ») never use up the budget of a real alert.
        handed = _at_most(limit, Notification.address == address, Notification.channel == "sms",
                          Notification.handed_off_at >= now - WINDOW, Notification.purpose != notices.TEST_ALERT)
        # (A leased row was due when leased: `due_at <= now` reads the few queued rows, through
        # the outbox's own index, rather than the number's whole history.)
        in_flight = _at_most(limit, Notification.status == NotificationStatus.QUEUED, Notification.due_at <= now,
                             Notification.claim_until > now, Notification.address == address,
                             Notification.channel == "sms", Notification.id.not_in(batch),
                             Notification.purpose != notices.TEST_ALERT)
        counts.append(handed + in_flight)
    # Every number of the batch in one statement.
    recents = db_session.execute(select(*counts)).one()
    for group, recent in zip(by_address.values(), recents, strict=True):
        allowed = max(limit - recent, 0)
        group.sort(key=lambda r: (PRIORITY.get(r.purpose, 9), r.id))
        over.update(r.id for r in group[allowed:])
    return over


def next_free_slot(*, db_session: Session, address: str, now: datetime, limit: int) -> datetime | None:
    """When one more SMS to `address` fits in its budget: None when it fits now."""
    latest = [at for at in db_session.scalars(
        select(Notification.handed_off_at).where(Notification.address == address, Notification.channel == "sms",
                                                 Notification.handed_off_at >= now - WINDOW)
        .order_by(Notification.handed_off_at.desc()).limit(limit)) if at is not None]
    if len(latest) < limit:
        return None
    return min(latest) + WINDOW


def _at_most(limit: int, *conditions):
    rows = select(Notification.id).where(*conditions).limit(limit).subquery()
    return select(func.count()).select_from(rows).scalar_subquery()


def merge_into_digest(*, db_session: Session, row: Notification, number: str, now: datetime) -> Notification:
    """Fold one over-budget SMS into its number's pending digest (made if needed)."""
    digest = db_session.scalar(select(Notification).where(
        Notification.channel == "sms", Notification.address == row.address, Notification.purpose == "digest",
        Notification.status == NotificationStatus.QUEUED).with_for_update(key_share=True))
    if digest is None:
        oldest = db_session.scalar(select(func.min(Notification.handed_off_at)).where(
            Notification.channel == "sms", Notification.address == row.address,
            Notification.handed_off_at >= now - WINDOW))
        digest = Notification(
            organization_id=row.organization_id, event_id=row.event_id, person_id=row.person_id,
            channel="sms", address=row.address, purpose="digest", subject=notices.DIGEST_SUBJECT, text="",
            data={NotificationStatus.MERGED: []}, urgent=row.urgent, status=NotificationStatus.QUEUED, created_at=now,
            due_at=(oldest or now) + WINDOW)
        db_session.add(digest)
    merged = [*digest.data.get("merged", []), {"id": row.id, "number": number, "purpose": row.purpose}]
    digest.data = {"merged": merged}
    digest.urgent = digest.urgent or row.urgent
    digest.text = notices.digest_sms(merged)
    row.status, row.due_at = NotificationStatus.MERGED, None
    db_session.flush()
    return digest
