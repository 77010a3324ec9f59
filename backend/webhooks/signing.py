"""The signature of a delivery: Vigie's inbound scheme (`backend/inbound/router.py`) used outbound.

`X-Vigie-Timestamp` is the Unix time of sending; `X-Vigie-Signature` is `sha256=` and the hex
HMAC-SHA256, under the subscription's secret, of the timestamp, a dot and the raw body.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    return hmac.compare_digest(given, signature(secret, timestamp, body))
