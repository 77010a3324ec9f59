"""Who calls: an integration with its key (`Authorization: Bearer vigie_…` or `X-Api-Key`), or, where the
PC's staff may do the same by hand, an operator's session."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.exc import OperationalError

from backend.db import db_now, transaction
from backend.deps import get_principal, oauth2_scheme
from backend.errors import Forbidden, Unauthorized
from backend.integrations import service as integration_service
from backend.integrations.service import Caller
from backend.ratelimit import API_KEY_FAILURES_PER_ADDRESS, INTEGRATION_PER_KEY, client_address
from backend.sqlite_writer import Busy

log = logging.getLogger("vigie.integrations")


def _key_of(token: str | None, api_key: str | None) -> str | None:
    if api_key:
        return api_key
    return token if integration_service.looks_like_key(token) else None


def _authenticate(request: Request, key: str, scope: str) -> Caller:
    runtime = request.app.state.runtime
    address = client_address(request)
    # Before the database: an address trying keys is refused at once (429), a valid key's too.
    runtime.rate_limits.check(API_KEY_FAILURES_PER_ADDRESS, address)
    try:
        with runtime.read_factory() as session:
            caller = integration_service.authenticate(db_session=session, key=key)
            stale = integration_service.needs_touch(caller.last_used_at, db_now(session))
    except Unauthorized:
        runtime.rate_limits.hit(API_KEY_FAILURES_PER_ADDRESS, address)
        raise
    runtime.rate_limits.take(INTEGRATION_PER_KEY, str(caller.integration_id))
    if scope not in caller.scopes:
        raise Forbidden(f"this key is not allowed {scope}", code="scope_forbidden")
    if stale:
        try:
            with transaction(runtime.session_factory) as session:
                integration_service.touch(db_session=session, integration_id=caller.integration_id,
                                          address=address)
        except (Busy, OperationalError):  # recorded on a later request: the last use is only indicative
            log.warning("last use of integration %s not recorded this time", caller.integration_id)
    return caller


def integration_with(scope: str):
    def _check(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)],
               x_api_key: Annotated[str | None, Header(max_length=200)] = None) -> Caller:
        key = _key_of(token, x_api_key)
        if key is None:
            raise Unauthorized("an API key is required (Authorization: Bearer vigie_… or X-Api-Key)",
                               code="api_key_required")
        return _authenticate(request, key, scope)

    return Annotated[Caller, Depends(_check)]


@dataclass(frozen=True)
class Acting:
    """An operator by hand, or an integration with its key: the communes it acts for, and who it is."""

    org_ids: frozenset[int]
    user_id: int | None
    label: str
    integration: Caller | None = None


def operator_or_integration(scope: str):
    def _check(request: Request, token: Annotated[str | None, Depends(oauth2_scheme)],
               x_api_key: Annotated[str | None, Header(max_length=200)] = None) -> Acting:
        key = _key_of(token, x_api_key)
        if key is not None:
            caller = _authenticate(request, key, scope)
            return Acting(org_ids=caller.org_ids, user_id=None, label=caller.name, integration=caller)
        principal = get_principal(request, token)
        if principal.role not in ("admin", "operator"):
            raise Forbidden("your role does not allow this", code="role_forbidden")
        return Acting(org_ids=principal.org_ids, user_id=principal.user.id, label=principal.user.full_name)

    return Annotated[Acting, Depends(_check)]


AlarmSender = integration_with("events:write")
CallLogger = operator_or_integration("calls:write")
