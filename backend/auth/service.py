"""Users, login, tokens, and who may see which organizations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.auth.models import ROLES, ApiToken, User
from backend.auth.security import hash_password, new_token, token_digest, verify_password
from backend.db import db_clock, db_now
from backend.errors import Conflict, Unauthorized, Unprocessable
from backend.orgs.models import Organization
from backend.signals import ACCESS_TOPIC, announce_change


@dataclass(frozen=True)
class TokenInfo:
    id: int
    kind: str  # session | device
    expires_at: datetime | None


@dataclass(frozen=True)
class Principal:
    """The caller of a request, with the organizations it may see, and the token it came with."""

    user: User
    org_ids: frozenset[int]
    token: TokenInfo | None = None

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


def _usable():
    """A token that still lets its holder in: not revoked, not expired, its user active."""
    return (ApiToken.revoked_at.is_(None), User.is_active,
            (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > db_clock()))


def authenticate(*, db_session: Session, token: str) -> Principal:
    # One statement: a storm of requests (or of bad tokens) costs one indexed read each.
    row = db_session.execute(
        select(User, ApiToken.id, ApiToken.kind, ApiToken.expires_at).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_digest(token), *_usable())).first()
    if row is None:
        raise Unauthorized("invalid or expired token", code="invalid_token")
    user, token_id, kind, expires_at = row
    return Principal(user=user, org_ids=visible_org_ids(db_session=db_session, user=user),
                     token=TokenInfo(id=token_id, kind=kind, expires_at=expires_at))


def usable_digests(*, db_session: Session, digests: Iterable[str]) -> dict[str, tuple[str, int]]:
    """Of these token digests, those that still let their holder in, with the holder's role and
    organization (what their access is scoped by); one read per 500."""
    wanted, usable = sorted(set(digests)), dict[str, tuple[str, int]]()
    for start in range(0, len(wanted), 500):
        for digest, role, organization_id in db_session.execute(
                select(ApiToken.token_hash, User.role, User.organization_id).join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash.in_(wanted[start:start + 500]), *_usable())):
            usable[digest] = (role, organization_id)
    return usable


def revoke_token(*, db_session: Session, token: str) -> None:
    row = db_session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = db_now(db_session)
        access_changed(db_session)


def access_changed(db_session: Session) -> None:
    """Once committed, every process re-checks the credentials of its open live sockets now."""
    announce_change(db_session, ACCESS_TOPIC, 0)


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
