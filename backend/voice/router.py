"""Twilio's calls to Vigie during a call: what to say (`/twiml`), the key pressed (`/gather`), the end (`/status`).

Each is signed with `X-Twilio-Signature` over the URL called and the posted fields; the pick-up and the
end carry Twilio's answering machine detection (`AnsweredBy`). Twilio's
signature holds no time, so each is taken once: the pick-up per call, a key per call and round, an
end per call and status. A copy gets the call's words again, and changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from backend.db import db_now, transaction
from backend.deps import SettingsDep
from backend.inbound.dependencies import take_together
from backend.orgs.schemas import Id
from backend.routing import OneHopRoute
from backend.voice import service
from backend.voice.dependencies import answered_by_of, gather_url, signed_call_fields
from notifications import voice_twiml
from notifications.voice_twilio import PREFIX

router = APIRouter(route_class=OneHopRoute, prefix=PREFIX, tags=["voice"])
TWIML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/xml": {}}}}
PROVIDER = "Twilio"
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _xml(text: str) -> Response:
    return Response(text, media_type="text/xml")


@router.post("/{notification_id}/twiml", response_class=Response, responses=TWIML,
             summary="Twilio: a call was picked up; what to say (signed)")
async def call_twiml(notification_id: Id, request: Request, settings: SettingsDep):
    fields = await signed_call_fields(request, settings)
    factory, sid = request.app.state.runtime.session_factory, fields["CallSid"]
    urls, answered_by = gather_url(settings.public_url, notification_id), answered_by_of(fields)

    said: list[str] = []
    if await take_together(request, f"twilio-call:{sid}:answered", lambda session, now: said.append(service.answered(
            db_session=session, notification_id=notification_id, call_sid=sid, answered_by=answered_by,
            gather_url=urls, provider=PROVIDER, now=now))):
        return _xml(said[0])

    def again() -> str:
        with transaction(factory) as session:  # a copy: the same words, nothing traced again
            return service.answered(db_session=session, notification_id=notification_id, call_sid=sid,
                                    answered_by=answered_by, gather_url=urls, provider=PROVIDER,
                                    now=db_now(session), trace=False)

    return _xml(await run_in_threadpool(again))


@router.post("/{notification_id}/gather", response_class=Response, responses=TWIML,
             summary="Twilio: the key pressed during a call (signed)")
async def call_gather(notification_id: Id, request: Request, settings: SettingsDep,
                      round_: int = Query(1, alias="round", ge=1, le=voice_twiml.ROUNDS)):
    fields = await signed_call_fields(request, settings)
    sid, digits = fields["CallSid"], fields.get("Digits", "")[:8]
    urls = gather_url(settings.public_url, notification_id)
    said: list[str] = []
    taken = await take_together(
        request, f"twilio-call:{sid}:key:{round_}",
        lambda session, now: said.append(service.key(db_session=session, notification_id=notification_id,
                                                      call_sid=sid, digits=digits, round_=round_,
                                                      gather_url=urls, now=now)))
    return _xml(said[0] if taken else voice_twiml.farewell(voice_twiml.ALREADY_ANSWERED))


@router.post("/{notification_id}/status", response_class=Response, responses=TWIML,
             summary="Twilio: a call's progress and end (signed)")
async def call_status(notification_id: Id, request: Request, settings: SettingsDep):
    fields = await signed_call_fields(request, settings)
    sid, status = fields["CallSid"], fields.get("CallStatus", "").strip().lower()[:20]
    duration = fields.get("CallDuration", "")
    await take_together(
        request, f"twilio-call:{sid}:{status}",
        lambda session, now: service.ended(db_session=session, notification_id=notification_id, call_sid=sid,
                                           status=status, answered_by=answered_by_of(fields),
                                           duration_s=int(duration[:7]) if duration[:7].isdigit() else None,
                                           provider=PROVIDER, now=now))
    return _xml(EMPTY)
