"""A CAP 1.2 alert read from XML, refusing what could expand or fetch: no DTD, no entity.

defusedxml is not in the stack; the standard library's ElementTree reads the alert once the raw
text has been checked for `<!DOCTYPE` and `<!ENTITY` (a CAP alert never needs either) and is
strict UTF-8 without NUL bytes (so no other encoding can hide them from that check).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime

from backend.errors import BadRequest, Unprocessable

NS = "urn:oasis:names:tc:emergency:cap:1.2"
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
              "CBRNE", "Other")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
MAX_ID = 255


@dataclass(frozen=True)
class Info:
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str = ""
    description: str = ""
    instruction: str = ""
    sender_name: str = ""
    area_desc: str = ""
    latitude: float | None = None
    longitude: float | None = None
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CapMessage:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    note: str = ""
    references: tuple[tuple[str, str], ...] = ()  # (sender, identifier) of the messages it refers to
    info: Info | None = None

    def parameter(self, name: str) -> str | None:
        return self.info.parameters.get(name) if self.info else None


def read(body: bytes) -> CapMessage:
    root = _root(body)
    if root.tag != f"{{{NS}}}alert":
        raise Unprocessable(f"not a CAP 1.2 alert: the root element must be <alert xmlns=\"{NS}\">",
                            code="not_cap_alert", details={"root": root.tag})
    identifier, sender = _required(root, "identifier"), _required(root, "sender")
    for name, value in (("identifier", identifier), ("sender", sender)):
        if len(value) > MAX_ID or re.search(r"[\s,<&]", value):
            raise Unprocessable(f"<{name}> must be at most {MAX_ID} characters without spaces, commas, < or &",
                                code="cap_invalid_value", details={"element": name})
    sent = _datetime(_required(root, "sent"), "sent")
    status = _choice(root, "status", STATUSES)
    msg_type = _choice(root, "msgType", MSG_TYPES)
    scope = _choice(root, "scope", SCOPES)
    references = tuple(_reference(triple) for triple in (_text(root, "references") or "").split())
    infos = root.findall(f"{{{NS}}}info")
    if not infos and msg_type in ("Alert", "Update"):
        raise _missing("info")
    chosen = next((i for i in infos if (_text(i, "language") or "").lower().startswith("fr")), infos[0] if infos
                  else None)
    return CapMessage(identifier=identifier, sender=sender, sent=sent, status=status, msg_type=msg_type, scope=scope,
                      note=_text(root, "note") or "", references=references,
                      info=_info(chosen) if chosen is not None else None)


def _root(body: bytes) -> ET.Element:
    if b"\x00" in body:
        raise BadRequest("the alert must be UTF-8 XML", code="invalid_xml")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("the alert must be UTF-8 XML", code="invalid_xml") from exc
    if _FORBIDDEN.search(body):
        raise BadRequest("a DTD or an entity declaration is refused in a CAP alert", code="xml_dtd_forbidden")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise BadRequest(f"the body is not well-formed XML: {exc}", code="invalid_xml") from exc


def _info(el: ET.Element) -> Info:
    categories = tuple(c.text.strip() for c in el.findall(f"{{{NS}}}category") if c.text and c.text.strip())
    if not categories:
        raise _missing("info/category")
    for category in categories:
        if category not in CATEGORIES:
            raise _invalid("info/category", category, CATEGORIES)
    area = el.find(f"{{{NS}}}area")
    area_desc, latitude, longitude = "", None, None
    if area is not None:
        area_desc = _text(area, "areaDesc") or ""
        circle = _text(area, "circle")
        if circle:
            latitude, longitude = _centre(circle)
    parameters = {}
    for parameter in el.findall(f"{{{NS}}}parameter"):
        name = (_text(parameter, "valueName") or "").strip().lower()
        if name:
            parameters[name] = (_text(parameter, "value") or "").strip()
    return Info(language=_text(el, "language") or "en-US", categories=categories,
                event=_required(el, "event", "info/"),
                urgency=_choice(el, "urgency", URGENCIES, "info/"), severity=_choice(el, "severity", SEVERITIES, "info/"),
                certainty=_choice(el, "certainty", CERTAINTIES, "info/"), headline=_text(el, "headline") or "",
                description=_text(el, "description") or "", instruction=_text(el, "instruction") or "",
                sender_name=_text(el, "senderName") or "", area_desc=area_desc, latitude=latitude,
                longitude=longitude, parameters=parameters)


def _text(el: ET.Element, name: str) -> str | None:
    child = el.find(f"{{{NS}}}{name}")
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _required(el: ET.Element, name: str, path: str = "") -> str:
    value = _text(el, name)
    if value is None:
        raise _missing(path + name)
    return value


def _choice(el: ET.Element, name: str, allowed: tuple[str, ...], path: str = "") -> str:
    value = _required(el, name, path)
    if value not in allowed:
        raise _invalid(path + name, value, allowed)
    return value


def _missing(element: str) -> Unprocessable:
    return Unprocessable(f"the CAP alert has no <{element}>", code="cap_missing_element",
                         details={"element": element})


def _invalid(element: str, value: str, allowed: tuple[str, ...]) -> Unprocessable:
    return Unprocessable(f"<{element}> {value[:50]!r} is not one of CAP 1.2's values", code="cap_invalid_value",
                         details={"element": element, "allowed": list(allowed)})


def _datetime(value: str, element: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise Unprocessable(f"<{element}> must be a date and time with its offset, e.g. 2026-12-05T01:30:00+01:00",
                            code="cap_invalid_value", details={"element": element})
    return parsed


def _reference(triple: str) -> tuple[str, str]:
    parts = triple.split(",")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise Unprocessable("<references> holds sender,identifier,sent triples separated by spaces",
                            code="cap_invalid_value", details={"element": "references"})
    return parts[0], parts[1]


def _centre(circle: str) -> tuple[float | None, float | None]:
    """The centre of a `lat,lon radius` circle (WGS 84), when it is one."""
    try:
        lat_text, lon_text = circle.split()[0].split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return None, None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else (None, None)
