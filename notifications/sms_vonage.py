"""Vonage's (ex-Nexmo) SMS API, spoken directly: its answer gives the `message-id` that the
delivery receipt names, which Apprise does not keep.

    vonage://API_KEY:API_SECRET@SENDER/{to}?signature_secret=…&signature_method=sha256

SENDER is a number (`%2B33…`) or an alphanumeric sender id. Vonage signs its callbacks (replies
and delivery receipts) when signed webhooks are enabled on the account: a `sig` field over the
other fields, with the account's signature secret, by `signature_method` (an HMAC: `md5`, `sha1`,
`sha256`, `sha512`; or `md5hash`, the plain MD5 of the fields and the secret). The signed fields
carry a `timestamp`, so a callback too far from now is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

VONAGE_API = "https://rest.nexmo.com"
SCHEMES = ("vonage", "nexmo")
METHODS = ("md5hash", "md5", "sha1", "sha256", "sha512")


@dataclass(frozen=True)
class VonageAccount:
    api_key: str
    api_secret: str
    sender: str
    base: str
    signature_secret: str | None = None
    signature_method: str = "md5hash"


def account_of(url: str) -> VonageAccount | None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES or "@" not in parts.netloc:
        return None
    userinfo, sender = parts.netloc.rsplit("@", 1)
    key, _, secret = userinfo.partition(":")
    if not key or not secret or not sender:
        raise ValueError("a vonage:// provider URL needs API_KEY:API_SECRET@SENDER")
    query = parse_qs(parts.query)
    method = query.get("signature_method", ["md5hash"])[0].lower()
    if method not in METHODS:
        raise ValueError(f"vonage:// signature_method must be one of {', '.join(METHODS)}")
    return VonageAccount(unquote(key), unquote(secret), unquote(sender),
                         query.get("base", [VONAGE_API])[0].rstrip("/"),
                         query.get("signature_secret", [None])[0], method)


def signing_accounts(provider_urls: list[str]) -> list[VonageAccount]:
    return [a for url in provider_urls if (a := account_of(url)) is not None and a.signature_secret]


def signature(secret: str, method: str, fields: dict[str, str]) -> str:
    """Vonage's `sig`: every field but `sig`, sorted by name, as `&name=value` (`&` and `=` in a value
    replaced by `_`), hashed by `method` under the signature secret."""
    text = "".join(f"&{name}={value.replace('&', '_').replace('=', '_')}"
                   for name, value in sorted(fields.items()) if name != "sig")
    if method == "md5hash":
        return hashlib.md5((text + secret).encode()).hexdigest()  # noqa: S324 - Vonage's own scheme
    return hmac.new(secret.encode(), text.encode(), method).hexdigest()


def signature_holds(accounts: list[VonageAccount], fields: dict[str, str]) -> bool:
    given = fields.get("sig", "").lower()
    return bool(given) and any(
        hmac.compare_digest(given, signature(a.signature_secret or "", a.signature_method, fields)) for a in accounts)


class VonageSender:
    def __init__(self, account: VonageAccount, *, status_callback: str | None, timeout_s: float) -> None:
        self.account = account
        self.status_callback = status_callback
        self._client = httpx.Client(base_url=account.base, timeout=timeout_s, limits=httpx.Limits(max_connections=32))

    def send(self, number: str, text: str, budget_s: float) -> tuple[bool, str, str | None]:
        data = {"api_key": self.account.api_key, "api_secret": self.account.api_secret,
                "from": self.account.sender.removeprefix("+"), "to": number.removeprefix("+"), "text": text,
                "type": "unicode" if any(ord(c) > 127 for c in text) else "text"}
        if self.status_callback:
            data |= {"callback": self.status_callback, "status-report-req": "1"}
        answer = self._client.post("/sms/json", data=data, timeout=budget_s)
        if answer.status_code != 200:
            return False, f"Vonage HTTP {answer.status_code}", None
        try:
            messages = answer.json().get("messages") or []
        except (ValueError, AttributeError):
            return False, "Vonage: an answer that is not its JSON", None
        first = messages[0] if messages and isinstance(messages[0], dict) else {}
        if str(first.get("status")) == "0":
            return True, "", str(first.get("message-id", ""))[:100] or None
        return False, f"Vonage status {first.get('status')}: {first.get('error-text', '')}"[:300], None

    def close(self) -> None:
        self._client.close()
