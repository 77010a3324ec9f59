"""What a call says and which keys it takes, as TwiML (Twilio's call instructions).

The page is read in French inside a `<Gather>` waiting for one key: 1 takes the page, 2 says the
person is not available. Without a key the page is read again, at most `ROUNDS` times, then the
call ends; a key other than 1 or 2 reads it again too, within the same limit.
"""

from __future__ import annotations

from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

LANGUAGE = "fr-FR"
ROUNDS = 3
GATHER_TIMEOUT_S = 8
KEYS = {"1": "ack", "2": "decline"}

INSTRUCTIONS = "Tapez 1 pour prendre, 2 si vous êtes indisponible."
NO_KEY = "Sans réponse de votre part, Vigie sollicite la suite. Au revoir."
UNKNOWN_KEY = "Touche non reconnue."
ACKNOWLEDGED = "C'est noté : vous prenez l'alerte. Merci, au revoir."
DECLINED = "C'est noté : vous êtes indisponible. Vigie sollicite la personne suivante. Au revoir."
ALREADY_ANSWERED = "Votre réponse est déjà enregistrée. Au revoir."
OVER = "Cette sollicitation est terminée, merci. Au revoir."


def taken_by(name: str | None) -> str:
    return f"Cette alerte est déjà prise en charge{f' par {name}' if name else ''}. Au revoir."


def _say(words: str) -> str:
    return f"<Say language={quoteattr(LANGUAGE)}>{escape(words)}</Say>"


def _document(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'


def ask(text: str, gather_url: Callable[[int], str], *, first_round: int = 1, preface: str = "") -> str:
    """The page read, and read again, each time waiting for a key (posted to `gather_url(round)`)."""
    gathers = "".join(
        f'<Gather input="dtmf" numDigits="1" timeout="{GATHER_TIMEOUT_S}" method="POST" '
        f'action={quoteattr(gather_url(round_))}>'
        f'{_say(" ".join(part for part in (preface if round_ == first_round else "", text, INSTRUCTIONS) if part))}'
        "</Gather>"
        for round_ in range(first_round, ROUNDS + 1))
    return _document(gathers + _say(NO_KEY) + "<Hangup/>")


def farewell(words: str) -> str:
    return _document(_say(words) + "<Hangup/>")
