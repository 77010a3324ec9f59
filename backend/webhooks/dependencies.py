"""What the webhook routes share: the subscription the caller may manage."""

from __future__ import annotations

from backend.auth.service import Principal
from backend.errors import Conflict
from backend.orgs import service as org_service
from backend.webhooks import service as webhook_service
from backend.webhooks.models import WebhookSubscription


def managed_subscription(db, principal: Principal, subscription_id: int, *, lock: bool = False) -> WebhookSubscription:
    """404 when the caller does not see its commune; 403 when they may read but not manage it."""
    subscription = webhook_service.get(db_session=db, subscription_id=subscription_id, org_ids=principal.org_ids,
                                       lock=lock)
    org_service.ensure_editor(principal=principal, organization_id=subscription.organization_id)
    return subscription


def active_subscription(db, principal: Principal, subscription_id: int) -> WebhookSubscription:
    """One that may send now (« Tester », « Renvoyer »): a disabled webhook is refused, 409."""
    subscription = managed_subscription(db, principal, subscription_id)
    if not subscription.active:
        raise Conflict("the webhook is disabled: enable it first", code="webhook_disabled")
    return subscription
