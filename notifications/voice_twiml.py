"""What a call says and which keys it takes, as TwiML (Twilio's call instructions).

The page is read in French inside a `<Gather>` waiting for one key: 1 takes the page, 2 says the
person is not available. Without a key the page is read again, at most `ROUNDS` times, then the
call ends; a key other than 1 or 2 reads it again too, within the same limit. A test call
(« Tester mes alertes ») is read the same way and takes 1 only: « je vous entends ».
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from notifications.notice import TEST_ALERT

LANGUAGE = "fr-FR"
ROUNDS = 3
GATHER_TIMEOUT_S = 8
# Spoken French, counted slowly (Twilio's voices say 14-16 characters a second): a call's length
# is over-estimated rather than cut short.
SPOKEN_CHARS_PER_S = 12

INSTRUCTIONS = "Tapez 1 pour prendre, 2 si vous êtes indisponible."
NO_KEY = "Sans réponse de votre part, Vigie sollicite la suite. Au revoir."
UNKNOWN_KEY = "Touche non reconnue."
ACKNOWLEDGED = "C'est noté : vous prenez l'alerte. Merci, au revoir."
DECLINED = "C'est noté : vous êtes indisponible. Vigie sollicite la personne suivante. Au revoir."
ALREADY_ANSWERED = "Votre réponse est déjà enregistrée. Au revoir."
OVER = "Cette sollicitation est terminée, merci. Au revoir."

TEST_HEARD = "C'est noté : les appels de Vigie vous parviennent. Au revoir."
TEST_NO_KEY = "Sans touche de votre part, l'essai reste sans confirmation. Au revoir."


@dataclass(frozen=True)
class Script:
    """What a kind of call asks for and which keys it takes."""

    instructions: str
    no_key: str
    keys: dict[str, str]


PAGE = Script(INSTRUCTIONS, NO_KEY, {"1": "ack", "2": "decline"})
TEST = Script("Tapez 1 pour confirmer que vous entendez.", TEST_NO_KEY, {"1": "heard"})
KEYS = PAGE.keys


def script_for(purpose: str) -> Script:
    return TEST if purpose == TEST_ALERT else PAGE


def taken_by(name: str | None) -> str:
    return f"Cette alerte est déjà prise en charge{f' par {name}' if name else ''}. Au revoir."


def _say(words: str) -> str:
    return f"<Say language={quoteattr(LANGUAGE)}>{escape(words)}</Say>"


def _document(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'


def ask(text: str, gather_url: Callable[[int], str], *, first_round: int = 1, preface: str = "",
        script: Script = PAGE) -> str:
    """The page read, and read again, each time waiting for a key (posted to `gather_url(round)`)."""
    gathers = "".join(
        f'<Gather input="dtmf" numDigits="1" timeout="{GATHER_TIMEOUT_S}" method="POST" '
        f'action={quoteattr(gather_url(round_))}>'
        f'{_say(" ".join(part for part in (preface if round_ == first_round else "", text, script.instructions) if part))}'
        "</Gather>"
        for round_ in range(first_round, ROUNDS + 1))
    return _document(gathers + _say(script.no_key) + "<Hangup/>")


def farewell(words: str) -> str:
    return _document(_say(words) + "<Hangup/>")


def hang_up() -> str:
    """Nothing said: for an answering machine, which would keep the page's words in a mailbox."""
    return _document("<Hangup/>")


def reading_s(text: str, script: Script = PAGE) -> int:
    """How long a call lasts once the person is on the line, at most: every reading and its wait for a key."""
    one_round = len(text) + 1 + len(script.instructions) + len(UNKNOWN_KEY) + 1
    spoken = ROUNDS * one_round + len(script.no_key)
    return math.ceil(spoken / SPOKEN_CHARS_PER_S) + ROUNDS * GATHER_TIMEOUT_S
