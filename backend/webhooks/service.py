"""Subscriptions per commune, deliveries queued with their trace entry, leased and recorded by the worker."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from backend.errors import NotFound, Unprocessable
from backend.events.models import Event
from backend.orgs.models import Organization
from backend.sealing import Sealer, Unreadable, is_sealed
from backend.trace.kinds import TraceKind
from backend.trace.models import TraceEntry
from backend.webhooks import signing
from backend.webhooks.destinations import LOOPBACK_NAMES, Destinations
from backend.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

PING = "ping"
BACKOFF_BASE_S = 10.0
BACKOFF_MAX_S = 3600.0
RETRY_WINDOW = timedelta(hours=24)
KEPT_FOR = timedelta(days=30)  # a finished delivery stays visible this long
MAX_ERROR_CHARS = 300
_CACHE = "webhook_subscriptions"


# Subscriptions ---------------------------------------------------------------------------
def check_url(url: str, *, allow_http: bool, destinations: Destinations) -> str:
    """https (or http to this machine, or anywhere when the setting allows it), never to an internal
    address the install did not name."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Unprocessable("the address must be an https:// URL", code="invalid_webhook_url")
    if parts.username or parts.password:
        raise Unprocessable("the address must not carry a user or a password: the signature proves the sender",
                            code="invalid_webhook_url")
    if parts.scheme == "http" and not (allow_http or _is_loopback(parts.hostname)):
        raise Unprocessable("the address must be https:// (http only to this machine)", code="webhook_url_not_https")
    refusal = destinations.refusal(parts.hostname)
    if refusal:
        raise Unprocessable(f"{refusal}: receivers on the PC's own networks must be named in "
                            "VIGIE_WEBHOOK_INTERNAL_NETWORKS", code="webhook_url_internal")
    return url


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_kinds(kinds: list[str]) -> list[str]:
    known = {kind.value for kind in TraceKind}
    unknown = sorted(set(kinds) - known)
    if unknown:
        raise Unprocessable(f"unknown trace kinds: {', '.join(unknown)}", code="unknown_trace_kind",
                            details={"unknown": unknown})
    return sorted(set(kinds))


def create(*, db_session: Session, organization_id: int, url: str, kinds: list[str], description: str,
           active: bool, by: str, allow_http: bool, destinations: Destinations) -> tuple[WebhookSubscription, str]:
    """The subscription, and its secret in clear: shown this once, kept sealed."""
    secret = signing.new_secret()
    subscription = WebhookSubscription(organization_id=organization_id,
                                       url=check_url(url, allow_http=allow_http, destinations=destinations),
                                       kinds=check_kinds(kinds), description=description, active=active,
                                       secret=_sealer(db_session).seal(secret), created_by=by)
    db_session.add(subscription)
    db_session.flush()
    db_session.info.pop(_CACHE, None)
    return subscription, secret


def update_subscription(*, db_session: Session, subscription: WebhookSubscription, changes: dict,
                        allow_http: bool, destinations: Destinations, now: datetime) -> WebhookSubscription:
    if "url" in changes:
        subscription.url = check_url(changes["url"], allow_http=allow_http, destinations=destinations)
    if "kinds" in changes:
        subscription.kinds = check_kinds(changes["kinds"])
    if "description" in changes:
        subscription.description = changes["description"]
    if "active" in changes and changes["active"] != subscription.active:
        subscription.active = changes["active"]
        subscription.disabled_reason = None if subscription.active else "désactivé"
        if not subscription.active:
            cancel_queued(db_session=db_session, subscription_id=subscription.id)
    db_session.info.pop(_CACHE, None)
    return subscription


def rotate_secret(*, db_session: Session, subscription: WebhookSubscription) -> str:
    secret = signing.new_secret()
    subscription.secret = _sealer(db_session).seal(secret)
    return secret


def _sealer(db_session: Session) -> Sealer:
    sealer = db_session.info.get("sealer")
    if sealer is None:
        raise RuntimeError("the session carries no sealer: configure it with backend.runtime.session_info(settings)")
    return sealer


