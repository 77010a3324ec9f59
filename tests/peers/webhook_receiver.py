"""A webhook receiver on loopback that checks Vigie's signature as a real receiver would."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """`answers`: status codes to give in turn (the last one repeats); `hang_s`: how long to sit on each request."""

    def __init__(self, *, answers: list[int] | None = None, hang_s: float = 0.0):
        self.secret = ""
        self.answers = list(answers or [200])
        self.hang_s = hang_s
        self.received: list[dict] = []  # every request: headers, body, whether its signature held
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                timestamp = self.headers.get("x-vigie-timestamp", "")
                expected = "sha256=" + hmac.new(receiver.secret.encode(), timestamp.encode() + b"." + body,
                                                hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(self.headers.get("x-vigie-signature", ""), expected) and \
                    abs(time.time() - int(timestamp or 0)) < 300
                with receiver._lock:
                    code = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                    receiver.received.append({"at": time.monotonic(),
                                              "headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": json.loads(body), "signed": signed, "answered": code})
                if receiver.hang_s:
                    time.sleep(receiver.hang_s)
                try:
                    self.send_response(code)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # Vigie hung up first

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.received)} requests received, {count} expected")
