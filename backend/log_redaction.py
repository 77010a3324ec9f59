"""The server's own log lines never carry a credential: query strings (the live socket's `?token=`),
one-tap link tokens (`/l/<token>`) and integrations' API keys (`vigie_…`, should one be put in a path by
mistake) are cut from the paths uvicorn logs."""

from __future__ import annotations

import logging
import re

SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")  # HTTP requests; WebSocket handshakes
_LINK_TOKEN = re.compile(r"^(/l/)[^/?]+")
_API_KEY = re.compile(r"(vigie_)[A-Za-z0-9_-]+")


def redact_path(path: str) -> str:
    path, question, _query = path.partition("?")
    return _API_KEY.sub(r"\1…", _LINK_TOKEN.sub(r"\1…", path)) + ("?…" if question else "")


class RedactPaths(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact_path(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                                for arg in record.args)
        return True


_FILTER = RedactPaths()


def install() -> None:
    """Once the server configured its logging (uvicorn does so before the app starts)."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
