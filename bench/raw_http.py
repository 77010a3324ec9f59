"""A storm's many phones from one bench process, at a small cost in the client.

httpx spends ~1–2 ms of the client's CPU on a request; 400 of them at once were most of what the
answers storm measured (its « floor »). Here each request is encoded before the storm and sent
as bytes on a connection of its own (`Connection: close`, as a phone arriving cold), and only the
status line is parsed: the server's time is what is left.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Prepared:
    kind: str
    host: str
    port: int
    raw: bytes


def prepare(kind: str, method: str, url: str, *, headers: dict[str, str] | None = None,
            json_body: dict | None = None) -> Prepared:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    body = json.dumps(json_body).encode() if json_body is not None else b""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close", "Accept: */*"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if json_body is not None:
        lines += ["Content-Type: application/json"]
    lines += [f"Content-Length: {len(body)}"]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    return Prepared(kind, parts.hostname or "127.0.0.1", parts.port or 80, raw)


class Answer(NamedTuple):
    kind: str
    status: int | str  # the HTTP status, or "timeout", or the error's name
    ms: float  # from the request's sending
    sent: float  # when, on the wall clock
    detail: str = ""  # what a refusal said


async def send(request: Prepared, timeout_s: float) -> Answer:
    sent, start = time.time(), time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(request.host, request.port)
            try:
                writer.write(request.raw)
                answer = await reader.read()  # the server closes after its answer
            finally:
                writer.close()
    except TimeoutError:
        return Answer(request.kind, "timeout", (time.perf_counter() - start) * 1000, sent)
    except OSError as exc:
        return Answer(request.kind, type(exc).__name__, (time.perf_counter() - start) * 1000, sent, str(exc)[:200])
    ms = (time.perf_counter() - start) * 1000
    head, _, body = answer.partition(b"\r\n\r\n")
    try:
        status: int | str = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return Answer(request.kind, "bad answer", ms, sent, head[:200].decode(errors="replace"))
    detail = body[:200].decode(errors="replace") if status >= 400 else ""
    return Answer(request.kind, status, ms, sent, detail)
