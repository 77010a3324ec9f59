"""LISTEN on PostgreSQL and turn notifications into in-process signals (one thread per process)."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime

import psycopg

from backend.signals import CHANGED_CHANNEL, STEPS_CHANNEL, TRACE_CHANNEL, WAKE_CHANNEL, Signals, outboxes_named

log = logging.getLogger("vigie.listener")


class PgListener:
    def __init__(self, dsn: str, signals: Signals):
        self.dsn = dsn
        self.signals = signals
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vigie-pg-listener", daemon=True)
        self.ready = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {TRACE_CHANNEL}")
                    conn.execute(f"LISTEN {WAKE_CHANNEL}")
                    conn.execute(f"LISTEN {CHANGED_CHANNEL}")
                    conn.execute(f"LISTEN {STEPS_CHANNEL}")
                    self.ready.set()
                    # Whatever was committed while we were not listening is due work now.
                    self.signals.deliver_wake()
                    self.signals.deliver_steps_due(datetime.min.replace(tzinfo=UTC))
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._handle(note.channel, note.payload)
            except psycopg.Error:
                log.warning("PostgreSQL listener lost its connection; reconnecting", exc_info=True)
                self._stop.wait(1.0)

    def _handle(self, channel: str, payload: str) -> None:
        if channel == TRACE_CHANNEL:
            self.signals.deliver_trace(json.loads(payload))
        elif channel == CHANGED_CHANNEL:
            self.signals.deliver_changed([(topic, org) for topic, org in json.loads(payload)])
        elif channel == STEPS_CHANNEL:
            self.signals.deliver_steps_due(datetime.fromisoformat(payload))
        else:
            self.signals.deliver_wake(outboxes_named(payload))


def libpq_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)
