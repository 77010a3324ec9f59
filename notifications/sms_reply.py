"""Reading an on-call person's SMS reply: `1`/`OK` take it, `2`/`NON` decline, `3` on site, `4` done.

A page code may follow (`1 4821`); anything else is a note on the person's current page.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

KINDS = {"1": "ack", "OK": "ack", "2": "decline", "NON": "decline", "3": "on_site", "4": "done"}

_COMMAND = re.compile(r"^\s*(?P<word>[0-9]|OK|NON)\b[\s.,;:!-]*(?:(?P<code>\d{4,6})\b)?[\s.,;:!-]*(?P<rest>.*)$",
                      re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Reply:
    kind: str  # ack | decline | on_site | done | note
    code: str | None = None  # the page code, when given
    text: str = ""  # the note, or the reason given after a decline


def _plain(text: str) -> str:
    # Phones add accents, curly quotes and trailing signatures: compare on a folded form.
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.combining(c))


def parse_reply(text: str) -> Reply:
    body = " ".join((text or "").split())
    match = _COMMAND.match(_plain(body))
    if match:
        word = match.group("word").upper()
        if word in KINDS:
            rest = body[len(body) - len(match.group("rest")):].strip() if match.group("rest") else ""
            return Reply(KINDS[word], match.group("code"), rest)
    return Reply("note", None, body)
