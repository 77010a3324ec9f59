"""Calls through Twilio's Programmable Voice (or an API speaking it), one account after another.

Provider URLs take the SMS's form (`twilio://ACCOUNT_SID:AUTH_TOKEN@%2B33100000000/{to}`, `?base=`
another origin): the sender is the number the call comes from. A call asks Twilio to fetch what to
say from Vigie (`TWIML_PATH`, named by the notification's id only: Twilio signs the fetch, and the
words never travel in the URL), to post the key pressed to `GATHER_PATH` and the call's end to
`STATUS_PATH`. The call's SID is kept as the message's provider id.
"""

from __future__ import annotations

import asyncio
import re
import time

import httpx

from notifications.base import ChannelKind, OutboundMessage, SendResult
from notifications.sms_twilio import TwilioAccount, account_of

PREFIX = "/api/v1/voice/twilio"
TWIML_PATH = PREFIX + "/{notification_id}/twiml"
GATHER_PATH = PREFIX + "/{notification_id}/gather"
STATUS_PATH = PREFIX + "/{notification_id}/status"
RING_S = 30  # how long the phone rings before Twilio gives up (`no-answer`)
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Twilio refusing the call itself (a number it cannot call): trying again changes nothing.
PERMANENT = frozenset({400, 404})


def call_urls(public_url: str, notification_id: int) -> dict[str, str]:
    base = public_url.rstrip("/")
    return {name: base + path.format(notification_id=notification_id)
            for name, path in (("twiml", TWIML_PATH), ("gather", GATHER_PATH), ("status", STATUS_PATH))}


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

    def __init__(self, account: TwilioAccount, timeout_s: float) -> None:
        self.account = account
        self._client = httpx.Client(base_url=account.base, auth=(account.account_sid, account.auth_token),
                                    timeout=timeout_s)

    @property
    def name(self) -> str:
        return f"twilio://{self.account.base.split('://', 1)[-1]}"

    def call(self, number: str, urls: dict[str, str], budget_s: float) -> tuple[int, str, str | None]:
        """Blocking. (HTTP status, reason when refused, the call's SID when placed)."""
        data = {"To": number, "From": self.account.sender, "Url": urls["twiml"], "Method": "POST",
                "StatusCallback": urls["status"], "StatusCallbackMethod": "POST",
                "StatusCallbackEvent": ["answered", "completed"], "Timeout": str(RING_S)}
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

    def __init__(self, provider_urls: list[str], *, public_url: str, deadline_s: float = 20.0) -> None:
        self.public_url = public_url
        self.deadline_s = deadline_s
        self._callers = [TwilioCaller(account, timeout_s=deadline_s) for account in accounts_of(provider_urls)]

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
