"""Vigie's errors: one base carrying its HTTP status, one JSON shape.

VigieError (500)
├── BadRequest (400)
├── Unauthorized (401)
├── Forbidden (403)
├── NotFound (404)        also every cross-tenant access
├── Conflict (409)        an illegal state transition, a duplicate
├── Unprocessable (422)   input that parses but breaks a business rule
├── TooManyRequests (429) over a rate limit: come back after `retry_after` s
└── Unavailable (503)     too busy, or the database is unreachable: come back after `retry_after` s

Every error answers `{"error": {"code": ..., "message": ..., "details": ...}}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class VigieError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def body(self) -> dict:
        # Always the same three keys: clients can rely on the shape.
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(VigieError):
    status_code = 400
    code = "bad_request"


class Unauthorized(VigieError):
    status_code = 401
    code = "unauthorized"


class Forbidden(VigieError):
    status_code = 403
    code = "forbidden"


class NotFound(VigieError):
    status_code = 404
    code = "not_found"

    def __init__(self, what: str = "resource", **kwargs):
        super().__init__(f"{what} not found", **kwargs)


class Conflict(VigieError):
    status_code = 409
    code = "conflict"


class Unprocessable(VigieError):
    status_code = 422
    code = "unprocessable"


class Gone(VigieError):
    status_code = 410
    code = "gone"


class Unavailable(VigieError):
    status_code = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 2, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TooManyRequests(VigieError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


# The error body as the API document shows it; every route may answer these statuses.
class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {status: {"model": ErrorOut, "description": text} for status, text in {
    400: "malformed request", 401: "not authenticated, or the token was revoked or expired",
    403: "your role does not allow this", 404: "not found, or in another tenant",
    409: "conflicts with the current state", 422: "invalid input, or refused by a business rule",
    503: "too busy or the database is unreachable: retry after Retry-After seconds"}.items()}
