"""French messages for each purpose and channel. Knows nothing of the database."""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass, field

from escalation.severity import severity as severity_of
from notifications.base import ChannelKind
from notifications.sms_text import fit_sms, fold_to_gsm7

PURPOSES = ("solicit", "inform", "unreached", "closing", "confirm")
EXERCISE_MARK = "EXERCICE — "  # a drill's every message starts so: nobody takes a drill for the real thing


@dataclass(frozen=True)
class EventSummary:
    org_code: str
    number: str
    severity: int
    title: str
    place: str | None = None
    category: str | None = None
    description: str | None = None
    org_name: str | None = None  # spoken in a call ("Chenôve"), where the code would be spelt out
    exercise: bool = False


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None = None
    data: dict = field(default_factory=dict)


def severity_label(severity: int) -> str:
    return severity_of(severity).label


def _what(event: EventSummary) -> str:
    return f"{event.title}, {event.place}" if event.place else event.title


INFORMATION = "Pour information"  # what every message that asks nothing begins with


def _lines(purpose: str, event: EventSummary, *, acked_by: str | None, note: str | None,
           reply_code: str | None, requested_by: str | None = None) -> tuple[str, str, str]:
    """(subject, body, reply hint) in plain French."""
    label = severity_label(event.severity)
    ref = f"{event.org_code} {label.upper()} {event.number}"
    code = f" {reply_code}" if reply_code else ""
    if purpose == "solicit" and requested_by:
        why = f" ({note})" if note else ""
        return (f"[{ref}] RENFORT demandé par {requested_by}", f"RENFORT demandé par {requested_by}{why} : {_what(event)}",
                f"Rep 1{code}=je prends 2{code}=indispo")
    if purpose == "solicit":
        return (f"[{ref}] {event.title}", _what(event), f"Rep 1{code}=je prends 2{code}=indispo")
    if purpose == "inform" and note:  # a report-back from the field, told to the others on the event
        return (f"[{ref}] {INFORMATION} — {note}", f"{INFORMATION} — {note} ({_what(event)})", "")
    if purpose == "inform":
        return (f"[{ref}] {INFORMATION} — {event.title}", f"{INFORMATION} — {_what(event)}", "")
    if purpose == "unreached":
        return (f"[{ref}] PERSONNE N'A PRIS EN CHARGE", f"Aucun acquittement : {_what(event)}",
                "")
    if purpose == "closing":
        who = acked_by or "un collègue"
        return (f"[{ref}] Pris en charge par {who}", f"Pris en charge par {who} : {event.title}", "")
    if purpose == "confirm":
        return (f"[{ref}] Réponse enregistrée", note or "Réponse enregistrée.", "")
    raise ValueError(f"unknown purpose {purpose!r}")


def render(purpose: str, channel: ChannelKind | str, event: EventSummary, *, reply_code: str | None = None,
           person_name: str | None = None, acked_by: str | None = None,
           links: dict[str, str] | None = None, note: str | None = None,
           requested_by: str | None = None) -> Rendered:
    """`requested_by`: a page for reinforcement asked by this person (`note`: what they said)."""
    channel = ChannelKind(channel)
    subject, body, hint = _lines(purpose, event, acked_by=acked_by, note=note, reply_code=reply_code,
                                 requested_by=requested_by)
    mark = EXERCISE_MARK if event.exercise else ""
    subject = mark + subject
    data = {"purpose": purpose, "number": event.number, "severity": event.severity,
            "severity_label": severity_label(event.severity), "title": event.title, "place": event.place,
            "org": event.org_code}
    if purpose == "solicit":
        data["actions"] = ["ack", "decline"]
    if requested_by:
        data["reinforcement"] = True
    if purpose == "inform":
        data["information"] = True
    if event.exercise:
        data["exercise"] = True
    if channel is ChannelKind.SMS:
        # In the head, which fit_sms never shortens: the body gives way, not the mark.
        head = f"{mark}[{event.org_code}] {severity_label(event.severity).upper()} {event.number}"
        return Rendered(fold_to_gsm7(subject), fit_sms(head, body, hint), None, data)
    if channel is ChannelKind.VOICE:  # read aloud; the keys to press are the call's own (voice_twiml.py)
        spoken = (f"Vigie. {'Exercice. ' if event.exercise else ''}Astreinte {event.org_name or event.org_code}, "
                  f"{severity_label(event.severity).lower()} : ")
        return Rendered(subject, f"{spoken}{_what(event)}.", None, data)
    body = mark + body
    text = "\n".join(part for part in (
        f"Bonjour {person_name}," if person_name and channel is ChannelKind.EMAIL else "",
        body,
        event.description or "" if channel is ChannelKind.EMAIL else "",
        hint if channel is ChannelKind.EMAIL and not links else "",
        *(f"{label} : {url}" for label, url in (links or {}).items()),
    ) if part)
    html = _html(subject, body, event, person_name, links) if channel is ChannelKind.EMAIL else None
    return Rendered(subject, text, html, data)


def _html(subject: str, body: str, event: EventSummary, person_name: str | None,
          links: dict[str, str] | None) -> str:
    esc = html_lib.escape
    buttons = "".join(
        f'<p><a href="{esc(url)}" style="display:inline-block;padding:14px 22px;background:#0b5;'
        f'color:#fff;text-decoration:none;border-radius:6px;font-size:18px">{esc(label)}</a>'
        # The address in clear too: the text part Apprise derives from this HTML keeps it.
        f'<br><small>{esc(label)} : {esc(url)}</small></p>'
        for label, url in (links or {}).items()
    )
    rows = "".join(
        f"<tr><th align='left'>{esc(k)}</th><td>{esc(v)}</td></tr>"
        for k, v in (("Événement", event.number), ("Gravité", severity_label(event.severity)),
                     ("Catégorie", event.category or ""), ("Lieu", event.place or ""),
                     ("Description", event.description or ""))
        if v
    )
    greeting = f"<p>Bonjour {esc(person_name)},</p>" if person_name else ""
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{esc(subject)}</title></head>'
            f"<body style='font-family:sans-serif'>{greeting}<h1 style='font-size:20px'>{esc(body)}</h1>"
            f"<table>{rows}</table>{buttons}</body></html>")
