"""Octopush's callbacks: delivery receipts (`/octopush/status`) and replies (`/octopush/inbound`).

Octopush posts JSON to URLs set once in its interface (« Callbacks »): a receipt is `message_id` (the
ticket of the SMS sent), `number`, `status` (DELIVERED, NOT_DELIVERED, NOT_ALLOWED, BAD_DESTINATION,
BLACKLISTED_NUMBER, ACK, UNKNOWN_DELIVERY, UNDEFINED), `delivery_date` — dev.octopush.com/en/
sms-gateway-api-documentation/callbacks/acknowledge-receipt; a reply is `message_id` (the ticket of
the SMS answered, when found), `number`, `text`, `sim_card_number`, `reception_date` — …/inbounds/
(older pages name the date `answer_date`). It asks for an answer with no content, within a second.

Octopush signs nothing, and its documentation gives no addresses its callbacks come from (an
allow-list would rest on a guess that breaks when it moves): the only credential it can carry is one
Vigie puts in the URL it is given. So each URL ends in `?key=` and a long random key
(`VIGIE_OCTOPUSH_CALLBACK_KEY`, 32+ characters), compared in constant time. In a query, not the path:
the server's log lines drop every query (`backend/log_redaction.py`); a reverse proxy in front must
not log it either. The key does not prove freshness: a receipt is taken once per (`message_id`,
`status`), and a reply once per its content (`message_id`, `number`, date and text — it has no id of
its own), so a replay or Octopush's retry does nothing again. Numbers come as `+33…`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from backend.deps import SettingsDep
from backend.errors import BadRequest, Forbidden, Unprocessable
from backend.inbound import service
from backend.inbound.dependencies import MAX_TEXT, CallbackGate, NotConfigured, bounded_body, json_object, take_together
from backend.outbox import receipts
from backend.routing import OneHopRoute

router = APIRouter(route_class=OneHopRoute, prefix="/api/v1/sms/octopush", tags=["sms"])

EMPTY: dict[int | str, dict[str, Any]] = {200: {"description": "received (an empty body: Octopush wants nothing displayed)"}}


async def _fields(request: Request, settings) -> dict[str, str]:
    if not settings.octopush_callback_key:
        raise NotConfigured("the Octopush callbacks are not configured (VIGIE_OCTOPUSH_CALLBACK_KEY)")
    gate = CallbackGate(request, "octopush")
    given = request.query_params.get("key", "")
    if not hmac.compare_digest(given.encode(), settings.octopush_callback_key.encode()):
        raise gate.refused(Forbidden("missing or invalid callback key", code="invalid_signature"))
    gate.admitted()
    body = await bounded_body(request)
    if body.lstrip().startswith(b"{"):
        data = json_object(body)
        return {k: str(v) for k, v in data.items() if isinstance(v, str | int | float) and not isinstance(v, bool)}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _number(number: str) -> str:
    number = number.strip()
    return f"+{number}" if number.isdigit() and not number.startswith("0") else number


@router.post("/status", response_class=Response, responses=EMPTY,
             summary="Octopush: a delivery receipt (JSON; the URL carries ?key=VIGIE_OCTOPUSH_CALLBACK_KEY)")
async def octopush_status(request: Request, settings: SettingsDep):
    fields = await _fields(request, settings)
    ticket, status = fields.get("message_id"), fields.get("status")
    if not ticket or not status:
        raise BadRequest("message_id and status are required", code="invalid_body")
    if not receipts.settles(status):  # ACK, UNKNOWN_DELIVERY…: answered without a write
        return Response(status_code=200)
    await take_together(request,
                        f"octopush:{ticket[:80]}:{status[:20]}",
                        lambda session, now: receipts.record(db_session=session, provider_message_id=ticket[:100],
                                                             status=status, error="", provider="Octopush", now=now))
    return Response(status_code=200)


@router.post("/inbound", response_class=Response, responses=EMPTY,
             summary="Octopush: an SMS reply (JSON; the URL carries ?key=VIGIE_OCTOPUSH_CALLBACK_KEY)")
async def octopush_reply(request: Request, settings: SettingsDep):
    fields = await _fields(request, settings)
    number, text = fields.get("number"), fields.get("text")
    if not number or text is None:
        raise BadRequest("number and text are required", code="invalid_body")
    if len(text) > MAX_TEXT:
        raise Unprocessable(f"an SMS reply is at most {MAX_TEXT} characters", code="text_too_long")
    received = fields.get("reception_date") or fields.get("answer_date") or ""
    content = "\x1f".join((fields.get("message_id", ""), number, received, text))
    await take_together(request,
                        "octopush:in:" + hashlib.sha256(content.encode()).hexdigest(),
                        lambda session, now: service.handle_sms(db_session=session, sender=_number(number),
                                                                text=text, now=now))
    return Response(status_code=200)
