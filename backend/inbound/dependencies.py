"""What the SMS callbacks share: bounded bodies, a callback taken once, and their refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from fastapi import Request
from sqlalchemy.orm import Session

from backend.errors import BadRequest, VigieError
from backend.ratelimit import INBOUND_FAILURES_PER_ADDRESS, INBOUND_PER_PROVIDER, client_address

# Where each provider spoken directly reports the delivery of a message (its routes: twilio.py, vonage.py).
STATUS_PATHS = {"twilio": "/api/v1/sms/twilio/status", "vonage": "/api/v1/sms/vonage/status"}


def status_callbacks(public_url: str) -> dict[str, str]:
    return {provider: public_url.rstrip("/") + path for provider, path in STATUS_PATHS.items()}


class CallbackGate:
    """The rate limits of a provider's callback, around its signature check (CPU only, no database):
    an address that sent too many unsigned callbacks is refused first; a refused signature counts
    against its address; a signed callback counts against its provider's generous allowance."""

    def __init__(self, request: Request, provider: str):
        self.limits = request.app.state.runtime.rate_limits
        self.address = client_address(request)
        self.provider = provider
        self.limits.check(INBOUND_FAILURES_PER_ADDRESS, self.address)

    def refused(self, error: VigieError) -> VigieError:
        self.limits.hit(INBOUND_FAILURES_PER_ADDRESS, self.address)
        return error

    def admitted(self) -> None:
        self.limits.take(INBOUND_PER_PROVIDER, self.provider)


def json_object(body: bytes) -> dict:
    """A callback's JSON body, which must be one object: 400 otherwise."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise BadRequest("the body is not valid JSON", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", code="invalid_body")
    return data


MAX_TEXT = 1600  # ten concatenated SMS: more is not a reply typed on a phone
MAX_BODY = 16_384


class PayloadTooLarge(VigieError):
    status_code = 413
    code = "body_too_large"


class NotConfigured(VigieError):
    status_code = 503
    code = "inbound_sms_not_configured"


async def bounded_body(request: Request) -> bytes:
    """The body, read no further than MAX_BODY: a huge upload costs nothing before it is refused."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"the body is over {MAX_BODY} bytes", code="body_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"the body is over {MAX_BODY} bytes", code="body_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


async def take_together(request: Request, receipt: str, action: Callable[[Session, datetime], object]) -> bool:
    """`action(session, now)` once for this receipt key (False: taken before), in one transaction with the
    other callbacks of the moment (backend/inbound/together.py); answered once committed."""
    return await request.app.state.runtime.callbacks.take(receipt, action)
