"""Which on-call groups a commune's chain may name — in a procedure, or chosen for an event without one: the
commune's own, and those of the métropole that serves it (its astreinte de décision); never another commune's
or another métropole's. One rule for the procedure form, the new-event form, the preview and the server."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Unprocessable
from backend.groups.models import OnCallGroup
from backend.orgs.models import Organization
from backend.orgs.service import group_owner_ids


@dataclass(frozen=True)
class EligibleGroup:
    id: int
    name: str
    kind: str
    organization_id: int
    organization: str
    of_metropole: bool


def eligible_groups(*, db_session: Session, organization_id: int) -> list[EligibleGroup]:
    """The commune's groups by name, then those of the métropole serving it: names only, no roster (a
    commune's referent sees nothing of the métropole's directory)."""
    owners = group_owner_ids(db_session=db_session, organization_id=organization_id)
    rows = db_session.execute(
        select(OnCallGroup.id, OnCallGroup.name, OnCallGroup.kind, Organization.id, Organization.name)
        .join(Organization, Organization.id == OnCallGroup.organization_id)
        .where(OnCallGroup.organization_id.in_(owners))).all()
    found = [EligibleGroup(id=g, name=name, kind=kind, organization_id=owner, organization=owner_name,
                           of_metropole=owner != organization_id) for g, name, kind, owner, owner_name in rows]
    return sorted(found, key=lambda g: (g.of_metropole, g.name.casefold(), g.id))


def ensure_eligible(*, db_session: Session, organization_id: int, group_ids: list[int]) -> None:
    duplicates = sorted(g for g, n in Counter(group_ids).items() if n > 1)
    if duplicates:
        raise Unprocessable("a group appears more than once", code="duplicate_group", details={"ids": duplicates})
    owners = group_owner_ids(db_session=db_session, organization_id=organization_id)
    found = set(db_session.scalars(select(OnCallGroup.id).where(
        OnCallGroup.id.in_(group_ids), OnCallGroup.organization_id.in_(owners))))
    unknown = [g for g in group_ids if g not in found]
    if unknown:
        raise Unprocessable("these groups are neither the commune's nor those of the métropole serving it",
                            code="unknown_group", details={"group_ids": unknown})
