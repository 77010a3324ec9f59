from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from backend.orgs.schemas import Id, Patch

Url = Annotated[str, Field(min_length=8, max_length=2000)]
Kinds = Annotated[list[Annotated[str, Field(max_length=50)]], Field(max_length=100)]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    organization_id: Id
    url: Url
    kinds: Kinds = Field(default_factory=list, description="trace kinds wanted; empty: every kind")
    description: str = Field("", max_length=300)
    active: bool = True


class SubscriptionPatch(Patch):
    url: Url | None = None
    kinds: Kinds | None = None
    description: str | None = Field(None, max_length=300)
    active: bool | None = None


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    organization_id: int
    url: str
    kinds: list[str]
    description: str
    active: bool
    disabled_reason: str | None
    created_at: datetime
    created_by: str
    deliveries: dict[str, int] = Field(default_factory=dict, description="deliveries by status")


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="shown this once: the receiver keeps it to verify X-Vigie-Signature")


class SecretOut(BaseModel):
    id: int
    secret: str = Field(description="the new secret, shown this once; the former one stops signing at once")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    subscription_id: int
    event_id: int | None
    trace_entry_id: int | None
    kind: str
    status: str
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None = Field(None, validation_alias="due_at")
    response_code: int | None
    last_error: str | None
