"""A person's data under the RGPD: who accessed it (a log the commune's referent reads), and
everything Vigie holds on them in one JSON document."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.models import ApiToken, User
from backend.auth.service import Principal
from backend.db import db_now
from backend.groups.models import DistributionList, DistributionMember, GroupMember, OnCallGroup
from backend.inbound.models import InboundSms
from backend.outbox.models import Notification
from backend.people.models import Person
from backend.privacy.models import PersonalDataAccess
from backend.responses.models import Response
from backend.trace.models import TraceEntry

ACTIONS = ("create", "read", "change", "deactivate", "export", "pseudonymise")
CHANGES = ("create", "change", "deactivate", "pseudonymise")  # the directory's change history


def record(*, db_session: Session, principal: Principal, person: Person, action: str, what: str = "",
           import_id: int | None = None) -> None:
    assert action in ACTIONS, action
    db_session.add(PersonalDataAccess(at=db_now(db_session), organization_id=person.organization_id,
                                      person_id=person.id, user_id=principal.user.id,
                                      user_label=f"{principal.user.full_name} ({principal.role})",
                                      action=action, what=what[:100], import_id=import_id))


def change_history(*, db_session: Session, person_id: int, limit: int = 500) -> list[PersonalDataAccess]:
    """Who made, changed, deactivated this person (latest first), reads and exports left out."""
    return list(db_session.scalars(select(PersonalDataAccess).where(
        PersonalDataAccess.person_id == person_id, PersonalDataAccess.action.in_(CHANGES))
        .order_by(PersonalDataAccess.id.desc()).limit(limit)))


def access_log(*, db_session: Session, person_id: int, limit: int = 500) -> list[PersonalDataAccess]:
    return list(db_session.scalars(select(PersonalDataAccess).where(PersonalDataAccess.person_id == person_id)
                                   .order_by(PersonalDataAccess.id.desc()).limit(limit)))


def export(*, db_session: Session, person: Person) -> dict:
    """Everything held on `person`, as stored (the trace's entries they made, not other people's)."""
    users = list(db_session.scalars(select(User).where(User.person_id == person.id).order_by(User.id)))
    rows = db_session.scalars
    return {
        "person": {"id": person.id, "organization_id": person.organization_id, "first_name": person.first_name,
                   "last_name": person.last_name, "job_title": person.job_title,
                   "employee_number": person.employee_number, "is_elected": person.is_elected,
                   "email_copies": person.email_copies, "active": person.active, "created_at": person.created_at},
        "contact_methods": [{"kind": c.kind, "address": c.address, "label": c.label, "enabled": c.enabled,
                             "created_at": c.created_at} for c in person.contact_methods],
        "accounts": [{"email": u.email, "full_name": u.full_name, "role": u.role, "active": u.is_active,
                      "created_at": u.created_at} for u in users],
        "devices": [{"label": t.label, "created_at": t.created_at, "expires_at": t.expires_at,
                     "revoked_at": t.revoked_at} for t in rows(
            select(ApiToken).where(ApiToken.user_id.in_([u.id for u in users]), ApiToken.kind == "device")
            .order_by(ApiToken.id))],
        "on_call_groups": [name for name in rows(
            select(OnCallGroup.name).join(GroupMember, GroupMember.group_id == OnCallGroup.id)
            .where(GroupMember.person_id == person.id).order_by(OnCallGroup.name))],
        "distribution_lists": [name for name in rows(
            select(DistributionList.name).join(DistributionMember, DistributionMember.list_id == DistributionList.id)
            .where(DistributionMember.person_id == person.id).order_by(DistributionList.name))],
        "messages_sent": [{"event_id": n.event_id, "channel": n.channel, "address": n.address, "purpose": n.purpose,
                           "text": n.text, "status": n.status, "created_at": n.created_at,
                           "handed_off_at": n.handed_off_at} for n in rows(
            select(Notification).where(Notification.person_id == person.id).order_by(Notification.id))],
        "answers": [{"event_id": r.event_id, "kind": r.kind, "text": r.text, "via": r.via,
                     "created_at": r.created_at} for r in rows(
            select(Response).where(Response.person_id == person.id).order_by(Response.id))],
        "sms_received": [{"sender": s.sender, "text": s.text, "outcome": s.outcome, "received_at": s.received_at}
                         for s in rows(select(InboundSms).where(InboundSms.person_id == person.id)
                                       .order_by(InboundSms.id))],
        "trace_entries": [{"event_id": e.event_id, "at": e.at, "kind": e.kind, "data": e.data} for e in rows(
            select(TraceEntry).where(TraceEntry.actor_type == "person", TraceEntry.actor_id == person.id)
            .order_by(TraceEntry.id))],
        "access_log": [access_json(a) for a in access_log(db_session=db_session, person_id=person.id, limit=10_000)],
    }


def access_json(access: PersonalDataAccess) -> dict:
    return {"at": access.at, "user_id": access.user_id, "user": access.user_label, "action": access.action,
            "what": access.what, "import_id": access.import_id}
