"""One thread hop per request: the route, its commit and its answer's serialization together.

FastAPI runs a sync route, its dependencies' clean-up and the response's validation each in a
hop of their own through the thread pool. A transaction opened in the first and committed in
the last waits for free threads while it holds a connection (and, on SQLite, the write lock):
under a burst, the threads are all taken by requests waiting for that lock, and the one holding
it cannot get a thread to finish. Here the hop that opens the transaction also closes it.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any

from fastapi.datastructures import DefaultPlaceholder
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import ResponseValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.responses import Response

from backend.db import ReadOnlySession
from backend.deps import ARRIVED_AT, QUEUE_LIMIT, commit
from backend.errors import Unavailable


class OneHopRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = self._in_one_hop(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def _in_one_hop(self, endpoint: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(endpoint)
        def run(**kwargs: Any) -> Any:
            sessions = [value for value in kwargs.values() if isinstance(value, Session)]
            _refuse_if_waited_too_long(sessions)
            try:
                result = endpoint(**kwargs)
                response = result if isinstance(result, Response) else self._encode(result, kwargs)
                for session in sessions:
                    if session.info.get("read_only"):
                        if session.new or session.dirty or session.deleted:
                            raise ReadOnlySession(f"{endpoint.__name__} changed data in a reading session")
                        session.rollback()
                    else:
                        commit(session)
                return response
            except BaseException:
                for session in sessions:
                    session.rollback()
                raise
            finally:
                for session in sessions:
                    session.close()

        return run

    def _encode(self, result: Any, kwargs: dict[str, Any]) -> Response:
        """What FastAPI would answer for `result`, built now while the session is still open."""
        given = next((value for value in kwargs.values() if isinstance(value, Response)), None)
        status = (given.status_code if given is not None and given.status_code else None) or self.status_code or 200
        if not isinstance(self.response_class, DefaultPlaceholder):
            response = self.response_class(content=result, status_code=status)
        elif self.response_field is None:
            response = JSONResponse(jsonable_encoder(result), status_code=status)
        else:
            value, errors = self.response_field.validate(result, {}, loc=("response",))
            if errors:
                raise ResponseValidationError(errors=errors, body=result)
            body = self.response_field.serialize_json(
                value, include=self.response_model_include, exclude=self.response_model_exclude,
                by_alias=self.response_model_by_alias, exclude_unset=self.response_model_exclude_unset,
                exclude_defaults=self.response_model_exclude_defaults,
                exclude_none=self.response_model_exclude_none)
            response = Response(content=body, status_code=status, media_type="application/json")
        if status < 200 or status in (204, 205, 304):
            response = Response(status_code=status)
        if given is not None:
            for name, value in given.headers.raw:
                if name.lower() != b"content-length":
                    response.headers.raw.append((name, value))
        return response


def _refuse_if_waited_too_long(sessions: list[Session]) -> None:
    """A request that waited longer than its limit for a thread is told to come back (503): nothing was done."""
    if not sessions:
        return
    arrived, limit = sessions[0].info.get(ARRIVED_AT), sessions[0].info.get(QUEUE_LIMIT)
    if arrived is not None and limit is not None and time.monotonic() - arrived > limit:
        raise Unavailable("Vigie is too busy to take this request now", code="busy", retry_after=2)
