"""The SMS provider's callback: signed with a timestamp, taken once, and silent about who is on call.

`X-Vigie-Timestamp` is the Unix time of sending; `X-Vigie-Signature` is `sha256=` and the hex
HMAC-SHA256, under the shared secret, of the timestamp, a dot and the raw body. A callback out of
the tolerance window is refused; one already taken (same provider message id, or same signature
when the provider gives none) is answered as received and does nothing again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from urllib.parse import parse_qs

from fastapi import APIRouter, Request

from backend.deps import SettingsDep
from backend.errors import BadRequest, Unauthorized, Unprocessable
from backend.inbound import service
from backend.inbound.dependencies import MAX_TEXT, CallbackGate, NotConfigured, bounded_body, json_object, take_together
from backend.routing import OneHopRoute

log = logging.getLogger("vigie.inbound")

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1/sms", tags=["sms"])

SENDER_FIELDS = ("from", "sender", "msisdn", "originator", "From")
TEXT_FIELDS = ("text", "message", "body", "Body", "content")


ID_FIELDS = ("message_id", "messageId", "MessageSid", "msgid", "id")


def signature_of(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, at: float | None = None) -> dict[str, str]:
    """What a relay or a test sends with `body`."""
    timestamp = str(int(time.time() if at is None else at))
    return {"x-vigie-timestamp": timestamp, "x-vigie-signature": "sha256=" + signature_of(secret, timestamp, body)}


def _check_signature(request: Request, secret: str, tolerance_s: int, body: bytes) -> str:
    """The signature, once it holds for this body at a time within the window."""
    timestamp = request.headers.get("x-vigie-timestamp", "").strip()
    given = request.headers.get("x-vigie-signature", "").removeprefix("sha256=").strip().lower()
    if not timestamp.isdigit() or len(timestamp) > 12 or not given:
        raise Unauthorized("missing signature or timestamp", code="invalid_signature")
    if not hmac.compare_digest(given, signature_of(secret, timestamp, body)):
        raise Unauthorized("invalid signature", code="invalid_signature")
    if abs(time.time() - int(timestamp)) > tolerance_s:
        raise Unauthorized(f"the signed timestamp is more than {tolerance_s} s away", code="stale_signature")
    return given


def _fields(request: Request, body: bytes) -> dict[str, str]:
    if "json" in request.headers.get("content-type", ""):
        data = json_object(body)
        return {k: str(v) for k, v in data.items() if v is not None}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


@router.post("/inbound", summary="SMS reply callback (X-Vigie-Timestamp, and X-Vigie-Signature: "
             "sha256= HMAC-SHA256 of the timestamp, '.' and the raw body)")
async def inbound_sms(request: Request, settings: SettingsDep):
    if not settings.sms_inbound_secret:
        raise NotConfigured("inbound SMS is not configured (VIGIE_SMS_INBOUND_SECRET)")
    gate = CallbackGate(request, "vigie-signed")
    body = await bounded_body(request)
    try:
        signature = _check_signature(request, settings.sms_inbound_secret, settings.sms_inbound_tolerance_s, body)
    except Unauthorized as refusal:
        raise gate.refused(refusal) from None
    gate.admitted()
    fields = _fields(request, body)
    provider_id = next((fields[k] for k in ID_FIELDS if fields.get(k)), None)
    receipt = f"id:{provider_id[:100]}" if provider_id else f"sig:{signature}"
    sender = next((fields[k] for k in SENDER_FIELDS if fields.get(k)), None)
    text = next((fields[k] for k in TEXT_FIELDS if k in fields), None)
    if len(text or "") > MAX_TEXT:
        raise Unprocessable(f"an SMS reply is at most {MAX_TEXT} characters", code="text_too_long")
    if not sender or text is None:
        raise BadRequest("sender and text are required", code="invalid_body",
                         details={"sender_fields": SENDER_FIELDS, "text_fields": TEXT_FIELDS})
    await take_together(request, receipt,
                        lambda session, now: service.handle_sms(db_session=session, sender=sender, text=text,
                                                                now=now))
    # The same answer whatever happened: the caller learns nothing about who is on call.
    return {"status": "received"}
