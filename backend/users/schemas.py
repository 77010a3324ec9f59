"""User accounts over HTTP (administrators only)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.auth.models import ROLES
from backend.orgs.schemas import Id, Patch

Role = Literal[ROLES]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: str = Field(min_length=3, max_length=254)
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    organization_id: Id
    person_id: Id | None = Field(default=None, description="the directory entry; required for on-call users")
    password: str | None = Field(default=None, min_length=10, max_length=1024,
                                 description="required for admin, operator and referent")


class UserUpdate(Patch):
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024,
                                 description="a new password (admin, operator, referent: a forgotten one replaced); "
                                             "the account's other open sessions end")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: str
    organization_id: Id
    person_id: Id | None
    is_active: bool
    created_at: datetime
