"""What an event's report says, read from its trace: one structure, rendered as HTML and as PDF."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from backend.trace.kinds import TraceKind
from escalation.severity import SEVERITIES

SOURCE_FR = {"phone": "Téléphone", "police": "Police", "sdis": "SDIS", "elu": "Élu", "sensor": "Capteur",
             "agent": "Agent", "other": "Autre"}
RESPONSE_FR = {"ack": "Je prends", "decline": "Indisponible", "en_route": "En route", "on_site": "Sur place",
               "done": "Terminé", "need_help": "Besoin de renfort", "note": "Note", "photo": "Photo"}
CHANNEL_FR = {"sms": "SMS", "email": "e-mail", "push": "notification", "fcm": "notification"}
VIA_FR = {"app": "application", "push": "notification", "sms": "SMS", "email": "lien e-mail", "operator": "PC",
          "phone": "téléphone"}


@dataclass
class Line:
    at: str
    what: str
    who: str = ""
    delay: str = ""


@dataclass
class Photo:
    at: str
    who: str
    caption: str
    content_type: str
    data: bytes | None  # None: not kept with the report (missing, or past what a report carries)


@dataclass
class ReportContent:
    title: str
    commune: str
    number: str
    facts: list[tuple[str, str]]
    solicitations: list[Line] = field(default_factory=list)
    answers: list[Line] = field(default_factory=list)
    decisions: list[Line] = field(default_factory=list)
    closure: list[tuple[str, str]] = field(default_factory=list)
    photos: list[Photo] = field(default_factory=list)
    chain_intact: bool = True
    generated: str = ""
    exercise: bool = False

    @property
    def mark(self) -> str:
        """Before the report's title: a drill's report is never read as a real event's."""
        return "EXERCICE — " if self.exercise else ""


def _delay(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def build(*, event, organization_name: str, trace: list, tz: str, chain_intact: bool, now: datetime,
          photos: dict[int, bytes] | None = None) -> ReportContent:
    """`photos`: the bytes of the event's photos by attachment id, for those the report carries."""
    zone = ZoneInfo(tz)

    def local(at: datetime) -> str:
        return at.astimezone(zone).strftime("%d/%m/%Y %H:%M:%S")

    created = next((e for e in trace if e.kind == TraceKind.EVENT_CREATED), None)
    origin = created.at if created else event.received_at
    facts = [("Reçu le", local(event.received_at)), ("Source", SOURCE_FR.get(event.source, event.source)),
             ("Appelant", event.caller_name or "—"), ("Rappel", event.callback_number or "—"),
             ("Catégorie", event.category), ("Gravité", f"{_label(event.severity)} ({event.cap_severity})"),
             ("Lieu", event.place or "—"), ("Description", event.description or "—")]
    if event.in_coverage is False:
        facts.append(("Hors horaires du PC", "oui — " + ("astreinte sollicitée" if event.coverage_handling == "solicit"
                                                         else "référent informé seulement")))
    content = ReportContent(title=event.title, commune=organization_name, number=event.number, facts=facts,
                            chain_intact=chain_intact, generated=local(now), exercise=bool(event.exercise))
    asked_at: dict[int, datetime] = {}
    for entry in trace:
        data = entry.data or {}
        if entry.kind == TraceKind.PAGE_NOTIFY:
            asked_at.setdefault(data.get("person_id"), entry.at)
            roads = ", ".join(sorted({CHANNEL_FR.get(n["channel"], n["channel"])
                                      for n in data.get("notifications", [])})) or "aucun moyen"
            content.solicitations.append(Line(local(entry.at), f"Sollicité ({data.get('group', '')}) par {roads}",
                                              data.get("person", ""), _delay((entry.at - origin).total_seconds())))
        elif entry.kind == TraceKind.EVENT_INFORMED:
            names = ", ".join(p["person"] for p in data.get("people", []))
            what = f"Relayé : {data.get('text', '')}" if data.get("relay") else f"Informé ({data.get('group', '')})"
            content.solicitations.append(Line(local(entry.at), what, names,
                                              _delay((entry.at - origin).total_seconds())))
        elif entry.kind == TraceKind.PAGE_UNREACHED:
            content.solicitations.append(Line(local(entry.at), "Personne n'a pris en charge : alerte au PC"))
        elif entry.kind.startswith("response."):
            kind = entry.kind.split(".", 1)[1]
            since = asked_at.get(data.get("person_id"), origin)
            how = "saisi par le PC" if data.get("on_behalf") else VIA_FR.get(data.get("via"), data.get("via") or "")
            text = f" — {data['text']}" if data.get("text") else ""
            content.answers.append(Line(local(entry.at), f"{RESPONSE_FR.get(kind, kind)} ({how}){text}",
                                        data.get("person") or entry.actor_label,
                                        _delay((entry.at - since).total_seconds())))
            if entry.kind == TraceKind.RESPONSE_PHOTO:
                content.photos.append(Photo(local(entry.at), data.get("person") or entry.actor_label,
                                            data.get("caption") or "", data.get("content_type") or "image/jpeg",
                                            (photos or {}).get(data.get("attachment_id", 0))))
        elif entry.kind == TraceKind.EVENT_REQUALIFIED:
            content.decisions.append(Line(local(entry.at), f"Requalifié {_label(data.get('from'))} → "
                                          f"{_label(data.get('to'))} : {data.get('reason', '')}",
                                          entry.actor_label))
        elif entry.kind == TraceKind.EVENT_OUT_OF_COVERAGE:
            content.decisions.append(Line(local(entry.at), "Reçu hors des horaires du PC", "Vigie"))
        elif entry.kind == TraceKind.EVENT_CLOSED:
            content.closure = [("Clos le", local(entry.at)), ("Par", entry.actor_label),
                               ("Motif", data.get("reason", "")),
                               ("Suite à donner (heures ouvrées)", data.get("follow_up") or "—"),
                               ("Durée totale", _delay((entry.at - origin).total_seconds()))]
    return content


def _label(level) -> str:
    return SEVERITIES[level].label if level in SEVERITIES else "?"
