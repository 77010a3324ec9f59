"""A channel for tests: records every message and answers from a script."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from notifications.base import ChannelKind, OutboundMessage, SendResult

Script = Callable[[OutboundMessage], SendResult]


class RecordingChannel:
    def __init__(self, kind: ChannelKind, script: Script | None = None, delay_s: float = 0.0) -> None:
        self.kind = ChannelKind(kind)
        self.script = script
        self.delay_s = delay_s
        self._lock = threading.Lock()
        self._sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        with self._lock:
            self._sent.append(message)
        return self.script(message) if self.script else SendResult.delivered("recorded")

    @property
    def sent(self) -> list[OutboundMessage]:
        with self._lock:
            return list(self._sent)

    def to(self, address: str) -> list[OutboundMessage]:
        return [m for m in self.sent if m.address == address]

    def clear(self) -> None:
        with self._lock:
            self._sent.clear()
