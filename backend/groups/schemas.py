"""On-call groups (ordered rosters) and distribution lists over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.groups.models import GROUP_KINDS
from backend.orgs.schemas import Id, Patch

GroupKind = Literal[GROUP_KINDS]
PersonIds = list[Id]
MAX_MEMBERS = 500


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_id: Id
    name: str = Field(min_length=1, max_length=200)
    kind: GroupKind
    person_ids: PersonIds = Field(default_factory=list, max_length=MAX_MEMBERS, description="the roster, in order")


class GroupUpdate(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: GroupKind | None = None


class PersonIdsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_ids: PersonIds = Field(max_length=MAX_MEMBERS)


class RosterMemberOut(BaseModel):
    position: int
    person_id: int
    name: str
    active: bool


class GroupOut(BaseModel):
    id: int
    organization_id: int
    name: str
    kind: str
    created_at: datetime
    members: list[RosterMemberOut] = Field(description="the roster, in escalation order")


class EscalationGroupOut(BaseModel):
    id: int
    name: str
    kind: str
    organization_id: int
    organization: str = Field(description="the owner's name: the commune, or the métropole serving it")
    of_metropole: bool = Field(description="the métropole's (its astreinte de décision), not the commune's")


class DistributionListCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_id: Id
    name: str = Field(min_length=1, max_length=200)
    person_ids: PersonIds = Field(default_factory=list, max_length=MAX_MEMBERS)


class DistributionListUpdate(Patch):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class ListMemberOut(BaseModel):
    person_id: int
    name: str
    active: bool


class DistributionListOut(BaseModel):
    id: int
    organization_id: int
    name: str
    created_at: datetime
    members: list[ListMemberOut] = Field(description="sorted by name")
