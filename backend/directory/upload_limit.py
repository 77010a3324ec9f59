"""A directory file larger than the import takes is refused before its body is read (the form parser
would otherwise spool it whole to disk first)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from backend.directory.csv_file import MAX_BYTES

FORM_OVERHEAD = 16 * 1024  # the multipart boundaries and headers around the file
BODY = json.dumps({"error": {"code": "import_too_large", "message": f"le fichier dépasse {MAX_BYTES // 1024} Ko : "
                             "découpez-le", "details": None}}, ensure_ascii=False).encode()


class DirectoryUploadLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and "/directory-imports" in scope["path"]:
            length = dict(scope["headers"]).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > MAX_BYTES + FORM_OVERHEAD:
                await send({"type": "http.response.start", "status": 413, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode()),
                    (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": BODY})
                return
        await self.app(scope, receive, send)
