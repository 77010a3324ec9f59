"""Request dependencies: the request's session, the caller.

A request's database work happens in one thread hop (`backend.routing.OneHopRoute`): the
session below is only an object until the route runs; the route's first statement opens the
transaction (reads: no lock; writes: on SQLite the write turn) and the same hop commits it and
builds the answer. Authentication reads in a short session of its own and lets it go at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.auth import service as auth_service
from backend.auth.service import Principal
from backend.config import Settings
from backend.db import utcnow
from backend.errors import Conflict, Forbidden, Unauthorized

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Kept on the session: when the request arrived, and how long it may wait for a thread.
ARRIVED_AT = "vigie.arrived_at"
QUEUE_LIMIT = "vigie.queue_limit_s"
RENEW_EVERY = timedelta(days=1)


def _request_session(request: Request, factory) -> Session:
    session = factory()
    session.info[ARRIVED_AT] = time.monotonic()
    session.info[QUEUE_LIMIT] = request.app.state.runtime.settings.request_queue_timeout_s
    return session


async def _yield(session: Session) -> AsyncIterator[Session]:
    try:
        yield session
    finally:
        if session.in_transaction():  # only when a route ran outside OneHopRoute: never on a hot path
            session.close()


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A reading session for GET, a writing one otherwise; no I/O here (the route's hop does it)."""
    runtime = request.app.state.runtime
    factory = runtime.read_factory if request.method in READ_METHODS else runtime.session_factory
    async for session in _yield(_request_session(request, factory)):
        yield session


async def get_write_db(request: Request) -> AsyncIterator[Session]:
    async for session in _yield(_request_session(request, request.app.state.runtime.session_factory)):
        yield session


async def get_read_db(request: Request) -> AsyncIterator[Session]:
    async for session in _yield(_request_session(request, request.app.state.runtime.read_factory)):
        yield session


SessionDep = Annotated[Session, Depends(get_db)]
# A route that must read before it writes, without the write turn (e.g. a password check).
ReadSessionDep = Annotated[Session, Depends(get_read_db)]
# A GET that writes (e.g. a feed that keeps when it was last fetched).
WriteSessionDep = Annotated[Session, Depends(get_write_db)]


def commit(session: Session) -> None:
    """Commit the request's work now (a route that must not make the worker wait for its answer).

    What the route reads afterwards is read without the write turn.
    """
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("the change conflicts with existing data", code="integrity_conflict") from exc
    reading = session.info.get("read_bind")
    if reading is not None:
        session.bind = reading
        session.info["read_only"] = True


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_principal(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    if not token:
        raise Unauthorized("authentication required", code="not_authenticated")
    runtime = request.app.state.runtime
    with runtime.read_factory() as session:
        principal = auth_service.authenticate(db_session=session, token=token)
    _renew_device_token(runtime, principal)
    return principal


def _renew_device_token(runtime, principal: Principal) -> None:
    """A phone in use keeps its access: its token's lifetime restarts, at most once a day (a second
    later, with the other phones': backend/auth/renewals.py)."""
    token = principal.token
    lifetime = timedelta(days=runtime.settings.device_token_days)
    if token is None or token.kind != "device" or (
            token.expires_at is not None and token.expires_at > utcnow() + lifetime - RENEW_EVERY):
        return
    runtime.renewals.add(token.id)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str):
    async def _check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden("your role does not allow this", code="role_forbidden")
        return principal

    return Annotated[Principal, Depends(_check)]


Operator = require_roles("admin", "operator")
DirectoryEditor = require_roles("admin", "referent")
Staff = require_roles("admin", "operator", "referent")
