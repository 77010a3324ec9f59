"""Integrations' keys: made (shown once), found by their digest, revoked; their mapping rules checked."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from backend.auth.security import token_digest
from backend.db import db_now
from backend.errors import Conflict, NotFound, Unauthorized, Unprocessable
from backend.groups.models import OnCallGroup
from backend.integrations.models import Integration
from backend.integrations.schemas import IntegrationIn, Mapping
from backend.orgs.models import Organization
from backend.procedures.models import Procedure

KEY_PREFIX = "vigie_"
SHOWN_PREFIX = 14  # "vigie_" and 8 characters of the secret: enough to tell keys apart in a list
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller:
    """An integration calling with its key: what it may do, and for which communes."""

    integration_id: int
    name: str
    organization_id: int
    org_ids: frozenset[int]
    scopes: frozenset[str]
    mapping: dict
    last_used_at: datetime | None


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def looks_like_key(token: str | None) -> bool:
    return token is not None and token.startswith(KEY_PREFIX)


def state_of(integration: Integration, now: datetime) -> str:
    if integration.revoked_at is not None:
        return "revoked"
    if integration.expires_at is not None and integration.expires_at <= now:
        return "expired"
    return "active"


def communes_of(*, db_session: Session, organization_id: int) -> frozenset[int]:
    """A commune's key acts for it; the métropole's for every commune it serves."""
    served = db_session.scalars(select(Organization.id).where(Organization.served_by_id == organization_id))
    return frozenset({organization_id, *served})


def create(*, db_session: Session, org_ids: frozenset[int], draft: IntegrationIn,
           user_id: int | None) -> tuple[Integration, str]:
    if draft.organization_id not in org_ids:
        raise NotFound("organization")
    now = db_now(db_session)
    if draft.expires_at is not None and draft.expires_at <= now:
        raise Unprocessable("the expiry is in the past", code="expiry_in_past")
    key = new_key()
    integration = Integration(
        organization_id=draft.organization_id, name=draft.name, scopes=sorted(set(draft.scopes)),
        key_prefix=key[:SHOWN_PREFIX], key_hash=token_digest(key), created_at=now, created_by_user_id=user_id,
        expires_at=draft.expires_at, mapping=Mapping().model_dump())
    db_session.add(integration)
    db_session.flush()
    return integration, key


def get(*, db_session: Session, integration_id: int, org_ids: frozenset[int], lock: bool = False) -> Integration:
    query = select(Integration).where(Integration.id == integration_id, Integration.organization_id.in_(org_ids))
    integration = db_session.scalar(query.with_for_update() if lock else query)
    if integration is None:
        raise NotFound("integration")
    return integration


def list_integrations(*, db_session: Session, org_ids: frozenset[int],
                      organization_id: int | None = None) -> list[Integration]:
    query = select(Integration).where(Integration.organization_id.in_(org_ids))
    if organization_id is not None:
        query = query.where(Integration.organization_id == organization_id)
    return list(db_session.scalars(query.order_by(Integration.revoked_at.is_not(None), Integration.name,
                                                  Integration.id)))


def revoke(*, db_session: Session, integration: Integration, by: str) -> Integration:
    if integration.revoked_at is not None:
        raise Conflict("this key is already revoked", code="already_revoked")
    integration.revoked_at = db_now(db_session)
    integration.revoked_by = by
    return integration


def set_mapping(*, db_session: Session, integration: Integration, mapping: Mapping) -> Integration:
    """Every procedure and group a rule names must be of a commune the key acts for."""
    communes = communes_of(db_session=db_session, organization_id=integration.organization_id)
    for index, rule in enumerate(mapping.rules):
        where = {"rule": index, "category": rule.category}
        if (rule.procedure_id is None) == (rule.group_ids is None):
            raise Unprocessable("a rule names a procedure or groups, one of the two", code="rule_target",
                                details=where)
        if rule.procedure_id is not None:
            owner = db_session.scalar(select(Procedure.organization_id).where(Procedure.id == rule.procedure_id))
            if owner not in communes:
                raise Unprocessable("this procedure is not of a commune this key acts for",
                                    code="unknown_procedure", details=where)
        else:
            wanted = set(rule.group_ids or [])
            rows = db_session.execute(select(OnCallGroup.id, OnCallGroup.organization_id)
                                      .where(OnCallGroup.id.in_(wanted))).all()
            owners = {owner for _, owner in rows}
            if len(rows) != len(wanted) or len(wanted) != len(rule.group_ids or []) or len(owners) != 1 \
                    or not owners <= communes:
                raise Unprocessable("these groups are not of one commune this key acts for", code="unknown_group",
                                    details=where)
    integration.mapping = mapping.model_dump()
    return integration


def authenticate(*, db_session: Session, key: str) -> Caller:
    """One indexed read; a revoked, expired or unknown key is refused alike."""
    integration = db_session.scalar(select(Integration).where(Integration.key_hash == token_digest(key)))
    if integration is None or state_of(integration, db_now(db_session)) != "active":
        raise Unauthorized("invalid, revoked or expired API key", code="invalid_api_key")
    return Caller(integration_id=integration.id, name=integration.name,
                  organization_id=integration.organization_id,
                  org_ids=communes_of(db_session=db_session, organization_id=integration.organization_id),
                  scopes=frozenset(integration.scopes or []), mapping=dict(integration.mapping or {}),
                  last_used_at=integration.last_used_at)


def needs_touch(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or last_used_at <= now - TOUCH_EVERY


def touch(*, db_session: Session, integration_id: int, address: str | None) -> None:
    """Last use: written only when the one kept is older than a minute (a conditional update, so that
    concurrent requests write it once)."""
    now = db_now(db_session)
    db_session.execute(update(Integration).where(
        Integration.id == integration_id,
        (Integration.last_used_at.is_(None)) | (Integration.last_used_at <= now - TOUCH_EVERY))
        .values(last_used_at=now, last_used_from=(address or "")[:64]))
