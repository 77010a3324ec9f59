"""Twilio's Programmable Messaging, spoken directly rather than through Apprise.

Apprise tells only "accepted" or "not": a delivery receipt names the message by the SID Twilio
gave it, so the sender must keep that SID. The provider URL is Apprise's own Twilio form, so a
configuration moves over unchanged:

    twilio://ACCOUNT_SID:AUTH_TOKEN@%2B33100000000/{to}      (from a number)
    twilio://ACCOUNT_SID:AUTH_TOKEN@MG0123…/{to}             (from a messaging service)
    …?base=https://api.dublin.ie1.twilio.com                  (a regional edge, or a compatible API)

Each message asks Twilio to report its delivery to `status_callback` (Vigie's public URL), and
Twilio signs that callback (and the replies) with the auth token: see `signature`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

TWILIO_API = "https://api.twilio.com"
SCHEME = "twilio"


@dataclass(frozen=True)
class TwilioAccount:
    account_sid: str
    auth_token: str
    sender: str  # an E.164 number, or a messaging service SID (MG…)
    base: str  # the API's origin

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"


def account_of(url: str) -> TwilioAccount | None:
    """The account a `twilio://` provider URL names, or None for any other provider."""
    parts = urlsplit(url)
    if parts.scheme.lower() != SCHEME or "@" not in parts.netloc:
        return None
    userinfo, sender = parts.netloc.rsplit("@", 1)
    sid, _, token = userinfo.partition(":")
    base = parse_qs(parts.query).get("base", [TWILIO_API])[0].rstrip("/")
    if not sid or not token or not sender:
        raise ValueError("a twilio:// provider URL needs ACCOUNT_SID:AUTH_TOKEN@SENDER")
    return TwilioAccount(unquote(sid), unquote(token), unquote(sender), base)


def auth_tokens(provider_urls: list[str]) -> list[str]:
    """The auth tokens of every Twilio account configured: a callback signed by any of them is Twilio's."""
    return [account.auth_token for url in provider_urls if (account := account_of(url)) is not None]


def signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's `X-Twilio-Signature`: Base64 of HMAC-SHA1, under the auth token, of the URL Twilio
    called followed by every POST parameter's name and value, sorted by name."""
    data = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def signature_holds(tokens: list[str], given: str, url: str, params: list[tuple[str, str]]) -> bool:
    return bool(given) and any(hmac.compare_digest(given, signature(token, url, params)) for token in tokens)


class TwilioSender:
    """One account's client, kept for the process's life (one connection pool, reused)."""

    def __init__(self, account: TwilioAccount, *, status_callback: str | None, timeout_s: float) -> None:
        self.account = account
        self.status_callback = status_callback
        self._client = httpx.Client(base_url=account.base, auth=(account.account_sid, account.auth_token),
                                    timeout=timeout_s, limits=httpx.Limits(max_connections=32))

    def send(self, number: str, text: str, budget_s: float) -> tuple[bool, str, str | None]:
        """Blocking. (accepted, reason when not, the message's SID when accepted)."""
        sender_field = "MessagingServiceSid" if self.account.sender.startswith("MG") else "From"
        data = {"To": number, "Body": text, sender_field: self.account.sender}
        if self.status_callback:
            data["StatusCallback"] = self.status_callback
        answer = self._client.post(self.account.messages_path, data=data, timeout=budget_s)
        if answer.status_code in (200, 201):
            sid = _json(answer).get("sid")
            return True, "", str(sid)[:100] if sid else None
        body = _json(answer)
        return False, f"Twilio {answer.status_code} {body.get('code', '')}: {body.get('message', '')}".strip()[:300], None

    def close(self) -> None:
        self._client.close()


def _json(answer: httpx.Response) -> dict:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
