"""SMS text kept to one GSM-7 segment: characters outside the GSM 03.38 alphabet are folded."""

from __future__ import annotations

import unicodedata

SEGMENT = 160

# GSM 03.38 basic character set (the characters that cost one septet).
_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (escape + char).
_EXTENDED = set("^{}\\[~]|€\f")

_FOLD = {
    "’": "'", "‘": "'", "´": "'", "`": "'", "“": '"', "”": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "…": "...", "\u00a0": " ", "\u202f": " ", "œ": "oe", "Œ": "OE",
    "ê": "e", "ë": "e", "È": "E", "Ê": "E", "Ë": "E", "â": "a", "á": "a", "À": "A", "Â": "A",
    "î": "i", "ï": "i", "Î": "I", "Ï": "I", "ô": "o", "ó": "o", "Ô": "O", "û": "u", "ú": "u",
    "Û": "U", "Ù": "U", "ç": "c", "ÿ": "y", "°": "o",
}


def fold_to_gsm7(text: str) -> str:
    """Replace every character that is not GSM-7 by its closest GSM-7 spelling."""
    out: list[str] = []
    for char in text:
        if char in _BASIC or char in _EXTENDED:
            out.append(char)
        elif char in _FOLD:
            out.append(_FOLD[char])
        else:
            stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
            out.append("".join(c for c in stripped if c in _BASIC) or "?")
    return "".join(out)


def gsm7_length(text: str) -> int:
    """Septets used by an already-folded text."""
    return sum(2 if char in _EXTENDED else 1 for char in text)


def fit_sms(head: str, body: str, tail: str = "", limit: int = SEGMENT) -> str:
    """`head body tail` in one segment, shortening the body (never the head or the tail)."""
    head, body, tail = fold_to_gsm7(head), fold_to_gsm7(" ".join(body.split())), fold_to_gsm7(tail)
    parts = [p for p in (head, body, tail) if p]
    text = " ".join(parts)
    if gsm7_length(text) <= limit:
        return text
    fixed = gsm7_length(head) + gsm7_length(tail) + (1 if head else 0) + (1 if tail else 0)
    room = max(0, limit - fixed - 1)  # one septet for the ellipsis mark "."
    used, end = 0, 0
    for end, char in enumerate(body):  # noqa: B007 (where it stopped is the point)
        used += 2 if char in _EXTENDED else 1
        if used > room:
            break
    else:
        end = len(body)
    kept = body[:end].rstrip() + "."
    return " ".join(p for p in (head, kept, tail) if p)
