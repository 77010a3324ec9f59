"""What an integration posts is small: a body over the limit (or of unknown length) is refused before it
is read."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_BYTES = 64 * 1024
PATHS = ("/api/v1/ingest/", "/api/v1/calls")


def _refusal(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": {"code": code, "message": message, "details": {"max_bytes": MAX_BYTES}}}
                              ).encode()


TOO_LARGE = _refusal(413, "body_too_large", f"the body exceeds {MAX_BYTES} bytes")
NO_LENGTH = _refusal(411, "length_required", "send a Content-Length")


class IngestBodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH") \
                and scope["path"].startswith(PATHS):
            length = dict(scope["headers"]).get(b"content-length")
            refusal = NO_LENGTH if length is None or not length.isdigit() else \
                TOO_LARGE if int(length) > MAX_BYTES else None
            if refusal is not None:
                status, body = refusal
                await send({"type": "http.response.start", "status": status, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
