"""French messages about the planning itself (taking the watch, swaps, gaps): no event behind them."""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass, field
from datetime import datetime

from notifications.base import ChannelKind
from notifications.render import Rendered
from notifications.sms_text import fit_sms, fold_to_gsm7

DAYS_FR = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
MONTHS_FR = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")


def fr_datetime(local: datetime) -> str:
    """`lun. 7 déc. 08:30` — the caller gives the commune's local time."""
    return f"{DAYS_FR[local.weekday()]} {local.day} {MONTHS_FR[local.month - 1]} {local:%H:%M}"


def sms_datetime(local: datetime) -> str:
    return f"{local:%d/%m %Hh%M}"


@dataclass(frozen=True)
class Notice:
    kind: str  # watch_ask | watch_missed | watch_confirmed | swap_request | swap_info | gap_report
    org_code: str
    title: str
    body: str
    sms: str  # the SMS body (folded to GSM-7 and fitted to one segment on rendering)
    sms_hint: str = ""
    actions: tuple[str, ...] = ()
    data: dict = field(default_factory=dict)
    spoken: str = ""  # what a call reads (the keys it takes are the call's own: voice_twiml.py)


def render_notice(notice: Notice, channel: ChannelKind | str, *, person_name: str | None = None) -> Rendered:
    channel = ChannelKind(channel)
    data = {"purpose": notice.kind, "title": notice.title, "org": notice.org_code, **notice.data}
    if notice.actions:
        data["actions"] = list(notice.actions)
    if channel is ChannelKind.SMS:
        return Rendered(fold_to_gsm7(notice.title), fit_sms(f"[{notice.org_code}]", notice.sms, notice.sms_hint),
                        None, data)
    subject = f"[{notice.org_code}] {notice.title}"
    if channel is ChannelKind.VOICE:
        return Rendered(notice.title, notice.spoken or notice.body, None, data)
    if channel is not ChannelKind.EMAIL:
        return Rendered(notice.title, notice.body, None, data)
    greeting = f"Bonjour {person_name},\n\n" if person_name else ""
    esc = html_lib.escape
    html = (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{esc(subject)}</title></head>'
            f"<body style='font-family:sans-serif'>"
            f"{'<p>Bonjour ' + esc(person_name) + ',</p>' if person_name else ''}"
            f"<h1 style='font-size:20px'>{esc(notice.title)}</h1>"
            + "".join(f"<p>{esc(line)}</p>" for line in notice.body.split("\n") if line)
            + "</body></html>")
    return Rendered(subject, greeting + notice.body + "\n", html, data)


def watch_ask(*, org_code: str, group: str, starts: datetime, ends: datetime, watch_id: int,
              confirm_minutes: int) -> Notice:
    return Notice(
        kind="watch_ask", org_code=org_code, title=f"Prise d'astreinte — {group}",
        body=(f"Votre tour « {group} » va du {fr_datetime(starts)} au {fr_datetime(ends)}. "
              f"Confirmez dans les {confirm_minutes} min que vous êtes joignable."),
        sms=f"{group} : votre tour du {sms_datetime(starts)} au {sms_datetime(ends)}.",
        sms_hint="Rep OK pour confirmer", actions=("confirm_watch",), data={"watch_id": watch_id})


def watch_confirmed(*, org_code: str, group: str) -> Notice:
    return Notice(kind="watch_confirmed", org_code=org_code, title="Prise d'astreinte confirmée",
                  body=f"Merci : votre tour « {group} » est confirmé.",
                  sms=f"Recu : tour {group} confirme.")


def watch_missed(*, org_code: str, group: str, person: str, phone: str | None, since: datetime,
                 watch_id: int) -> Notice:
    reach = f" Tél. {phone}." if phone else ""
    return Notice(
        kind="watch_missed", org_code=org_code, title=f"Prise d'astreinte non confirmée — {group}",
        body=f"{person} n'a pas confirmé sa prise d'astreinte « {group} » (début {fr_datetime(since)}).{reach}",
        sms=f"ALERTE {person} n'a pas confirme sa prise d'astreinte ({group}, {sms_datetime(since)}).{reach}",
        data={"watch_id": watch_id})


def swap_request(*, org_code: str, group: str, requester: str, mine: tuple[datetime, datetime],
                 theirs: tuple[datetime, datetime] | None, swap_id: int) -> Notice:
    give = f"son tour du {fr_datetime(mine[0])} au {fr_datetime(mine[1])}"
    take = f" contre le vôtre du {fr_datetime(theirs[0])} au {fr_datetime(theirs[1])}" if theirs else ""
    return Notice(
        kind="swap_request", org_code=org_code, title=f"Échange de tours proposé — {group}",
        body=f"{requester} vous propose {give}{take}. Répondez dans l'application Vigie, « Mon astreinte ».",
        sms=f"{requester} vous propose un echange ({group}, {sms_datetime(mine[0])}).",
        sms_hint="Repondez dans l'appli Vigie", data={"swap_id": swap_id})


