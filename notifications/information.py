"""The words of information messages (they ask nothing): a report-back from the field as the others
engaged on the event read it, and the SMS that tells a distribution list of a report."""

from __future__ import annotations

from notifications.render import INFORMATION
from notifications.sms_text import fit_sms

WHAT = {"en_route": "en route", "on_site": "sur place", "done": "intervention terminée",
        "need_help": "demande un renfort", "note": "note", "photo": "a envoyé une photo",
        "help_taken": "vient en renfort"}


def report_back(kind: str, who: str, group: str | None = None, text: str = "") -> str:
    """`Tech Un (Astreinte technique) : sur place — « arbre dégagé »`."""
    author = f"{who} ({group})" if group else who
    said = f" — « {text.strip()[:120]} »" if text and text.strip() else ""
    return f"{author} : {WHAT.get(kind, kind)}{said}"


def report_sms(*, org_code: str, number: str, title: str, by_email: bool) -> tuple[str, str]:
    """(subject, text) of the SMS a distribution list's member gets when the list is sent a report."""
    subject = f"[{org_code}] {INFORMATION} — rapport {number}"
    tail = "Rapport complet envoye par e-mail." if by_email else "Rapport complet aupres du PC."
    return subject, fit_sms(f"[{org_code}] {number}", f"{INFORMATION} — rapport de l'evenement : {title}.", tail)
