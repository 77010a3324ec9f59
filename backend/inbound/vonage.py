"""Vonage's SMS API callbacks: replies (`/vonage/inbound`) and delivery receipts (`/vonage/status`).

Vonage calls by GET (the fields in the query) or POST (a form, or JSON), as the account is set.
With signed webhooks on, the fields carry `sig` (see `notifications.sms_vonage.signature`) and a
`timestamp`: a callback whose signature does not hold under a configured signature secret, or
signed further than `VIGIE_SMS_INBOUND_TOLERANCE_S` from now, is refused. A reply is taken once per
`messageId`, a receipt once per (`messageId`, `status`). Numbers come without `+` (`msisdn`).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request

from backend.deps import SettingsDep
from backend.errors import BadRequest, Forbidden, Unauthorized, Unprocessable
from backend.inbound import service
from backend.inbound.dependencies import MAX_TEXT, CallbackGate, NotConfigured, bounded_body, json_object, take_together
from backend.outbox import receipts
from backend.routing import OneHopRoute
from notifications.sms_vonage import signature_holds, signing_accounts

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1/sms/vonage", tags=["sms"])


async def _signed_fields(request: Request, settings) -> dict[str, str]:
    accounts = signing_accounts(settings.sms_providers)
    if not accounts:
        raise NotConfigured("no vonage:// SMS provider with a signature_secret is configured (VIGIE_SMS_PROVIDERS)")
    gate = CallbackGate(request, "vonage")
    body = await bounded_body(request)
    fields = dict(parse_qsl(request.url.query, keep_blank_values=True))
    if body and "json" in request.headers.get("content-type", ""):
        data = json_object(body)
        fields |= {k: str(v) for k, v in data.items() if v is not None}
    elif body:
        fields |= dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not signature_holds(accounts, fields):
        raise gate.refused(Forbidden("invalid Vonage signature (sig)", code="invalid_signature"))
    stamp = fields.get("timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > settings.sms_inbound_tolerance_s:
        raise gate.refused(Unauthorized(f"the signed timestamp is more than {settings.sms_inbound_tolerance_s} s away",
                                        code="stale_signature"))
    gate.admitted()
    return fields


def _number(msisdn: str) -> str:
    return f"+{msisdn}" if msisdn.isdigit() else msisdn


@router.get("/inbound", summary="Vonage: an SMS reply (signed webhook, sig), as a query")
@router.post("/inbound", summary="Vonage: an SMS reply (signed webhook, sig), as a form or JSON")
async def vonage_reply(request: Request, settings: SettingsDep):
    fields = await _signed_fields(request, settings)
    message_id, sender, text = fields.get("messageId"), fields.get("msisdn"), fields.get("text")
    if not message_id or not sender or text is None:
        raise BadRequest("messageId, msisdn and text are required", code="invalid_body")
    if len(text) > MAX_TEXT:
        raise Unprocessable(f"an SMS reply is at most {MAX_TEXT} characters", code="text_too_long")
    await take_together(request, f"vonage:{message_id[:80]}",
                        lambda session, now: service.handle_sms(db_session=session, sender=_number(sender),
                                                                text=text, now=now))
    return {"status": "received"}


@router.get("/status", summary="Vonage: a delivery receipt (signed webhook, sig), as a query")
@router.post("/status", summary="Vonage: a delivery receipt (signed webhook, sig), as a form or JSON")
async def vonage_status(request: Request, settings: SettingsDep):
    fields = await _signed_fields(request, settings)
    message_id, status = fields.get("messageId"), fields.get("status")
    if not message_id or not status:
        raise BadRequest("messageId and status are required", code="invalid_body")
    error = fields.get("err-code", "")
    if not receipts.settles(status):  # accepted, buffered…: answered without a write
        return {"status": "received"}
    await take_together(request,
                        f"vonage:{message_id[:80]}:{status[:20]}",
                        lambda session, now: receipts.record(
                            db_session=session, provider_message_id=message_id[:100], status=status,
                            error="" if error in ("", "0") else error[:50], provider="Vonage", now=now))
    return {"status": "received"}
