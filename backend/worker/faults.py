"""Crash points for the kill tests and the kill bench: nothing happens unless VIGIE_FAULT_KILL is set.

`VIGIE_FAULT_KILL=handed_off:5` kills this process (SIGKILL, as the OOM killer or a power cut
would) the 5th time it passes `handed_off`. Points: `claimed` (messages leased, none sent yet),
`handed_off` (a provider took a message, its result not yet recorded), `stepped` (an escalation
step committed).
"""

from __future__ import annotations

import os
import signal
import threading

_POINT, _, _NTH = os.environ.get("VIGIE_FAULT_KILL", "").partition(":")
_count = 0
_lock = threading.Lock()


def hit(point: str) -> None:
    global _count
    if point != _POINT:
        return
    with _lock:
        _count += 1
        if _count >= int(_NTH or 1):
            os.kill(os.getpid(), signal.SIGKILL)
