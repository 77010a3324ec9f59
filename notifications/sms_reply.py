"""Reading an on-call person's SMS reply: `1`/`OK` take it, `2`/`NON` decline, `3` on site, `4` done,
`5`/`EN ROUTE` on the way, `6`/`RENFORT` asks for reinforcement.

A page code may follow (`1 4821`); anything else is a note on the person's current page.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

KINDS = {"1": "ack", "OK": "ack", "2": "decline", "NON": "decline", "3": "on_site", "4": "done",
         "5": "en_route", "EN ROUTE": "en_route", "6": "need_help", "RENFORT": "need_help"}
# After « je prends », the codes of what comes next (one SMS: the page's hint has no room for them).
NEXT_CODES = "Ensuite : 5=en route 3=sur place 4=termine 6=renfort"

_COMMAND = re.compile(r"^\s*(?P<word>[0-9]|OK|NON|EN ROUTE|RENFORT)\b[\s.,;:!-]*(?:(?P<code>\d{4,6})\b)?[\s.,;:!-]*(?P<rest>.*)$",
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
        word = " ".join(match.group("word").upper().split())
        if word in KINDS:
            rest = body[len(body) - len(match.group("rest")):].strip() if match.group("rest") else ""
            return Reply(KINDS[word], match.group("code"), rest)
    return Reply("note", None, body)


# What Vigie answers to a reply (the SMS back to the number that wrote) -------------------------------

DONE_WORDS = {"ack": "je prends", "decline": "indisponible", "on_site": "sur place", "done": "termine",
              "en_route": "en route", "need_help": "renfort demande", "note": "note"}
AFTER = {"ack": NEXT_CODES, "need_help": "Le PC est alerte."}
REFUSALS = {"already_acknowledged": "deja pris en charge", "event_closed": "evenement clos",
            "no_active_page": "plus aucune sollicitation en attente",
            "not_solicited": "vous n'etes pas sollicite pour cet evenement"}


def received(reply: Reply) -> str:
    detail = f" ({reply.text})" if reply.text and reply.kind != "note" else ""
    after = f" {AFTER[reply.kind]}" if reply.kind in AFTER else ""
    return f"Recu : {DONE_WORDS[reply.kind]}{detail}.{after}"


def refused(code: str, *, taken_by: str | None = None) -> str:
    why = REFUSALS.get(code, "reponse refusee")
    if code == "already_acknowledged" and taken_by:
        why += f" par {taken_by}"
    return f"Non enregistre : {why}."


def which_code(lead: str, pages: list[tuple[str, str]]) -> str:
    """`lead` then the codes to answer with: `pages` is (code, event title), the latest first."""
    return f"{lead} Repondez 1 CODE : " + " ; ".join(f"{code} {title[:28]}" for code, title in pages[:4])


def unknown_code(code: str, pages: list[tuple[str, str]]) -> str:
    return which_code(f"Code {code} inconnu.", pages)


def ambiguous(pages: list[tuple[str, str]]) -> str:
    return which_code("Plusieurs sollicitations.", pages)
