"""The channel used when nothing is configured: it prints the message and calls it delivered."""

from __future__ import annotations

import sys
from typing import TextIO

from notifications.base import ChannelKind, OutboundMessage, SendResult


class ConsoleChannel:
    def __init__(self, kind: ChannelKind, stream: TextIO | None = None) -> None:
        self.kind = ChannelKind(kind)
        self._stream = stream

    async def send(self, message: OutboundMessage) -> SendResult:
        stream = self._stream or sys.stdout
        print(f"[vigie {self.kind.value} → {message.address}] {message.subject}\n  {message.text}",
              file=stream, flush=True)
        return SendResult.delivered("printed on the console")
