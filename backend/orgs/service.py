"""Organizations (the tenants), and who may change what in a tenant's directory."""

from __future__ import annotations

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.auth.service import Principal
from backend.errors import Conflict, Forbidden, NotFound, Unprocessable
from backend.orgs.models import Organization
from backend.orgs.schemas import OrganizationCreate, OrganizationUpdate


def get(*, db_session: Session, organization_id: int, org_ids: frozenset[int]) -> Organization:
    organization = db_session.scalar(
        select(Organization).where(Organization.id == organization_id, Organization.id.in_(org_ids)))
    if organization is None:
        raise NotFound("organization")
    return organization


def list_organizations(*, db_session: Session, org_ids: frozenset[int]) -> list[Organization]:
    return list(db_session.scalars(
        select(Organization).where(Organization.id.in_(org_ids)).order_by(Organization.name, Organization.id)))


def group_owner_ids(*, db_session: Session, organization_id: int) -> tuple[int, ...]:
    """Whose on-call groups a commune's procedure may name: its own, and the métropole's that serves it
    (its astreinte de décision); never another commune's or another métropole's."""
    served_by = db_session.scalar(select(Organization.served_by_id).where(Organization.id == organization_id))
    return (organization_id,) if served_by is None else (organization_id, served_by)


def create_commune(*, db_session: Session, served_by: Organization, draft: OrganizationCreate) -> Organization:
    _ensure_code_free(db_session=db_session, code=draft.code)
    organization = Organization(name=draft.name, code=draft.code, kind="commune", served_by_id=served_by.id,
                                timezone=draft.timezone, pc_phone=normalize_phone(draft.pc_phone))
    db_session.add(organization)
    _flush_unique(db_session)
    return organization


def update(*, db_session: Session, organization: Organization, patch: OrganizationUpdate) -> Organization:
    changes = patch.changes()
    if changes.get("code", organization.code) != organization.code:
        _ensure_code_free(db_session=db_session, code=changes["code"])
    if "pc_phone" in changes:
        changes["pc_phone"] = normalize_phone(changes["pc_phone"])
    for name, value in changes.items():
        setattr(organization, name, value)
    _flush_unique(db_session)
    return organization


def normalize_phone(text: str | None) -> str | None:
    """Any dialable number (landlines too), stored E.164."""
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise Unprocessable(f"{text!r} is not a valid phone number", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def ensure_admin(*, principal: Principal) -> None:
    if principal.role != "admin":
        raise Forbidden("only an administrator may do this", code="role_forbidden")


def ensure_editor(*, principal: Principal, organization_id: int) -> None:
    """Directory writes: admins on every organization they see, referents on their own only."""
    if principal.role == "admin" and principal.can_see(organization_id):
        return
    if principal.role == "referent" and organization_id == principal.user.organization_id:
        return
    raise Forbidden("your role may read this directory, not change it", code="role_forbidden")


def get_editable(*, db_session: Session, principal: Principal, organization_id: int) -> Organization:
    """An organization whose directory the caller may change: 404 when unseen, 403 when read-only."""
    organization = get(db_session=db_session, organization_id=organization_id, org_ids=principal.org_ids)
    ensure_editor(principal=principal, organization_id=organization.id)
    return organization


def _ensure_code_free(*, db_session: Session, code: str) -> None:
    if db_session.scalar(select(Organization.id).where(Organization.code == code)) is not None:
        raise Conflict(f"the code {code} is already used", code="code_taken")


def _flush_unique(db_session: Session) -> None:
    # A concurrent request may take the code between our check and this flush.
    try:
        db_session.flush()
    except IntegrityError as exc:
        raise Conflict("the change conflicts with existing data", code="integrity_conflict") from exc
