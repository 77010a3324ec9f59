"""Twilio's callbacks: the SMS replies (`/twilio/inbound`) and the delivery receipts (`/twilio/status`).

Twilio signs each callback with `X-Twilio-Signature` (see `notifications.sms_twilio.signature`)
over the URL it called — Vigie's public URL (`VIGIE_PUBLIC_URL`) and this path — and the posted
fields. Twilio's signature holds no time, so a replay is refused by the message: a reply is taken
once per `MessageSid`, a receipt once per (`MessageSid`, `MessageStatus`).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from backend.deps import SettingsDep
from backend.errors import BadRequest, Forbidden, Unprocessable
from backend.inbound import service
from backend.inbound.dependencies import MAX_TEXT, CallbackGate, NotConfigured, bounded_body, take_together
from backend.outbox import receipts
from backend.routing import OneHopRoute
from notifications.sms_twilio import auth_tokens, signature_holds

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1/sms/twilio", tags=["sms"])

# An empty TwiML answer: Twilio sends nothing back by itself; Vigie's replies leave through the outbox.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _signed_fields(request: Request, settings) -> dict[str, str]:
    tokens = auth_tokens(settings.sms_providers)
    if not tokens:
        raise NotConfigured("no twilio:// SMS provider is configured (VIGIE_SMS_PROVIDERS)")
    gate = CallbackGate(request, "twilio")
    body = await bounded_body(request)
    params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    url = settings.public_url.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not signature_holds(tokens, request.headers.get("x-twilio-signature", ""), url, params):
        raise gate.refused(Forbidden("invalid X-Twilio-Signature", code="invalid_signature"))
    gate.admitted()
    return dict(params)


@router.post("/inbound", response_class=Response, summary="Twilio: an SMS reply (signed X-Twilio-Signature)",
             responses={200: {"content": {"text/xml": {}}}})
async def twilio_reply(request: Request, settings: SettingsDep):
    fields = await _signed_fields(request, settings)
    sid, sender, text = fields.get("MessageSid") or fields.get("SmsSid"), fields.get("From"), fields.get("Body")
    if not sid or not sender or text is None:
        raise BadRequest("MessageSid, From and Body are required", code="invalid_body")
    if len(text) > MAX_TEXT:
        raise Unprocessable(f"an SMS reply is at most {MAX_TEXT} characters", code="text_too_long")
    await take_together(request, f"twilio:{sid[:80]}",
                        lambda session, now: _reply(session, sender, text, now))
    return Response(EMPTY_TWIML, media_type="text/xml")


def _reply(session, sender: str, text: str, now) -> None:
    service.handle_sms(db_session=session, sender=sender, text=text, now=now)


@router.post("/status", response_class=Response, summary="Twilio: a message's delivery receipt (signed)",
             responses={200: {"content": {"text/xml": {}}}})
async def twilio_status(request: Request, settings: SettingsDep):
    fields = await _signed_fields(request, settings)
    sid, status = fields.get("MessageSid") or fields.get("SmsSid"), fields.get("MessageStatus") or fields.get("SmsStatus")
    if not sid or not status:
        raise BadRequest("MessageSid and MessageStatus are required", code="invalid_body")
    error = fields.get("ErrorCode") or ""
    if not receipts.settles(status):  # queued, sent…: answered without a write
        return Response(EMPTY_TWIML, media_type="text/xml")
    await take_together(request,
                        f"twilio:{sid[:80]}:{status[:20]}",
                        lambda session, now: receipts.record(db_session=session, provider_message_id=sid[:100],
                                                             status=status, error=error[:50],
                                                             provider="Twilio", now=now))
    return Response(EMPTY_TWIML, media_type="text/xml")
