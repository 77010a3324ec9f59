"""The live WebSocket: its first message from the client is `{"type": "auth", "token": "..."}`
(a token in the URL would reach proxies' and servers' logs, so `?token=` is refused); then
trace entries of the events the user may see, only once committed —
`{"type": "trace", "entry"}`, or `{"type": "traces", "entries": [...]}` for entries committed
together; and, for staff, `{"type": "changed", "topic": "calls" | "planning", "organization_id"}`
when those lists changed."""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select

from backend.auth import service as auth_service
from backend.auth.security import token_digest
from backend.errors import Unauthorized
from backend.events import service as event_service
from backend.events.models import Event
from backend.live.hub import REVOKED, Subscriber, encode, entry_json
from backend.routing import OneHopRoute
from backend.trace.models import TraceEntry

router = APIRouter(route_class=OneHopRoute, tags=["live"])

BACKLOG_LIMIT = 2000
AUTH_WAIT_S = 10.0  # the first message, with the token, must come within this


@router.websocket("/api/v1/ws")
async def live(websocket: WebSocket, after: int | None = None):
    """Stream trace entries; `after` (the last entry id seen) replays what was missed."""
    runtime = websocket.app.state.runtime
    if after is not None:
        after = min(max(after, 0), 2**62)  # an id past any there is: no overflow in the database
    # Accept first: a close before the handshake reaches a browser as a bare 1006, and the
    # console could not tell "log in again" from "the network dropped".
    await websocket.accept()
    if "token" in websocket.query_params:
        await _refuse(websocket, "send the token in the first message, not in the URL")
        return
    token = await _first_message_token(websocket)
    if token is None:
        await _refuse(websocket, 'authentication required: first message {"type": "auth", "token": ...}')
        return
    try:
        principal = await asyncio.to_thread(_authenticate, runtime.read_factory, token)
    except Unauthorized:
        await _refuse(websocket, "invalid or expired token")
        return
    subscriber = Subscriber(org_ids=principal.org_ids,
                            person_id=principal.person_id if principal.role == "oncall" else None)
    runtime.hub.subscribe(subscriber)  # before the backlog read: nothing falls in between
    runtime.access.watch(subscriber, token_digest(token), (principal.role, principal.user.organization_id))
    sent: set[int] = set()
    try:
        await websocket.send_json({"type": "hello", "user": principal.user.full_name})
        if after is not None:
            backlog = await asyncio.to_thread(_backlog, runtime.read_factory, subscriber, after)
            for message in backlog:
                sent.add(message["id"])
                await websocket.send_json({"type": "trace", "entry": message})
            await websocket.send_json({"type": "caught_up"})
        sender = asyncio.create_task(_forward(websocket, subscriber, sent))
        listener = asyncio.create_task(_until_disconnect(websocket))
        done, pending = await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
    except WebSocketDisconnect:
        pass
    finally:
        runtime.access.forget(subscriber)
        runtime.hub.unsubscribe(subscriber)


async def _refuse(websocket: WebSocket, reason: str) -> None:
    try:
        await websocket.close(code=4401, reason=reason)
    except (RuntimeError, WebSocketDisconnect):  # the client had gone already
        pass


async def _first_message_token(websocket: WebSocket) -> str | None:
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout=AUTH_WAIT_S)
    except (TimeoutError, WebSocketDisconnect):
        return None
    try:
        data = json.loads(message.get("text") or "")
    except ValueError:
        return None
    token = data.get("token") if isinstance(data, dict) and data.get("type") == "auth" else None
    return token if isinstance(token, str) and 0 < len(token) <= 200 else None


async def _forward(websocket: WebSocket, subscriber: Subscriber, sent: set[int]) -> None:
    while True:
        item = await subscriber.queue.get()
        if item is REVOKED or subscriber.revoked:
            code, reason = subscriber.close
            await websocket.close(code=code, reason=reason)
            return
        if isinstance(item, dict):  # a "changed" notice
            await websocket.send_json(item)
            continue
        if any(entry["id"] in sent for entry in item.entries):  # replayed by the backlog already
            fresh = [entry for entry in item.entries if entry["id"] not in sent]
            if not fresh:
                continue
            await websocket.send_text(encode(fresh))
        else:
            await websocket.send_text(item.text)
        if subscriber.overflowed:
            await websocket.close(code=4000, reason="too slow; reconnect with ?after=")
            return


async def _until_disconnect(websocket: WebSocket) -> None:
    # Clients send nothing we need; reading is how a closed connection is noticed at once.
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


def _authenticate(factory, token: str):
    with factory() as session:
        principal = auth_service.authenticate(db_session=session, token=token)
        session.expunge_all()
        session.rollback()
        return principal


def _backlog(factory, subscriber: Subscriber, after: int) -> list[dict]:
    with factory() as session:
        query = (select(TraceEntry, Event.number).join(Event, Event.id == TraceEntry.event_id)
                 .where(TraceEntry.id > after))
        if subscriber.person_id is None:
            query = query.where(TraceEntry.organization_id.in_(subscriber.org_ids))
        else:
            query = query.where(event_service.person_scope(subscriber.person_id, subscriber.org_ids))
        rows = session.execute(query.order_by(TraceEntry.id).limit(BACKLOG_LIMIT)).all()
        return [entry_json(entry, number) for entry, number in rows]