def seal_clear_secrets(*, db_session: Session, sealer: Sealer) -> int:
    """Secrets written before they were sealed (`vigie db upgrade` calls this); how many were sealed."""
    sealed = 0
    for subscription in db_session.scalars(select(WebhookSubscription)):
        if not is_sealed(subscription.secret):
            subscription.secret = sealer.seal(subscription.secret)
            sealed += 1
    return sealed


def remove(*, db_session: Session, subscription: WebhookSubscription) -> None:
    db_session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id))
    db_session.delete(subscription)
    db_session.info.pop(_CACHE, None)


def cancel_queued(*, db_session: Session, subscription_id: int) -> None:
    db_session.execute(update(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id,
                                                     WebhookDelivery.status == DeliveryStatus.QUEUED)
                       .values(status=DeliveryStatus.CANCELLED, due_at=None)
                       .execution_options(synchronize_session=False))


def get(*, db_session: Session, subscription_id: int, org_ids: frozenset[int], lock: bool = False) -> WebhookSubscription:
    query = select(WebhookSubscription).where(WebhookSubscription.id == subscription_id,
                                              WebhookSubscription.organization_id.in_(org_ids))
    subscription = db_session.scalar(query.with_for_update() if lock else query)
    if subscription is None:
        raise NotFound("webhook")
    return subscription


def list_for(*, db_session: Session, org_ids: frozenset[int], organization_id: int | None) -> list[WebhookSubscription]:
    query = select(WebhookSubscription).where(WebhookSubscription.organization_id.in_(org_ids))
    if organization_id is not None:
        query = query.where(WebhookSubscription.organization_id == organization_id)
    return list(db_session.scalars(query.order_by(WebhookSubscription.organization_id, WebhookSubscription.id)))


# Queuing ---------------------------------------------------------------------------------
def queue_for_entry(db_session: Session, event: Event, entry: TraceEntry) -> None:
    """In the transaction that appends `entry`: one delivery per active subscription wanting its kind."""
    for subscription_id, kinds in _subscriptions_of(db_session, event.organization_id):
        if not kinds or entry.kind in kinds:
            db_session.add(WebhookDelivery(subscription_id=subscription_id, organization_id=event.organization_id,
                                           entry=entry, event_id=event.id, kind=entry.kind,
                                           status=DeliveryStatus.QUEUED, due_at=entry.at))


def _subscriptions_of(db_session: Session, organization_id: int) -> list[tuple[int, list[str]]]:
    # Read once per session and commune: an event's creation appends several entries, and a read
    # per entry would flush each (the trace writes its entries together at the next flush).
    # Kept for this transaction only: a subscription changed elsewhere counts from the next one.
    transaction = db_session.get_transaction()
    held = db_session.info.get(_CACHE)
    if held is None or held[0] is not transaction:
        held = db_session.info[_CACHE] = (transaction, {})
    cache: dict[int, list[tuple[int, list[str]]]] = held[1]
    if organization_id not in cache:
        with db_session.no_autoflush:
            rows = db_session.execute(select(WebhookSubscription.id, WebhookSubscription.kinds).where(
                WebhookSubscription.organization_id == organization_id, WebhookSubscription.active.is_(True))).all()
        cache[organization_id] = [(row.id, list(row.kinds or [])) for row in rows]
    return cache[organization_id]


def ping(*, db_session: Session, subscription: WebhookSubscription, now: datetime, by: str) -> WebhookDelivery:
    delivery = WebhookDelivery(subscription_id=subscription.id, organization_id=subscription.organization_id,
                               kind=PING, status=DeliveryStatus.QUEUED, due_at=now,
                               data={"message": "Test de Vigie : ce webhook est joignable.", "by": by})
    db_session.add(delivery)
    db_session.flush()
    return delivery


def redeliver(*, db_session: Session, delivery: WebhookDelivery, now: datetime) -> WebhookDelivery:
    """Again, with the same id (a receiver that took it already drops it), a fresh day of retries."""
    delivery.status, delivery.due_at, delivery.attempts = DeliveryStatus.QUEUED, now, 0
    delivery.claimed_by, delivery.claim_until, delivery.created_at = None, None, now
    return delivery


