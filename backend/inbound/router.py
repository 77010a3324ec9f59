"""The SMS provider's callback: signed, and silent about who is on call."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from backend.db import db_now, transaction
from backend.deps import SettingsDep
from backend.errors import BadRequest, Unauthorized, Unprocessable, VigieError
from backend.inbound import service
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1/sms", tags=["sms"])

SENDER_FIELDS = ("from", "sender", "msisdn", "originator", "From")
TEXT_FIELDS = ("text", "message", "body", "Body", "content")


MAX_TEXT = 1600  # ten concatenated SMS: more is not a reply typed on a phone
MAX_BODY = 16_384


class PayloadTooLarge(VigieError):
    status_code = 413
    code = "body_too_large"


class NotConfigured(VigieError):
    status_code = 503
    code = "inbound_sms_not_configured"


def signature_of(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _fields(request: Request, body: bytes) -> dict[str, str]:
    if "json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise BadRequest("the body is not valid JSON", code="invalid_json") from exc
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object", code="invalid_body")
        return {k: str(v) for k, v in data.items() if v is not None}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


@router.post("/inbound", summary="SMS reply callback (HMAC-SHA256 of the raw body in X-Vigie-Signature)")
async def inbound_sms(request: Request, settings: SettingsDep):
    if not settings.sms_inbound_secret:
        raise NotConfigured("inbound SMS is not configured (VIGIE_SMS_INBOUND_SECRET)")
    body = await _bounded_body(request)
    given = request.headers.get("x-vigie-signature", "").removeprefix("sha256=").strip().lower()
    if not given or not hmac.compare_digest(given, signature_of(settings.sms_inbound_secret, body)):
        raise Unauthorized("missing or invalid signature", code="invalid_signature")
    fields = _fields(request, body)
    sender = next((fields[k] for k in SENDER_FIELDS if fields.get(k)), None)
    text = next((fields[k] for k in TEXT_FIELDS if k in fields), None)
    if len(text or "") > MAX_TEXT:
        raise Unprocessable(f"an SMS reply is at most {MAX_TEXT} characters", code="text_too_long")
    if not sender or text is None:
        raise BadRequest("sender and text are required", code="invalid_body",
                         details={"sender_fields": SENDER_FIELDS, "text_fields": TEXT_FIELDS})
    await run_in_threadpool(_handle, request.app.state.runtime.session_factory, sender, text)
    # The same answer whatever happened: the caller learns nothing about who is on call.
    return {"status": "received"}


async def _bounded_body(request: Request) -> bytes:
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


def _handle(factory, sender: str, text: str) -> None:
    # One hop: the write turn is taken, used and given back here.
    with transaction(factory) as session:
        service.handle_sms(db_session=session, sender=sender, text=text, now=db_now(session))
