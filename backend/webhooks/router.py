"""Webhooks out over HTTP: a commune's subscriptions (its referent's, or a PC admin's), their deliveries."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response

from backend.db import db_now
from backend.deps import DirectoryEditor, SessionDep, SettingsDep
from backend.orgs import service as org_service
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute
from backend.signals import WEBHOOKS, signals_of
from backend.webhooks import schemas
from backend.webhooks import service as webhook_service
from backend.webhooks.dependencies import active_subscription, managed_subscription
from backend.webhooks.destinations import Destinations
from backend.webhooks.models import WebhookSubscription

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1/webhooks", tags=["webhooks"])

Status = Literal["queued", "delivered", "failed", "cancelled"]


def subscriptions_out(db, subscriptions: list[WebhookSubscription]) -> list[dict]:
    counts = webhook_service.counts(db_session=db, subscription_ids=[s.id for s in subscriptions])
    fields = set(schemas.SubscriptionOut.model_fields) - {"deliveries"}
    return [{**{name: getattr(s, name) for name in fields}, "deliveries": counts.get(s.id, {})} for s in subscriptions]


def _wake_workers(db) -> None:
    signals = signals_of(db)
    if signals is not None:
        signals.work_due(db, WEBHOOKS)


@router.get("", response_model=list[schemas.SubscriptionOut],
            summary="The webhooks of the communes the caller manages (never their secrets)")
def list_subscriptions(db: SessionDep, principal: DirectoryEditor, organization_id: Id | None = None):
    subscriptions = webhook_service.list_for(db_session=db, org_ids=principal.org_ids, organization_id=organization_id)
    return subscriptions_out(db, subscriptions)


@router.post("", status_code=201, response_model=schemas.SubscriptionWithSecret,
             summary="Subscribe a receiver to a commune's trace kinds; the signing secret is shown this once")
def create_subscription(body: schemas.SubscriptionIn, db: SessionDep, principal: DirectoryEditor,
                        settings: SettingsDep):
    organization = org_service.get_editable(db_session=db, principal=principal, organization_id=body.organization_id)
    subscription, secret = webhook_service.create(
        db_session=db, organization_id=organization.id, url=body.url, kinds=body.kinds, description=body.description,
        active=body.active, by=principal.user.full_name, allow_http=settings.webhook_allow_http,
        destinations=Destinations(settings.webhook_internal_networks))
    return {**subscriptions_out(db, [subscription])[0], "secret": secret}


@router.get("/{subscription_id}", response_model=schemas.SubscriptionOut)
def read_subscription(subscription_id: Id, db: SessionDep, principal: DirectoryEditor):
    return subscriptions_out(db, [managed_subscription(db, principal, subscription_id)])[0]


@router.patch("/{subscription_id}", response_model=schemas.SubscriptionOut,
              summary="Change a webhook's address, kinds or description; `active: false` disables it")
def update_subscription(subscription_id: Id, body: schemas.SubscriptionPatch, db: SessionDep,
                        principal: DirectoryEditor, settings: SettingsDep):
    subscription = managed_subscription(db, principal, subscription_id, lock=True)
    webhook_service.update_subscription(db_session=db, subscription=subscription, changes=body.changes(),
                                        allow_http=settings.webhook_allow_http,
                                        destinations=Destinations(settings.webhook_internal_networks), now=db_now(db))
    return subscriptions_out(db, [subscription])[0]


@router.delete("/{subscription_id}", status_code=204, summary="Delete a webhook and its deliveries")
def delete_subscription(subscription_id: Id, db: SessionDep, principal: DirectoryEditor):
    webhook_service.remove(db_session=db, subscription=managed_subscription(db, principal, subscription_id, lock=True))
    return Response(status_code=204)


@router.post("/{subscription_id}/secret", response_model=schemas.SecretOut,
             summary="A new signing secret, shown this once (the former one stops at once)")
def rotate_secret(subscription_id: Id, db: SessionDep, principal: DirectoryEditor):
    subscription = managed_subscription(db, principal, subscription_id, lock=True)
    return {"id": subscription.id, "secret": webhook_service.rotate_secret(db_session=db, subscription=subscription)}


@router.post("/{subscription_id}/test", status_code=202, response_model=schemas.DeliveryOut,
             summary="« Tester »: send the receiver a signed ping now (kind `ping`, no event)")
def test_subscription(subscription_id: Id, db: SessionDep, principal: DirectoryEditor):
    subscription = active_subscription(db, principal, subscription_id)
    return webhook_service.ping(db_session=db, subscription=subscription, now=db_now(db),
                                by=principal.user.full_name)


@router.get("/{subscription_id}/deliveries", response_model=list[schemas.DeliveryOut],
            summary="A webhook's deliveries, latest first: status, attempts, last error, next try, response code")
def list_deliveries(subscription_id: Id, db: SessionDep, principal: DirectoryEditor, status: Status | None = None,
                    limit: int = Query(50, ge=1, le=500), before_id: Id | None = None):
    subscription = managed_subscription(db, principal, subscription_id)
    return webhook_service.list_deliveries(db_session=db, subscription_id=subscription.id, status=status,
                                           limit=limit, before_id=before_id)


@router.post("/{subscription_id}/deliveries/{delivery_id}/redeliver", response_model=schemas.DeliveryOut,
             summary="« Renvoyer »: send a delivery again now, with the same id")
def redeliver(subscription_id: Id, delivery_id: Id, db: SessionDep, principal: DirectoryEditor):
    subscription = active_subscription(db, principal, subscription_id)
    delivery = webhook_service.get_delivery(db_session=db, subscription=subscription, delivery_id=delivery_id)
    webhook_service.redeliver(db_session=db, delivery=delivery, now=db_now(db))
    _wake_workers(db)
    return delivery
