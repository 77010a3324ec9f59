"""Users, login, tokens, and who may see which organizations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.auth.models import ROLES, ApiToken, User
from backend.auth.security import hash_password, new_token, token_digest, verify_password
from backend.db import db_clock, db_now
from backend.errors import Conflict, Unauthorized, Unprocessable
from backend.orgs.models import Organization


@dataclass(frozen=True)
class Principal:
    """The caller of a request, with the organizations it may see."""

    user: User
    org_ids: frozenset[int]

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def person_id(self) -> int | None:
        return self.user.person_id

    def can_see(self, org_id: int) -> bool:
        return org_id in self.org_ids


def visible_org_ids(*, db_session: Session, user: User) -> frozenset[int]:
    if user.role in ("admin", "operator"):
        served = db_session.scalars(select(Organization.id).where(Organization.served_by_id == user.organization_id))
        return frozenset({user.organization_id, *served})
    return frozenset({user.organization_id})


def create_user(*, db_session: Session, email: str, full_name: str, role: str, organization_id: int,
                password: str | None = None, person_id: int | None = None) -> User:
    if role not in ROLES:
        raise Unprocessable(f"unknown role {role!r}", code="unknown_role")
    email = email.strip().lower()
    if db_session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("a user with this e-mail already exists", code="email_taken")
    user = User(email=email, full_name=full_name, role=role, organization_id=organization_id,
                person_id=person_id, password_hash=hash_password(password) if password else None)
    db_session.add(user)
    db_session.flush()
    return user


def count_users(*, db_session: Session) -> int:
    return db_session.scalar(select(func.count(User.id))) or 0


def check_password(*, db_session: Session, email: str, password: str) -> User:
    user = db_session.scalar(select(User).where(User.email == email.strip().lower()))
    if not verify_password(password, user.password_hash if user else None) or not user or not user.is_active:
        raise Unauthorized("wrong e-mail or password", code="bad_credentials")
    return user


def issue_token(*, db_session: Session, user: User, ttl_hours: float | None, kind: str = "session",
                label: str = "") -> str:
    token = new_token()
    expires = db_now(db_session) + timedelta(hours=ttl_hours) if ttl_hours else None
    db_session.add(ApiToken(user_id=user.id, token_hash=token_digest(token), kind=kind, label=label,
                            expires_at=expires))
    db_session.flush()
    return token


def authenticate(*, db_session: Session, token: str) -> Principal:
    # One statement: a storm of requests (or of bad tokens) costs one indexed read each.
    user = db_session.scalar(
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None), User.is_active,
               (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > db_clock())))
    if user is None:
        raise Unauthorized("invalid or expired token", code="invalid_token")
    return Principal(user=user, org_ids=visible_org_ids(db_session=db_session, user=user))


def revoke_token(*, db_session: Session, token: str) -> None:
    row = db_session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = db_now(db_session)


def ensure_first_admin(*, db_session: Session, email: str | None, password: str | None) -> User | None:
    """Create the first admin (and the métropole it belongs to) when no user exists yet."""
    if not email or not password or count_users(db_session=db_session) > 0:
        return None
    metropole = db_session.scalar(select(Organization).where(Organization.kind == "metropole"))
    if metropole is None:
        metropole = Organization(name="Métropole", code="METROPOLE", kind="metropole")
        db_session.add(metropole)
        db_session.flush()
    return create_user(db_session=db_session, email=email, full_name="Administrateur", role="admin",
                       organization_id=metropole.id, password=password)
