"""Request dependencies: the one session per request (committed when the route returns, or earlier
by `commit`), the caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.auth import service as auth_service
from backend.auth.service import Principal
from backend.config import Settings
from backend.errors import Conflict, Forbidden, Unauthorized

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_db(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.runtime.session_factory()
    try:
        yield session
        commit(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit happens before the response is sent, so a 2xx means committed.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def commit(session: Session) -> None:
    """Commit the request's work now (a route that must not make the worker wait for its answer)."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("the change conflicts with existing data", code="integrity_conflict") from exc


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_principal(db: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    if not token:
        raise Unauthorized("authentication required", code="not_authenticated")
    return auth_service.authenticate(db_session=db, token=token)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str):
    def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden("your role does not allow this", code="role_forbidden")
        return principal

    return Annotated[Principal, Depends(_check)]


Operator = require_roles("admin", "operator")
DirectoryEditor = require_roles("admin", "referent")
Staff = require_roles("admin", "operator", "referent")
