"""The channel interface: one message to one address, and what became of it.

A channel's `send` never raises for a delivery problem: it returns a `SendResult`.
- DELIVERED: the far end confirmed (e.g. a push service 201, an SMTP 250);
- SENT: handed to a provider that reports delivery later (or never);
- RETRY: a transient failure, try again later (`retry_after` seconds if the provider said);
- FAILED: permanent for this address (`gone=True` when the address itself is dead,
  e.g. a push subscription answering 404/410): move on to the next channel.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class ChannelKind(str, enum.Enum):
    PUSH = "push"  # Web Push subscription
    FCM = "fcm"
    SMS = "sms"
    EMAIL = "email"
    VOICE = "voice"  # a phone call read aloud, to the person's SMS number


class Outcome(str, enum.Enum):
    DELIVERED = "delivered"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class OutboundMessage:
    notification_id: int
    channel: ChannelKind
    address: str  # phone number (E.164), e-mail address, or a JSON push subscription / FCM token
    subject: str
    text: str  # plain text; for SMS already within one GSM-7 segment
    html: str | None = None
    data: dict = field(default_factory=dict)  # structured payload (push/FCM): event, page, actions
    urgent: bool = False  # severity >= 3: high priority, stay on screen


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    detail: str = ""
    provider_ref: str | None = None
    retry_after: float | None = None
    gone: bool = False
    provider_message_id: str | None = None  # the provider's id of the message, named by its delivery receipt

    @classmethod
    def delivered(cls, detail: str = "", provider_ref: str | None = None) -> SendResult:
        return cls(Outcome.DELIVERED, detail, provider_ref)

    @classmethod
    def sent(cls, detail: str = "", provider_ref: str | None = None,
             provider_message_id: str | None = None) -> SendResult:
        return cls(Outcome.SENT, detail, provider_ref, provider_message_id=provider_message_id)

    @classmethod
    def retry(cls, detail: str, retry_after: float | None = None) -> SendResult:
        return cls(Outcome.RETRY, detail, retry_after=retry_after)

    @classmethod
    def failed(cls, detail: str, gone: bool = False) -> SendResult:
        return cls(Outcome.FAILED, detail, gone=gone)


@runtime_checkable
class Channel(Protocol):
    kind: ChannelKind

    async def send(self, message: OutboundMessage) -> SendResult: ...
