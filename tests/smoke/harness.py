"""A real server on loopback for whole-system tests, and small waiting helpers."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """Runs an ASGI app under uvicorn in a thread, lifespan included."""

    def __init__(self, app, port: int | None = None):
        self.app = app
        self.port = port or free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=15, what="server start")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    def client(self, headers: dict | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers or {}, timeout=10)


def wait_until(predicate, *, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def login(base: httpx.Client, email: str, password: str) -> dict[str, str]:
    response = base.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class LiveFeed:
    """A WebSocket client collecting trace entries (and "changed" notices) in a thread."""

    def __init__(self, ws_url: str, token: str, after: int | None = None):
        from websockets.sync.client import connect

        query = f"?after={after}" if after is not None else ""
        self.connection = connect(f"{ws_url}/api/v1/ws{query}", open_timeout=10)
        self.connection.send(json.dumps({"type": "auth", "token": token}))
        self.entries: list[dict] = []
        self.changed: list[tuple[str, int]] = []  # (topic, organization_id) of "changed" messages
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for raw in self.connection:
                message = json.loads(raw)
                if message.get("type") == "trace":
                    self.entries.append(message["entry"])
                elif message.get("type") == "traces":
                    self.entries.extend(message["entries"])
                elif message.get("type") == "changed":
                    self.changed.append((message["topic"], message["organization_id"]))
        except Exception:
            pass
        finally:
            self.closed.set()

    def ids(self) -> set[int]:
        return {e["id"] for e in self.entries}

    def close(self) -> None:
        self.connection.close()
        self.thread.join(5)
