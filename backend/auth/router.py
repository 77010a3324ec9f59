"""Log in (OAuth2 password flow), log out, who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from backend.auth import service as auth_service
from backend.deps import CurrentPrincipal, ReadSessionDep, SessionDep, SettingsDep, oauth2_scheme
from backend.errors import Unauthorized
from backend.ratelimit import LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_ADDRESS, client_address
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"


class MeOut(BaseModel):
    id: int
    email: str
    full_name: str
    role: str
    organization_id: int
    person_id: int | None
    organization_ids: list[int]


@router.post("/auth/token", response_model=TokenOut, responses={429: {"description": "too many failed logins"}})
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, db: SessionDep,
          reader: ReadSessionDep, settings: SettingsDep):
    # Failed logins are counted per account and per address; over the limit, no argon2 is spent.
    limits, account, address = request.app.state.runtime.rate_limits, form.username.strip().lower(), \
        client_address(request)
    limits.check(LOGIN_FAILURES_PER_ACCOUNT, account)
    limits.check(LOGIN_FAILURES_PER_ADDRESS, address)
    # The password is checked (0.5 s of argon2) on a read; only the new token takes the write turn.
    try:
        user = auth_service.check_password(db_session=reader, email=form.username, password=form.password)
    except Unauthorized:
        limits.hit(LOGIN_FAILURES_PER_ACCOUNT, account)
        limits.hit(LOGIN_FAILURES_PER_ADDRESS, address)
        raise
    access_token = auth_service.issue_token(db_session=db, user=user, ttl_hours=settings.token_ttl_hours)
    return TokenOut(access_token=access_token)


@router.post("/auth/logout", status_code=204)
def logout(db: SessionDep, principal: CurrentPrincipal, raw: Annotated[str | None, Depends(oauth2_scheme)]):
    auth_service.revoke_token(db_session=db, token=raw)


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal):
    user = principal.user
    return MeOut(id=user.id, email=user.email, full_name=user.full_name, role=user.role,
                 organization_id=user.organization_id, person_id=user.person_id,
                 organization_ids=sorted(principal.org_ids))
