"""Turn every error into the one JSON shape; nothing but a real bug is a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.errors import TooManyRequests, Unavailable, VigieError
from backend.sqlite_writer import Busy

log = logging.getLogger("vigie.api")

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
              422: "invalid_input", 429: "too_many_requests"}


def _body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def install(app: FastAPI) -> None:
    @app.exception_handler(VigieError)
    async def _vigie_error(_request: Request, exc: VigieError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        if isinstance(exc, Unavailable | TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)

    # Waiting too long for the database, or a database that does not answer, is not a bug of the
    # request: the phone and the console try again after Retry-After, and nothing was written.
    @app.exception_handler(Busy)
    @app.exception_handler(sa_exc.TimeoutError)
    async def _busy(_request: Request, exc: Exception):
        log.warning("busy: %s", exc)
        return _unavailable(Unavailable("Vigie is too busy to take this request now", code="busy",
                                        retry_after=2))

    @app.exception_handler(sa_exc.OperationalError)
    @app.exception_handler(sa_exc.InterfaceError)
    async def _database_down(_request: Request, exc: Exception):
        sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
        # SQLite: another process kept the write lock past the busy timeout; PostgreSQL: a deadlock
        # victim, a serialization failure, a lock or statement timeout.
        if "locked" in str(exc).lower() or sqlstate.startswith(("40", "55", "57014")):
            log.warning("database busy: %s %s", exc.__class__.__name__, sqlstate)
            return _unavailable(Unavailable("the database is busy", code="busy", retry_after=2))
        log.error("database unreachable: %s", str(exc).splitlines()[0][:300])
        return _unavailable(Unavailable("the database cannot be reached", code="database_unavailable",
                                        retry_after=5))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError):
        details = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return JSONResponse(_body("invalid_input", "the request is not valid", details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException):
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(_body("internal_error", "internal error"), status_code=500)


def _unavailable(exc: Unavailable) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=503, headers={"Retry-After": str(exc.retry_after)})
