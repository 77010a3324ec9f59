"""Log in (OAuth2 password flow), log out, who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from backend.auth import service as auth_service
from backend.deps import CurrentPrincipal, ReadSessionDep, SessionDep, SettingsDep, oauth2_scheme
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


@router.post("/auth/token", response_model=TokenOut)
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], db: SessionDep, reader: ReadSessionDep,
          settings: SettingsDep):
    # The password is checked (0.5 s of argon2) on a read; only the new token takes the write turn.
    user = auth_service.check_password(db_session=reader, email=form.username, password=form.password)
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
