"""User accounts: scoped to the organizations the administrator sees, roles that fit the organization."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy import update as update_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.auth import service as auth_service
from backend.auth.models import ApiToken, User
from backend.auth.security import hash_password
from backend.db import db_now
from backend.errors import Conflict, NotFound, Unprocessable
from backend.orgs.models import Organization
from backend.people import service as people_service
from backend.people.models import Person
from backend.users.schemas import UserCreate, UserUpdate

PASSWORD_ROLES = ("admin", "operator", "referent")
PC_ROLES = ("admin", "operator")  # they see every commune their organization serves


def get(*, db_session: Session, user_id: int, org_ids: frozenset[int]) -> User:
    user = db_session.scalar(select(User).where(User.id == user_id, User.organization_id.in_(org_ids)))
    if user is None:
        raise NotFound("user")
    return user


def list_users(*, db_session: Session, org_ids: frozenset[int], organization_id: int | None = None) -> list[User]:
    query = select(User).where(User.organization_id.in_(org_ids))
    if organization_id is not None:
        query = query.where(User.organization_id == organization_id)
    return list(db_session.scalars(query.order_by(User.full_name, User.id)))


def create(*, db_session: Session, organization: Organization, draft: UserCreate) -> User:
    _check_role(organization, draft.role, has_password=bool(draft.password), person_id=draft.person_id)
    if draft.person_id is not None:
        _check_person(db_session=db_session, organization_id=organization.id, person_id=draft.person_id)
    try:
        return auth_service.create_user(
            db_session=db_session, email=people_service.normalize_email(draft.email), full_name=draft.full_name,
            role=draft.role, organization_id=organization.id, password=draft.password, person_id=draft.person_id)
    except IntegrityError as exc:  # the same e-mail registered by a concurrent request
        raise Conflict("a user with this e-mail already exists", code="email_taken") from exc


def update(*, db_session: Session, user: User, patch: UserUpdate, acting_user: User,
           keep_token_id: int | None = None) -> User:
    """`keep_token_id`: the session making the change, kept when its own password is changed."""
    changes = patch.changes()
    password = changes.pop("password", None)
    role = changes.get("role", user.role)
    if user.id == acting_user.id and (role != user.role or changes.get("is_active") is False):
        raise Conflict("you cannot demote or deactivate your own account", code="own_account")
    if password is not None and role not in PASSWORD_ROLES:
        raise Unprocessable(f"a {role} logs in from the app, without a password", code="password_not_used")
    if role != user.role:
        organization = db_session.get(Organization, user.organization_id)
        _check_role(organization, role, has_password=user.password_hash is not None or password is not None,
                    person_id=user.person_id)
    rescoped = changes.get("is_active") is False or role != user.role
    for name, value in changes.items():
        setattr(user, name, value)
    if password is not None:
        user.password_hash = hash_password(password)
        _end_sessions(db_session=db_session, user=user, keep_token_id=keep_token_id)
        rescoped = True
    if rescoped:
        auth_service.access_changed(db_session)  # their open live sockets re-check now
    db_session.flush()
    return user


def _end_sessions(*, db_session: Session, user: User, keep_token_id: int | None) -> None:
    """Whoever logged in with the old password is out (a phone's device token is not a session)."""
    db_session.execute(update_(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.kind == "session", ApiToken.revoked_at.is_(None),
        ApiToken.id != (keep_token_id or 0)).values(revoked_at=db_now(db_session)))


def _check_role(organization: Organization, role: str, *, has_password: bool, person_id: int | None) -> None:
    if role in PC_ROLES and organization.kind != "metropole":
        raise Unprocessable(f"a {role} belongs to the organization running the PC, not to a commune",
                            code="role_not_allowed_here")
    if role in PASSWORD_ROLES and not has_password:
        raise Unprocessable(f"a {role} logs in with a password of at least 10 characters", code="password_required")
    if role == "oncall" and person_id is None:
        raise Unprocessable("an on-call user is a person of the directory: give person_id", code="person_required")


def _check_person(*, db_session: Session, organization_id: int, person_id: int) -> None:
    person = db_session.scalar(select(Person).where(Person.id == person_id, Person.organization_id == organization_id))
    if person is None:
        raise Unprocessable("this person is not in this organization's directory", code="unknown_person")
    if not person.active:
        raise Unprocessable("this person is deactivated", code="person_inactive")