def get_delivery(*, db_session: Session, subscription: WebhookSubscription, delivery_id: int) -> WebhookDelivery:
    delivery = db_session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                                               WebhookDelivery.subscription_id == subscription.id))
    if delivery is None:
        raise NotFound("delivery")
    return delivery


def list_deliveries(*, db_session: Session, subscription_id: int, status: str | None, limit: int,
                    before_id: int | None) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list(db_session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def counts(*, db_session: Session, subscription_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = db_session.execute(select(WebhookDelivery.subscription_id, WebhookDelivery.status, func.count())
                              .where(WebhookDelivery.subscription_id.in_(subscription_ids))
                              .group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)).all()
    out: dict[int, dict[str, int]] = {}
    for subscription_id, status, count in rows:
        out.setdefault(subscription_id, {})[status] = count
    return out


# The worker's side -------------------------------------------------------------------------
@dataclass(frozen=True)
class Shipment:
    """A leased delivery, ready to leave: where, signed with what, and the exact bytes."""

    delivery_id: int
    subscription_id: int
    url: str
    secret: str
    event_id: int | None
    body: bytes
    attempts: int

    def __repr__(self) -> str:  # never the secret in a log
        return f"<Shipment {self.delivery_id} to subscription {self.subscription_id}>"


def pending_clause():
    return WebhookDelivery.status == DeliveryStatus.QUEUED


def claim_due(*, db_session: Session, worker_id: str, now: datetime, lease_until: datetime, limit: int,
              per_subscription: int, busy: dict[int, int]) -> list[Shipment]:
    """Lease due deliveries, no more per subscription than `per_subscription` in flight (a receiver
    that hangs holds its own slots only); build each one's body."""
    full = [sid for sid, n in busy.items() if n >= per_subscription]
    due = (select(WebhookDelivery.id)
           .where(WebhookDelivery.status == DeliveryStatus.QUEUED, WebhookDelivery.due_at <= now,
                  (WebhookDelivery.claim_until.is_(None)) | (WebhookDelivery.claim_until < now),
                  *([WebhookDelivery.subscription_id.not_in(full)] if full else []))
           .order_by(WebhookDelivery.due_at).limit(limit * 4).with_for_update(skip_locked=True))
    rows = list(db_session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(due.scalar_subquery()))
                                   .order_by(WebhookDelivery.due_at, WebhookDelivery.id)))
    taken: list[WebhookDelivery] = []
    room = dict(busy)
    for row in rows:
        if len(taken) >= limit or room.get(row.subscription_id, 0) >= per_subscription:
            continue
        room[row.subscription_id] = room.get(row.subscription_id, 0) + 1
        taken.append(row)
    if not taken:
        return []
    subscriptions = {s.id: s for s in db_session.scalars(select(WebhookSubscription).where(
        WebhookSubscription.id.in_({row.subscription_id for row in taken})))}
    entries = {e.id: e for e in db_session.scalars(select(TraceEntry).where(
        TraceEntry.id.in_({row.trace_entry_id for row in taken if row.trace_entry_id is not None})))}
    events = {e.id: e for e in db_session.scalars(select(Event).where(
        Event.id.in_({row.event_id for row in taken if row.event_id is not None})))}
    communes = dict(db_session.execute(select(Organization.id, Organization.name).where(
        Organization.id.in_({row.organization_id for row in taken}))).all())
    shipments = []
    sealer = _sealer(db_session)
    for row in taken:
        subscription = subscriptions[row.subscription_id]
        if not subscription.active:
            row.status, row.due_at = DeliveryStatus.CANCELLED, None
            continue
        try:
            secret = sealer.open(subscription.secret)
        except Unreadable:
            # Nothing unsigned ever leaves; a new secret (« Nouveau secret ») mends it.
            row.status, row.due_at, row.last_error = (DeliveryStatus.FAILED, None,
                                                      "secret illisible (clé d'installation changée) : "
                                                      "générez un nouveau secret")
            continue
        row.claimed_by, row.claim_until = worker_id, lease_until
        body = body_of(row, entries.get(row.trace_entry_id or 0), events.get(row.event_id or 0),
                       communes.get(row.organization_id, ""))
        shipments.append(Shipment(row.id, row.subscription_id, subscription.url, secret, row.event_id,
                                  body, row.attempts))
    return shipments


