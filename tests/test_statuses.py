"""Statuses are compared and set through their enums (EventStatus, PageStatus, NotificationStatus,
WatchStatus, SwapStatus), never as bare strings that grep cannot tell apart."""

from __future__ import annotations

import re
from pathlib import Path

from tests.source import backend_lines_matching

ROOT = Path(__file__).resolve().parent.parent
BARE = re.compile(r"""status\s*(==|!=|\bin\b)\s*\(?["']|status\.in_\(\(["']|\.status(,\s*[\w.]+)*\s*=\s*["']"""
                  r"""|\b(Notification|Event|Page|WatchTurn|SwapRequest)\([^)]*\bstatus=["']""")


def test_no_status_is_a_bare_string_in_the_backend():
    bare = backend_lines_matching(BARE)
    assert not bare, "use the status enums:\n" + "\n".join(bare)
