"""An event as a CAP 1.2 alert, its elements in the order of CAP's XML schema.

The identifier is stable: `vigie-<id>` for the alert that opened it; an update or the cancellation
is `vigie-<id>-<trace seq>` and refers to that alert (`references`), as CAP wants each message
to carry its own identifier. The sender is the host of VIGIE_PUBLIC_URL.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.cap.parse import NS
from backend.events.models import Event, EventStatus
from backend.orgs.models import Organization
from backend.procedures.models import Procedure
from backend.trace.models import TraceEntry
from notifications.render import EXERCISE_MARK

ET.register_namespace("", NS)


def sender_of(public_url: str) -> str:
    return urlsplit(public_url).hostname or "vigie"


def cap_time(at: datetime) -> str:
    """CAP's dateTime: seconds and a numeric offset ("Z" is not allowed)."""
    return at.astimezone(UTC).replace(microsecond=0).isoformat()


def to_cap(*, db_session: Session, event: Event, public_url: str) -> bytes:
    organization = db_session.get_one(Organization, event.organization_id)
    procedure = db_session.get(Procedure, event.procedure_id) if event.procedure_id else None
    last_at = db_session.scalar(select(func.max(TraceEntry.at)).where(TraceEntry.event_id == event.id))
    sender = sender_of(public_url)
    first = f"vigie-{event.id}"
    msg_type = ("Cancel" if event.status == EventStatus.CLOSED
                else "Update" if event.status == EventStatus.ACKNOWLEDGED else "Alert")

    alert = ET.Element(f"{{{NS}}}alert")
    _add(alert, "identifier", first if msg_type == "Alert" else f"{first}-{event.trace_seq}")
    _add(alert, "sender", sender)
    _add(alert, "sent", cap_time(event.received_at if msg_type == "Alert" else (last_at or event.received_at)))
    _add(alert, "status", "Exercise" if event.exercise else "Actual")
    _add(alert, "msgType", msg_type)
    _add(alert, "scope", "Restricted")
    _add(alert, "restriction", "Astreinte et PC de la métropole")
    if msg_type == "Cancel" and event.closure_reason:
        _add(alert, "note", event.closure_reason)
    if msg_type != "Alert":
        _add(alert, "references", f"{sender},{first},{cap_time(event.received_at)}")
    _add(alert, "incidents", event.number)

    info = ET.SubElement(alert, f"{{{NS}}}info")
    _add(info, "language", "fr-FR")
    _add(info, "category", procedure.cap_category if procedure else "Other")
    _add(info, "event", event.category)
    _add(info, "urgency", event.cap_urgency)
    _add(info, "severity", event.cap_severity)
    _add(info, "certainty", event.cap_certainty)
    _add(info, "senderName", organization.name)
    _add(info, "headline", (EXERCISE_MARK if event.exercise else "") + event.title)
    if event.description:
        _add(info, "description", event.description)
    parameter = ET.SubElement(info, f"{{{NS}}}parameter")
    _add(parameter, "valueName", "commune")
    _add(parameter, "value", organization.code)
    area = ET.SubElement(info, f"{{{NS}}}area")
    _add(area, "areaDesc", event.place or organization.name)
    if event.latitude is not None and event.longitude is not None:
        _add(area, "circle", f"{event.latitude},{event.longitude} 0")
    return ET.tostring(alert, encoding="utf-8", xml_declaration=True)


def _add(parent: ET.Element, name: str, text: str) -> ET.Element:
    child = ET.SubElement(parent, f"{{{NS}}}{name}")
    child.text = text
    return child
