"""Calls through Twilio's Programmable Voice (or an API speaking it), one account after another.

Provider URLs take the SMS's form (`twilio://ACCOUNT_SID:AUTH_TOKEN@%2B33100000000/{to}`, `?base=`
another origin): the sender is the number the call comes from. A call asks Twilio to fetch what to
say from Vigie (`TWIML_PATH`, named by the notification's id only: Twilio signs the fetch, and the
words never travel in the URL), to post the key pressed to `GATHER_PATH` and the call's end to
`STATUS_PATH`. The call's SID is kept as the message's provider id.

Every call asks for Twilio's answering machine detection, synchronous (`MachineDetection=Enable`):
Twilio fetches the words only once it knows who answered, and says so in `AnsweredBy`. A machine
(or a fax) is hung up on without a word: the page's words never sit in a mailbox, where they would
say less than the SMS already does, and nobody waits for the beep before the next person is asked.
The price is a second or two of silence for a person who picks up (their « Allô ? » is what tells
Twilio it is a person); `AMD_TIMEOUT_S` bounds it, and an undecided answer (`unknown`) is read to.
"""

from __future__ import annotations

import asyncio
import re
import time

import httpx

from notifications import voice_twiml
from notifications.base import ChannelKind, OutboundMessage, SendResult
from notifications.sms_twilio import TwilioAccount, account_of

PREFIX = "/api/v1/voice/twilio"
TWIML_PATH = PREFIX + "/{notification_id}/twiml"
GATHER_PATH = PREFIX + "/{notification_id}/gather"
STATUS_PATH = PREFIX + "/{notification_id}/status"
DEFAULT_RING_S = 30  # how long the phone rings before Twilio gives up (`no-answer`): VIGIE_VOICE_RING_S
RING_MARGIN_S = 5  # Twilio may let a call ring this much longer than its `Timeout`
AMD_TIMEOUT_S = 10  # Twilio's `MachineDetectionTimeout`: undecided by then, `AnsweredBy=unknown`
# Twilio's `AnsweredBy` words for something other than a person.
MACHINE = frozenset({"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other"})
FAX = "fax"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Twilio refusing the call itself (a number it cannot call): trying again changes nothing.
PERMANENT = frozenset({400, 404})


def call_urls(public_url: str, notification_id: int) -> dict[str, str]:
    base = public_url.rstrip("/")
    return {name: base + path.format(notification_id=notification_id)
            for name, path in (("twiml", TWIML_PATH), ("gather", GATHER_PATH), ("status", STATUS_PATH))}


def not_a_person(answered_by: str) -> bool:
    return answered_by in MACHINE or answered_by == FAX


def call_length_s(ring_s: float, text: str, purpose: str) -> float:
    """From the call's hand-off to its end, at the latest: ringing, detection, then every reading."""
    return ring_s + RING_MARGIN_S + AMD_TIMEOUT_S + voice_twiml.reading_s(text, voice_twiml.script_for(purpose))


def accounts_of(provider_urls: list[str]) -> list[TwilioAccount]:
    accounts = []
    for url in provider_urls:
        account = account_of(url)
        if account is None:
            raise ValueError("VIGIE_VOICE_PROVIDERS takes twilio:// URLs (Twilio's Programmable Voice)")
        accounts.append(account)
    return accounts


class TwilioCaller:
    """One account's client, kept for the process's life."""

    def __init__(self, account: TwilioAccount, timeout_s: float, ring_s: int = DEFAULT_RING_S) -> None:
        self.account = account
        self.ring_s = ring_s
        self._client = httpx.Client(base_url=account.base, auth=(account.account_sid, account.auth_token),
                                    timeout=timeout_s)

    @property
    def name(self) -> str:
        return f"twilio://{self.account.base.split('://', 1)[-1]}"

    def call(self, number: str, urls: dict[str, str], budget_s: float) -> tuple[int, str, str | None]:
        """Blocking. (HTTP status, reason when refused, the call's SID when placed)."""
        data = {"To": number, "From": self.account.sender, "Url": urls["twiml"], "Method": "POST",
                "StatusCallback": urls["status"], "StatusCallbackMethod": "POST",
                "StatusCallbackEvent": ["answered", "completed"], "Timeout": str(self.ring_s),
                "MachineDetection": "Enable", "MachineDetectionTimeout": str(AMD_TIMEOUT_S)}
        answer = self._client.post(f"/2010-04-01/Accounts/{self.account.account_sid}/Calls.json",
                                   data=data, timeout=budget_s)
        body = _json(answer)
        if answer.status_code in (200, 201) and body.get("sid"):
            return answer.status_code, "", str(body["sid"])[:100]
        return answer.status_code, f"Twilio {answer.status_code} {body.get('code', '')}: " \
                                   f"{body.get('message', '')}".strip()[:300], None

    def close(self) -> None:
        self._client.close()


class VoiceChannel:
    kind = ChannelKind.VOICE

    def __init__(self, provider_urls: list[str], *, public_url: str, deadline_s: float = 20.0,
                 ring_s: int = DEFAULT_RING_S) -> None:
        self.public_url = public_url
        self.deadline_s = deadline_s
        self._callers = [TwilioCaller(account, timeout_s=deadline_s, ring_s=ring_s)
                         for account in accounts_of(provider_urls)]

    async def send(self, message: OutboundMessage) -> SendResult:
        if not E164.match(message.address):
            return SendResult.failed(f"not a phone number: {message.address[:40]!r}")
        return await asyncio.to_thread(self._place, message)

    def _place(self, message: OutboundMessage) -> SendResult:
        urls = call_urls(self.public_url, message.notification_id)
        ends = time.monotonic() + self.deadline_s
        reasons, permanent = [], True
        for caller in self._callers:
            budget = ends - time.monotonic()
            if budget <= 0.1:
                permanent = False
                break
            try:
                status, reason, sid = caller.call(message.address, urls, budget)
            except httpx.HTTPError as exc:
                status, reason, sid = 0, f"{caller.name}: {type(exc).__name__}", None
            if sid:
                return SendResult.sent(f"appel lancé ({caller.name})", provider_ref=caller.name[:200],
                                       provider_message_id=sid)
            reasons.append(reason)
            permanent = permanent and status in PERMANENT
        detail = "; ".join(reasons) or "no voice provider answered in time"
        return SendResult.failed(detail) if permanent and reasons else SendResult.retry(detail)

    def close(self) -> None:
        for caller in self._callers:
            caller.close()


def _json(answer: httpx.Response) -> dict:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
