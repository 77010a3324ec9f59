"""What the CAP routes share: a bounded XML body of an accepted type."""

from __future__ import annotations

from fastapi import Request

from backend.errors import VigieError

MAX_BODY = 65_536  # a CAP alert with its texts and areas; resources travel by URI, not inline
XML_TYPES = ("application/cap+xml", "application/xml", "text/xml")
CAP_MEDIA_TYPE = "application/cap+xml"


class PayloadTooLarge(VigieError):
    status_code = 413
    code = "body_too_large"


class UnsupportedMediaType(VigieError):
    status_code = 415
    code = "unsupported_media_type"


async def cap_body(request: Request) -> bytes:
    """The raw alert, refused before reading when its type is not XML or it is over MAX_BODY."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in XML_TYPES:
        raise UnsupportedMediaType(f"send the alert as {' or '.join(XML_TYPES[:2])}",
                                   details={"accepted": list(XML_TYPES)})
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"a CAP alert is at most {MAX_BODY} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(f"a CAP alert is at most {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
