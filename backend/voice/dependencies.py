"""What the call routes share: Twilio's signed form, read within bounds, and the URLs a call is given."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request

from backend.errors import BadRequest, Forbidden, VigieError
from backend.inbound.dependencies import CallbackGate, bounded_body
from notifications.sms_twilio import auth_tokens, signature_holds
from notifications.voice_twilio import call_urls

MAX_SID = 64  # Twilio's SIDs are 34 characters


class VoiceNotConfigured(VigieError):
    status_code = 503
    code = "voice_not_configured"


async def signed_call_fields(request: Request, settings) -> dict[str, str]:
    """The posted fields, once `X-Twilio-Signature` holds under a configured voice account's token."""
    tokens = auth_tokens(settings.voice_providers)
    if not tokens:
        raise VoiceNotConfigured("no voice provider is configured (VIGIE_VOICE_PROVIDERS)")
    gate = CallbackGate(request, "twilio-voice")
    body = await bounded_body(request)
    params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    url = settings.public_url.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not signature_holds(tokens, request.headers.get("x-twilio-signature", ""), url, params):
        raise gate.refused(Forbidden("invalid X-Twilio-Signature", code="invalid_signature"))
    gate.admitted()
    fields = dict(params)
    sid = fields.get("CallSid", "")
    if not sid or len(sid) > MAX_SID:
        raise BadRequest("CallSid is required", code="invalid_body")
    return fields


def answered_by_of(fields: dict[str, str]) -> str:
    """Twilio's answering machine detection: human, machine_start, fax, unknown… ('' without detection)."""
    return fields.get("AnsweredBy", "").strip().lower()[:40]


def gather_url(public_url: str, notification_id: int):
    """Where the key pressed during round n of the call is posted."""
    base = call_urls(public_url, notification_id)["gather"]
    return lambda round_: f"{base}?round={round_}"
