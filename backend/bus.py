"""Signals between the processes sharing one SQLite file — what LISTEN/NOTIFY does on PostgreSQL.

Each process binds a Unix datagram socket in a directory named after the database file, and
after each commit sends what it signals to every other socket there. A signal only wakes a
loop or makes the live feed read the database again, so a lost datagram costs a delay (the
loops also look on their own every second), never a message or a step.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from backend.signals import Signals, outboxes_named

log = logging.getLogger("vigie.bus")

DATAGRAM_LIMIT = 60_000  # below the default SO_SNDBUF of a Unix datagram socket
PEERS_TTL_S = 1.0  # how long the list of peers is trusted before the directory is read again


def bus_directory(database_path: str) -> Path:
    # Short and fixed: a Unix socket path is limited to 108 bytes, and every process on the same
    # file must find the same directory.
    digest = hashlib.sha256(str(Path(database_path).resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"vigie-bus-{digest}"


class LocalBus:
    def __init__(self, directory: Path, signals: Signals):
        self.directory = directory
        self.signals = signals
        self.path = directory / f"{os.getpid()}-{secrets.token_hex(3)}.sock"
        self._socket: socket.socket | None = None
        self._peers: list[str] = []
        self._peers_read_at = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vigie-local-bus", daemon=True)

    def start(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, exist_ok=True)
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.bind(str(self.path))
        except OSError:
            # Without the bus the processes still work: each loop looks every second on its own.
            log.warning("no local bus in %s: the processes on this file will only poll", self.directory,
                        exc_info=True)
            self._socket = None
            return
        self._socket.settimeout(0.5)
        self.signals.publish_to(self.publish)
        self._thread.start()
        # Whatever was committed before this process listened is due work now.
        self.signals.deliver_wake()
        self.signals.deliver_steps_due(datetime.min.replace(tzinfo=UTC))

    def stop(self) -> None:
        self._stop.set()
        self.signals.publish_to(None)
        if self._thread.is_alive():
            self._thread.join(2)
        if self._socket is not None:
            self._socket.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
        with contextlib.suppress(OSError):  # the last process on the file leaves nothing behind
            self.directory.rmdir()

    def publish(self, message: dict) -> None:
        """Send `message` to every other process on the file (called after a commit, any thread)."""
        if self._socket is None:
            return
        data = json.dumps(message).encode()
        if len(data) > DATAGRAM_LIMIT:  # only trace ids make it long, and peers read by position
            data = json.dumps({**message, "trace": True}).encode()
        for peer in self._current_peers():
            try:
                self._socket.sendto(data, peer)
            except (ConnectionRefusedError, FileNotFoundError):  # that process is gone
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(peer)
                self._peers_read_at = 0.0
            except BlockingIOError:  # its queue is full: it is already awake with work to read
                pass
            except OSError:
                log.warning("could not signal %s", peer, exc_info=True)

    def _current_peers(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            if now - self._peers_read_at > PEERS_TTL_S:
                mine = str(self.path)
                self._peers = [str(p) for p in self.directory.glob("*.sock") if str(p) != mine]
                self._peers_read_at = now
            return self._peers

    def _run(self) -> None:
        assert self._socket is not None
        while not self._stop.is_set():
            try:
                data = self._socket.recv(DATAGRAM_LIMIT + 1024)
            except TimeoutError:
                continue
            except OSError:
                if not self._stop.is_set():
                    log.warning("local bus socket failed", exc_info=True)
                return
            try:
                self._deliver(json.loads(data))
            except Exception:
                log.exception("bad message on the local bus")

    def _deliver(self, message: dict) -> None:
        if message.get("changed"):
            self.signals.deliver_changed([(topic, org) for topic, org in message["changed"]])
        if message.get("trace"):
            self.signals.deliver_trace(message["trace"] if isinstance(message["trace"], list) else [])
        wake = message.get("wake")
        if wake:  # (a process of the previous version sends `true`: every outbox)
            self.signals.deliver_wake(outboxes_named(wake if isinstance(wake, str) else ""))
        if message.get("steps"):
            self.signals.deliver_steps_due(datetime.fromisoformat(message["steps"]))
