"""An HTTP SMS gateway on 127.0.0.1 (a real server in a thread), recording every request.

Each request is kept (method, path, query, headers, raw body, and the body parsed as JSON or as
a form), with the status it was answered: 200 by default, or whatever `status` is set to (500 to
make a provider fail and prove the failover). `delay_s` holds each answer back.

    with SmsGateway() as gateway:
        channel = SmsChannel([gateway.apprise_url()])
        ...  # send
        (request,) = gateway.wait_for(1)
        request.json["to"], request.json["text"]
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class GatewayRequest:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int  # what the gateway answered
    json: object = None  # the body parsed as JSON, when it is JSON
    form: dict[str, list[str]] | None = None  # the body parsed as a form, when it is one
    at: float = field(default_factory=time.monotonic)

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


class SmsGateway:
    def __init__(self, status: int = 200, delay_s: float = 0.0, host: str = "127.0.0.1") -> None:
        self.status = status
        self.delay_s = delay_s
        self.requests: list[GatewayRequest] = []
        self.arrived = 0  # requests received, counted before `delay_s` (a slow gateway lists them after)
        self._cond = threading.Condition()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                parsed_json, form = None, None
                if content_type == "application/json" or body[:1] in (b"{", b"["):
                    try:
                        parsed_json = json.loads(body.decode("utf-8"))
                    except (UnicodeDecodeError, ValueError):
                        parsed_json = None
                if content_type == "application/x-www-form-urlencoded":
                    form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
                # A body cut short (its sender killed while writing it) is refused, as a provider would.
                status = gateway.status if len(body) == length else 400
                with gateway._cond:
                    gateway.arrived += 1
                if gateway.delay_s:
                    time.sleep(gateway.delay_s)
                request = GatewayRequest(self.command, split.path, parse_qs(split.query, keep_blank_values=True),
                                         dict(self.headers.items()), body, status, parsed_json, form)
                with gateway._cond:  # recorded before the answer: the sender sees it once answered
                    gateway.requests.append(request)
                    number = len(gateway.requests)
                    gateway._cond.notify_all()
                answer = json.dumps({"status": "queued" if request.accepted else "error",
                                     "id": f"msg-{number}"}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (timeout tests)

            do_POST = do_PUT = do_GET = do_PATCH = _handle

            def log_message(self, format, *args):  # noqa: A002 - silence the access log
                pass

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def apprise_url(self, path: str = "/sms", extra: str = "") -> str:
        """`json://` URL template for this gateway: fields `to` (the `{to}` placeholder) and `text`."""
        url = f"json://{self.host}:{self.port}{path}?:to={{to}}&:message=text"
        return url + (f"&{extra}" if extra else "")

    @property
    def accepted(self) -> list[GatewayRequest]:
        with self._cond:
            return [r for r in self.requests if r.accepted]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[GatewayRequest]:
        """The first `count` requests, waiting up to `timeout` s for them; AssertionError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} request(s) at {self.origin}, got {len(self.requests)}")
                self._cond.wait(left)
            return list(self.requests[:count])

    def start(self) -> SmsGateway:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=f"sms-gateway-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SmsGateway:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (just released by the OS): connections to it are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
