"""An SMSEagle gateway's « Callback URL »: the SMS it received, forwarded to Vigie.

SMSEagle (a hardware SMS gateway a PC hosts on its own network) calls by GET or POST with
`sender`, `timestamp` (YYYYmmddHHiiss), `text`, `msgid` and, when set in its settings, `apikey`
— its only credential, compared here with `VIGIE_SMSEAGLE_CALLBACK_KEY` (keep the gateway and
Vigie on the PC's network, or the callback on HTTPS). It retries for 24 h until it gets a 200: a
message is taken once per `msgid`, so the retries and a replay do nothing again. SMSEagle sends
through Apprise's `smseagle://TOKEN@host/{to}` (its JSON-RPC API); it reports no delivery.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request

from backend.deps import SettingsDep
from backend.errors import BadRequest, Forbidden, Unprocessable
from backend.inbound import service
from backend.inbound.dependencies import MAX_TEXT, CallbackGate, NotConfigured, bounded_body, take_together
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1/sms/smseagle", tags=["sms"])


def _number(sender: str) -> str:
    """SMSEagle gives the number as the network did: `48601123123`, `+33639…` or `0639…`."""
    sender = sender.strip()
    return f"+{sender}" if sender.isdigit() and not sender.startswith("0") else sender


async def _received(request: Request, settings) -> dict:
    if not settings.smseagle_callback_key:
        raise NotConfigured("the SMSEagle callback is not configured (VIGIE_SMSEAGLE_CALLBACK_KEY)")
    gate = CallbackGate(request, "smseagle")
    body = await bounded_body(request)
    fields = dict(parse_qsl(request.url.query, keep_blank_values=True))
    fields |= dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if not hmac.compare_digest(fields.get("apikey", "").encode(), settings.smseagle_callback_key.encode()):
        raise gate.refused(Forbidden("invalid apikey", code="invalid_signature"))
    gate.admitted()
    message_id, sender, text = fields.get("msgid"), fields.get("sender"), fields.get("text")
    if not message_id or not sender or text is None:
        raise BadRequest("msgid, sender and text are required", code="invalid_body")
    if len(text) > MAX_TEXT:
        raise Unprocessable(f"an SMS reply is at most {MAX_TEXT} characters", code="text_too_long")
    await take_together(request, f"smseagle:{message_id[:80]}",
                        lambda session, now: service.handle_sms(db_session=session, sender=_number(sender),
                                                                text=text, now=now))
    return {"status": "received"}


@router.get("/inbound", summary="SMSEagle's Callback URL by GET (sender, timestamp, text, msgid, apikey)")
async def smseagle_get(request: Request, settings: SettingsDep):
    return await _received(request, settings)


@router.post("/inbound", summary="SMSEagle's Callback URL by POST (the same fields, as a form)")
async def smseagle_post(request: Request, settings: SettingsDep):
    return await _received(request, settings)
