"""Octopush (a French SMS provider), spoken directly: its answer gives the ticket (`sms_ticket`) that
its delivery receipts name (`message_id`), which Apprise would not keep.

    octopush://API_LOGIN:API_KEY@SENDER/{to}
    …?type=sms_premium        (default; `sms_low_cost` has neither delivery receipts nor replies)
    …&replies=no              (default yes: `with_replies`, the sender becomes a short number people answer)
    …&base=https://api.octopush.com   (another API origin)

API_LOGIN is the account's e-mail (`@` written as is, or `%40`), SENDER 3 to 11 letters, digits or
spaces (`%20`). One message is one campaign of one recipient: `POST /v1/public/sms-campaign/send`
with the `api-key` and `api-login` headers and `{"recipients": [{"phone_number"}], "text", "type",
"purpose": "alert", "sender", "with_replies"}` — dev.octopush.com/en/sms-gateway-api-documentation/send-sms/
and …/two-ways-sms/ (« alert » is the transactional purpose, sent day and night). The pages
consulted document the request but not the answer's body: `sms_ticket`, the campaign's ticket, is
what integrations in use read, and what receipts call `message_id` (`sms_…`). Any answer other than
2xx with a ticket is a refusal: the next provider is tried.

Octopush's callbacks (receipts, replies) are set once in its interface, not per message, and carry
no signature: see `backend/inbound/octopush.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

OCTOPUSH_API = "https://api.octopush.com"
SEND_PATH = "/v1/public/sms-campaign/send"
SCHEME = "octopush"
TYPES = ("sms_premium", "sms_low_cost")
SENDER = re.compile(r"^[A-Za-z0-9 ]{3,11}$")


@dataclass(frozen=True)
class OctopushAccount:
    api_login: str
    api_key: str
    sender: str
    base: str
    sms_type: str = "sms_premium"
    with_replies: bool = True


def account_of(url: str) -> OctopushAccount | None:
    """The account an `octopush://` provider URL names, or None for any other provider."""
    parts = urlsplit(url)
    if parts.scheme.lower() != SCHEME:
        return None
    userinfo, _, sender = parts.netloc.rpartition("@")
    login, _, key = userinfo.rpartition(":")
    login, key, sender = unquote(login), unquote(key), unquote(sender)
    if not login or not key or not sender:
        raise ValueError("an octopush:// provider URL needs API_LOGIN:API_KEY@SENDER")
    if not SENDER.match(sender):
        raise ValueError("an octopush:// SENDER is 3 to 11 letters, digits or spaces")
    query = parse_qs(parts.query)
    sms_type = query.get("type", ["sms_premium"])[0]
    if sms_type not in TYPES:
        raise ValueError(f"octopush:// type must be one of {', '.join(TYPES)}")
    replies = query.get("replies", ["yes"])[0].lower()
    if replies not in ("yes", "no"):
        raise ValueError("octopush:// replies is yes or no")
    return OctopushAccount(login, key, sender, query.get("base", [OCTOPUSH_API])[0].rstrip("/"),
                           sms_type, replies == "yes")


class OctopushSender:
    """One account's client, kept for the process's life (one connection pool, reused)."""

    def __init__(self, account: OctopushAccount, *, timeout_s: float) -> None:
        self.account = account
        self._client = httpx.Client(base_url=account.base, timeout=timeout_s,
                                    headers={"api-key": account.api_key, "api-login": account.api_login},
                                    limits=httpx.Limits(max_connections=32))

    def send(self, number: str, text: str, budget_s: float) -> tuple[bool, str, str | None]:
        """Blocking. (accepted, reason when not, the campaign's ticket when accepted)."""
        body = {"recipients": [{"phone_number": number}], "text": text, "type": self.account.sms_type,
                "purpose": "alert", "sender": self.account.sender, "with_replies": self.account.with_replies}
        answer = self._client.post(SEND_PATH, json=body, timeout=budget_s)
        data = _json(answer)
        ticket = data.get("sms_ticket")
        if answer.is_success and ticket:
            return True, "", str(ticket)[:100]
        if answer.is_success:
            return False, f"Octopush {answer.status_code}: an answer without sms_ticket", None
        detail = " ".join(str(data[k]) for k in ("code", "message") if data.get(k) not in (None, ""))
        return False, f"Octopush {answer.status_code}: {detail or answer.reason_phrase}"[:300], None

    def close(self) -> None:
        self._client.close()


def _json(answer: httpx.Response) -> dict:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
