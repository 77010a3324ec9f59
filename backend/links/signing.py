"""One-tap links: signed, bound to one person, one page and one action, expiring."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

ACTIONS = ("ack", "decline")


class BadLink(Exception):
    """The link was not made by this Vigie, or it was altered."""


class ExpiredLink(Exception):
    pass


@dataclass(frozen=True)
class LinkClaims:
    link_id: str
    person_id: int
    page_id: int
    action: str
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, secret: str, public_url: str, ttl: timedelta):
        self._key = hashlib.sha256(b"vigie-links:" + secret.encode()).digest()
        self.public_url = public_url.rstrip("/")
        self.ttl = ttl

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def token(self, *, person_id: int, page_id: int, action: str, now: datetime) -> str:
        if action not in ACTIONS:
            raise ValueError(action)
        claims = {"i": secrets.token_hex(8), "p": person_id, "g": page_id, "a": action,
                  "e": int((now + self.ttl).timestamp())}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def url(self, **kwargs) -> str:
        return f"{self.public_url}/l/{self.token(**kwargs)}"

    def read(self, token: str, now: datetime) -> LinkClaims:
        payload, _, mac = token.partition(".")
        if not payload or not hmac.compare_digest(mac, self._mac(payload)):
            raise BadLink()
        try:
            claims = json.loads(_unb64(payload))
            read = LinkClaims(str(claims["i"]), int(claims["p"]), int(claims["g"]), str(claims["a"]),
                              datetime.fromtimestamp(int(claims["e"]), tz=now.tzinfo))
        except (ValueError, KeyError, TypeError) as exc:
            raise BadLink() from exc
        if read.action not in ACTIONS:
            raise BadLink()
        if now >= read.expires_at:
            raise ExpiredLink()
        return read
