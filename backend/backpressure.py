"""Say "come back later" at once when a process already holds more requests than it can serve."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

BODY = json.dumps({"error": {"code": "busy", "message": "Vigie is too busy to take this request now",
                             "details": None}}).encode()


class PendingLimit:
    """Counts the API requests in flight; beyond `limit`, answers 503 + Retry-After without reading the body."""

    def __init__(self, app: ASGIApp, *, limit: int, retry_after_s: int = 2) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = str(retry_after_s).encode()
        self.in_flight = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.refused += 1
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"retry-after", self.retry_after),
                (b"content-length", str(len(BODY)).encode())]})
            await send({"type": "http.response.body", "body": BODY})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