def swap_info(*, org_code: str, group: str, requester: str, counterpart: str, mine: tuple[datetime, datetime],
              theirs: tuple[datetime, datetime] | None, needs_approval: bool, swap_id: int) -> Notice:
    what = (f"{counterpart} prend le tour de {requester} du {fr_datetime(mine[0])} au {fr_datetime(mine[1])}"
            + (f", {requester} celui de {counterpart} du {fr_datetime(theirs[0])} au {fr_datetime(theirs[1])}"
               if theirs else ""))
    ask = " Votre accord est demandé : répondez dans Vigie." if needs_approval else ""
    return Notice(
        kind="swap_info", org_code=org_code,
        title=f"Échange de tours{' à valider' if needs_approval else ''} — {group}",
        body=f"{what}.{ask}", sms=f"Echange {group} : {counterpart} remplace {requester} "
                                  f"le {sms_datetime(mine[0])}.{' A valider dans Vigie.' if needs_approval else ''}",
        data={"swap_id": swap_id})


def gap_report(*, org_code: str, group: str, gaps: list[tuple[datetime, datetime]]) -> Notice:
    lines = "\n".join(f"— du {fr_datetime(s)} au {fr_datetime(e)}" for s, e in gaps)
    return Notice(
        kind="gap_report", org_code=org_code, title=f"Planning d'astreinte incomplet — {group}",
        body=f"Personne n'est d'astreinte pour « {group} » pendant les heures couvertes par le PC :\n{lines}",
        sms=f"Planning {group} incomplet : {len(gaps)} trou(s), 1er le {sms_datetime(gaps[0][0])}.")


def out_of_coverage(*, org_code: str, number: str, title: str, place: str, category: str,
                    received: datetime, exercise: bool = False) -> Notice:
    where = f", {place}" if place else ""
    mark = "EXERCICE — " if exercise else ""
    return Notice(
        kind="out_of_coverage", org_code=org_code, title=f"{mark}Hors horaires PC — {number} {title}",
        body=(f"Le PC a reçu le {fr_datetime(received)}, en dehors de ses horaires de couverture, un "
              f"signalement « {category} » : {title}{where}. Selon le choix de la commune, il vous est transmis "
              f"sans solliciter l'astreinte."),
        sms=f"{mark}Hors horaires PC {number} : {title}{where}.", data={"number": number})


TEST_ALERT = "test_alert"


def test_alert(*, org_code: str) -> Notice:
    """The message a person sends themselves from the app to check that alerts reach them (no event)."""
    return Notice(
        kind=TEST_ALERT, org_code=org_code, title="Test de vos alertes Vigie",
        body="Ceci est un test demandé depuis l'application : aucune intervention n'est attendue.",
        sms="Test de vos alertes Vigie : ce SMS vous est bien parvenu. Aucune intervention attendue.",
        spoken=("Vigie. Ceci est un appel de test, demandé depuis l'application d'astreinte. "
                "Aucune intervention n'est attendue."))


def install_link(*, channel: ChannelKind | str, person_name: str, url: str) -> tuple[str, str]:
    """(subject, text) of the message that carries a phone's enrolment link (valid 72 h, once)."""
    subject = "Vigie : installez l'application d'astreinte"
    if ChannelKind(channel) is ChannelKind.SMS:
        return subject, fit_sms("[VIGIE]", "Installez l'appli d'astreinte :", url)
    return subject, (f"Bonjour {person_name},\n\nOuvrez ce lien sur votre téléphone pour recevoir les alertes "
                     f"d'astreinte (valable 72 h, une seule fois) :\n{url}\n")


DIGEST_WORDS = {"solicit": "alerte", "closing": "pris en charge", "confirm": "reponse", "inform": "info",
                "unreached": "non joint", TEST_ALERT: "test"}


def digest_sms(merged: list[dict]) -> str:
    """The one SMS that stands for those over a number's flood budget: `merged` is [{number, purpose}]."""
    items = "; ".join(f"{m['number']} {DIGEST_WORDS.get(m['purpose'], m['purpose'])}" for m in merged)
    return fit_sms(f"[VIGIE] {len(merged)} messages regroupes :", items, "Details dans l'appli ou au PC.")


DIGEST_SUBJECT = "Messages regroupes"


def report_mail(*, org_code: str, org_name: str, number: str, title: str, version: int,
                exercise: bool = False) -> tuple[str, str]:
    """(subject, text) of the e-mail that carries an event's report to its distribution lists (the
    report itself is the HTML part)."""
    mark = "EXERCICE — " if exercise else ""
    return (f"{mark}[{org_code}] Rapport {number} — {title}",
            f"{mark}Rapport de l'événement {number} ({org_name}) : {title}.\n"
            f"Le rapport complet est dans ce message (version {version}).")
