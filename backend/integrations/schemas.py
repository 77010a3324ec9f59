"""Integrations over HTTP: their keys, their mapping rules, and the alarms they post."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from backend.orgs.schemas import Id

Scope = Literal["events:write", "calls:write"]


class IntegrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_id: Id = Field(description="a commune, or the métropole: then every commune it serves")
    name: str = Field(min_length=1, max_length=200, examples=["Hyperviseur urbain"])
    scopes: list[Scope] = Field(min_length=1, max_length=2)
    expires_at: AwareDatetime | None = Field(default=None, description="none: until revoked")


class Rule(BaseModel):
    """The source's category → a procedure of a commune, or groups « sans procédure »; `*`: any other."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: str = Field(min_length=1, max_length=200)
    procedure_id: Id | None = None
    group_ids: list[Id] | None = Field(default=None, min_length=1, max_length=20)


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    severities: dict[Annotated[str, Field(min_length=1, max_length=50)], Annotated[int, Field(ge=1, le=4)]] = Field(default_factory=dict, max_length=100,
                                       description="the source's severity → 1 (information) … 4 (critique); "
                                                   "unknown → 3 until requalified")
    rules: list[Rule] = Field(default_factory=list, max_length=200)
    on_cleared: Literal["close_if_unengaged", "note"] = Field(
        default="close_if_unengaged",
        description="an « end of alarm » closes the event when nobody answered yet, or is only noted")


class IntegrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    name: str
    scopes: list[str]
    key_prefix: str = Field(description="the key's beginning, to recognise it; the key itself is never shown again")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None
    last_used_from: str | None
    state: Literal["active", "revoked", "expired"]
    mapping: Mapping


class IntegrationCreated(IntegrationOut):
    key: str = Field(description="shown this once: only its digest is kept")


class AlarmIn(BaseModel):
    """One alarm of a source (hyperviseur, SCADA/GTC), raised or cleared, under the source's own key."""
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_id: Id | None = Field(default=None, description="required with a métropole's key")
    source: str = Field(min_length=1, max_length=100, examples=["GTC Chenôve"])
    alarm_key: str = Field(min_length=1, max_length=200, examples=["PR-12/niveau-haut"])
    state: Literal["raised", "cleared"] = "raised"
    severity: str | None = Field(default=None, max_length=50, description="the source's own value")
    category: str | None = Field(default=None, max_length=200, description="the source's own value")
    title: str = Field(default="", max_length=200)
    place: str = Field(default="", max_length=300)
    details: str = Field(default="", max_length=5000)
    occurred_at: AwareDatetime | None = None


class AlarmOut(BaseModel):
    outcome: Literal["opened", "repeated", "cleared_closed", "cleared_noted", "cleared_unknown"]
    event_id: int | None
    event_number: str | None
    occurrences: int = Field(description="raises of this alarm counted on its event")
    severity: int | None = Field(description="the event's severity in Vigie")
