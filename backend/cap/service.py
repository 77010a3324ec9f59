"""A CAP 1.2 alert becomes an event (or a note on one, or its closure), once per sender and identifier.

What each message does:
- status `Actual` → a real event; `Exercise` → a drill (« EXERCICE »), paged like one; `Test`, `Draft`
  and `System` are refused (422): Vigie pages people, and a test that pages nobody is an
  « Exercice » or « Tester mes alertes »;
- msgType `Alert` → a new event; `Update` → an `event.cap` entry on the event its `references`
  name; `Cancel` → that event closed with the sender's note; `Ack` and `Error` are refused;
- `info/severity` Extreme / Severe / Moderate / Minor → 4 / 3 / 2 / 1 (Unknown: handled as 3);
- `info/category` → the commune's active procedure with that `cap_category` (the one whose category
  is the CAP `event`, else the first); none → refused (422 `no_procedure_for_category`): an alert
  must page whom the commune planned, never a guess;
- `area/areaDesc` → the place (the first circle's centre → the coordinates);
- the commune: `<parameter><valueName>commune</valueName><value>CODE</value>`, else (an update or a
  cancellation) the commune of the alert it refers to, else the caller's only commune.
A message already taken (same commune, sender and identifier) answers its event again and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.cap.models import CapAlert
from backend.cap.parse import CapMessage
from backend.db import db_now
from backend.errors import Conflict, NotFound, Unprocessable
from backend.events import service as event_service
from backend.events.models import Event, EventStatus
from backend.events.schemas import EventCreate
from backend.orgs.models import Organization
from backend.procedures.models import Procedure
from backend.trace import service as trace_service
from backend.trace.kinds import TraceKind
from backend.trace.service import Actor
from notifications.render import EXERCISE_MARK

SEVERITY_OF_CAP = {"Extreme": 4, "Severe": 3, "Moderate": 2, "Minor": 1}
# CAP's own <status> words (not a Vigie status): an alert that pages, and the one that is a drill.
EXERCISE = "Exercise"
PAGED_STATUSES = ("Actual", EXERCISE)


@dataclass(frozen=True)
class Taken:
    event: Event
    action: str  # created | updated | cancelled
    duplicate: bool


def take(*, db_session: Session, org_ids: frozenset[int], message: CapMessage, actor: Actor,
         user_id: int | None) -> Taken:
    if message.status not in PAGED_STATUSES:
        raise Unprocessable(f"status {message.status} is not taken: Vigie pages people for Actual alerts, and "
                            "for Exercise ones as drills", code="cap_status_refused",
                            details={"status": message.status, "accepted": list(PAGED_STATUSES)})
    if message.msg_type not in ("Alert", "Update", "Cancel"):
        raise Unprocessable(f"msgType {message.msg_type} is not taken (Alert, Update, Cancel)",
                            code="cap_msg_type_refused", details={"msgType": message.msg_type})
    organization = _commune(db_session=db_session, org_ids=org_ids, message=message)
    earlier = db_session.scalar(select(CapAlert).where(CapAlert.organization_id == organization.id,
                                                       CapAlert.sender == message.sender,
                                                       CapAlert.identifier == message.identifier))
    if earlier is not None and earlier.event_id is not None:
        event = event_service.get(db_session=db_session, event_id=earlier.event_id, org_ids=org_ids)
        return Taken(event, _ACTIONS[earlier.msg_type], duplicate=True)
    row = CapAlert(organization_id=organization.id, sender=message.sender, identifier=message.identifier,
                   msg_type=message.msg_type, status=message.status, received_at=db_now(db_session))
    try:
        with db_session.begin_nested():
            db_session.add(row)
            db_session.flush()
    except IntegrityError as exc:  # the same message, posted twice at once: the first one stands
        raise Conflict("this CAP message is being taken by another request", code="cap_in_progress") from exc
    if message.msg_type == "Alert":
        event = _open(db_session=db_session, organization=organization, message=message, actor=actor,
                      user_id=user_id)
    else:
        event = _referenced(db_session=db_session, organization=organization, message=message)
        _follow_up(db_session=db_session, event=event, message=message, actor=actor)
    row.event_id = event.id
    db_session.flush()
    return Taken(event, _ACTIONS[message.msg_type], duplicate=False)


_ACTIONS = {"Alert": "created", "Update": "updated", "Cancel": "cancelled"}


def _commune(*, db_session: Session, org_ids: frozenset[int], message: CapMessage) -> Organization:
    code = message.parameter("commune")  # Organization.code
    communes = select(Organization).where(Organization.id.in_(org_ids), Organization.kind == "commune")
    if code:
        organization = db_session.scalar(communes.where(func.upper(Organization.code) == code.upper()))
        if organization is None:
            raise NotFound("organization")
        return organization
    if message.references:  # an update or a cancellation goes where the alert it follows went
        referenced = db_session.scalar(communes.join(CapAlert, CapAlert.organization_id == Organization.id).where(
            tuple_(CapAlert.sender, CapAlert.identifier).in_(list(message.references))).limit(1))
        if referenced is not None:
            return referenced
    mine = list(db_session.scalars(communes.limit(2)))
    if len(mine) != 1:
        raise Unprocessable("say which commune: <parameter><valueName>commune</valueName><value>CODE</value>"
                            "</parameter> in <info>", code="commune_required")
    return mine[0]


def _open(*, db_session: Session, organization: Organization, message: CapMessage, actor: Actor,
          user_id: int | None) -> Event:
    info = message.info
    assert info is not None  # read() requires it for an Alert
    procedure = _procedure(db_session=db_session, organization=organization, categories=info.categories,
                           event_name=info.event)
    description = "\n\n".join(part for part in (info.description, info.instruction) if part)
    draft = EventCreate(
        organization_id=organization.id, procedure_id=procedure.id, severity=SEVERITY_OF_CAP.get(info.severity),
        cap_urgency=info.urgency, cap_certainty=info.certainty,  # type: ignore[arg-type]  # checked by read()
        title=_title(info.headline or info.event), description=description[:10_000], place=info.area_desc[:300],
        latitude=info.latitude, longitude=info.longitude, source="other",
        caller_name=(info.sender_name or message.sender)[:200], exercise=message.status == EXERCISE)
    event = event_service.create(db_session=db_session, org_ids=frozenset({organization.id}), draft=draft,
                                 actor=actor, user_id=user_id)
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.EVENT_CAP, actor=actor,
                         data=_said(message))
    return event


def _title(headline: str) -> str:
    # A drill exported by Vigie says « EXERCICE » in its headline: the event's messages say it once already.
    return (headline.removeprefix(EXERCISE_MARK) or headline)[:200]


def _procedure(*, db_session: Session, organization: Organization, categories: tuple[str, ...],
               event_name: str) -> Procedure:
    for category in categories:
        found = list(db_session.scalars(select(Procedure).where(
            Procedure.organization_id == organization.id, Procedure.active.is_(True),
            Procedure.cap_category == category).order_by(Procedure.id)))
        if found:
            return next((p for p in found if p.category.lower() == event_name.lower()), found[0])
    raise Unprocessable(f"the commune has no active procedure for CAP category {', '.join(categories)}: "
                        "give one of its procedures this CAP category, or open the event from the console",
                        code="no_procedure_for_category",
                        details={"categories": list(categories), "organization_id": organization.id})


def _referenced(*, db_session: Session, organization: Organization, message: CapMessage) -> Event:
    if not message.references:
        raise Unprocessable(f"a CAP {message.msg_type} must name the alert it follows in <references>",
                            code="cap_missing_element", details={"element": "references"})
    for sender, identifier in reversed(message.references):
        event_id = db_session.scalar(select(CapAlert.event_id).where(
            CapAlert.organization_id == organization.id, CapAlert.sender == sender,
            CapAlert.identifier == identifier))
        if event_id is not None:
            return event_service.get(db_session=db_session, event_id=event_id,
                                     org_ids=frozenset({organization.id}), lock=True)
    raise Unprocessable("none of the alerts in <references> was taken by Vigie for this commune",
                        code="unknown_reference", details={"references": [f"{s},{i}" for s, i in message.references]})


def _follow_up(*, db_session: Session, event: Event, message: CapMessage, actor: Actor) -> None:
    trace_service.append(db_session=db_session, event=event, kind=TraceKind.EVENT_CAP, actor=actor,
                         data=_said(message))
    if message.msg_type == "Cancel" and event.status != EventStatus.CLOSED:
        note = message.note or (message.info.description if message.info else "")
        reason = f"Alerte CAP annulée par son émetteur ({message.sender})" + (f" : {note}" if note else "")
        event_service.close(db_session=db_session, event=event, reason=reason[:2000], actor=actor)


def _said(message: CapMessage) -> dict:
    """What the trace keeps of a CAP message: who sent which, and what it says."""
    said: dict = {"msg_type": message.msg_type, "status": message.status, "sender": message.sender,
                  "identifier": message.identifier, "sent": message.sent.isoformat()}
    if message.note:
        said["note"] = message.note[:2000]
    if message.info is not None:
        info = message.info
        said.update({"category": list(info.categories), "event": info.event, "severity": info.severity,
                     "urgency": info.urgency, "certainty": info.certainty})
        for key, value in (("headline", info.headline), ("description", info.description),
                           ("area", info.area_desc)):
            if value:
                said[key] = value[:2000]
    return said