def body_of(delivery: WebhookDelivery, entry: TraceEntry | None, event: Event | None, commune: str) -> bytes:
    """What the receiver gets: the delivery's id (stable across retries), the event, the entry as the
    trace API shows it to an operator — no more personal data than that."""
    payload: dict = {"id": delivery.id, "event": None}
    if event is not None:
        payload["event"] = {"id": event.id, "number": event.number, "commune": commune,
                            "organization_id": event.organization_id, "title": event.title,
                            "severity": event.severity, "status": event.status}
    if entry is not None:
        payload["entry"] = {"id": entry.id, "seq": entry.seq, "kind": entry.kind,
                            "at": entry.at.isoformat(), "actor": {"type": entry.actor_type, "id": entry.actor_id,
                                                                  "label": entry.actor_label},
                            "data": entry.data, "corrects_id": entry.corrects_id}
    else:
        payload["entry"] = {"kind": delivery.kind, "at": delivery.created_at.isoformat(), "data": delivery.data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode()


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status_code: int | None  # None: no answer (refused, timed out)
    error: str | None = None
    retry_after: float | None = None


def backoff(attempts: int) -> float:
    return min(BACKOFF_BASE_S * (2 ** max(attempts - 1, 0)), BACKOFF_MAX_S)


def record(*, db_session: Session, worker_id: str, outcomes: list[Outcome], now: datetime) -> None:
    rows = {row.id: row for row in db_session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.id.in_([o.delivery_id for o in outcomes])).with_for_update())}
    for outcome in outcomes:
        row = rows.get(outcome.delivery_id)
        if row is None or row.claimed_by != worker_id:
            continue  # our lease expired and another worker owns it now (or it was deleted)
        row.claimed_by, row.claim_until = None, None
        row.attempts += 1
        row.last_attempt_at = now
        row.response_code = outcome.status_code
        code = outcome.status_code
        if code is not None and 200 <= code < 300:
            row.status, row.due_at, row.delivered_at, row.last_error = DeliveryStatus.DELIVERED, None, now, None
            continue
        row.last_error = (outcome.error or f"HTTP {code}")[:MAX_ERROR_CHARS]
        if code == 410:
            row.status, row.due_at = DeliveryStatus.FAILED, None
            _gone(db_session, row.subscription_id)
            continue
        wait = backoff(row.attempts) if outcome.retry_after is None else min(max(outcome.retry_after, 1.0),
                                                                           BACKOFF_MAX_S)
        if now + timedelta(seconds=wait) > row.created_at + RETRY_WINDOW:
            row.status, row.due_at = DeliveryStatus.FAILED, None
        else:
            row.due_at = now + timedelta(seconds=wait)


def _gone(db_session: Session, subscription_id: int) -> None:
    """The receiver said 410 Gone: it wants nothing more, so the subscription stops until re-enabled."""
    subscription = db_session.get(WebhookSubscription, subscription_id, with_for_update=True)
    if subscription is not None and subscription.active:
        subscription.active = False
        subscription.disabled_reason = "le destinataire a répondu 410 Gone"
        cancel_queued(db_session=db_session, subscription_id=subscription_id)


def purge_finished(*, db_session: Session, now: datetime, limit: int = 1000) -> int:
    """Finished deliveries older than KEPT_FOR are deleted, a batch at a time (what is queued stays)."""
    old = (select(WebhookDelivery.id).where(WebhookDelivery.status != DeliveryStatus.QUEUED,
                                            WebhookDelivery.created_at < now - KEPT_FOR).limit(limit))
    result = db_session.execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old.scalar_subquery()))
                                .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
