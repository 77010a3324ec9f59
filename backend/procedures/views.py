"""What the PC reads of the procedure behind an event: the version it was opened with, even after later edits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.events.models import Event
from backend.groups.models import OnCallGroup
from backend.procedures import plan as plans
from backend.procedures import service
from backend.procedures.models import Procedure, ProcedureVersion


def plan_of(*, db_session: Session, event: Event) -> plans.Plan | Procedure | None:
    """The steps and timings the event walks: its version's, its chosen groups', or (made before versions)
    its procedure's as they are."""
    if event.ad_hoc_group_ids:
        return _existing(db_session, plans.ad_hoc(list(event.ad_hoc_group_ids)))
    if event.procedure_version_id is not None:
        version = db_session.get(ProcedureVersion, event.procedure_version_id)
        if version is not None:
            return _existing(db_session, plans.from_content(version.content))
    if event.procedure_id is None:
        return None
    return db_session.scalar(select(Procedure).options(selectinload(Procedure.steps))
                             .where(Procedure.id == event.procedure_id))


def _existing(db_session: Session, plan: plans.Plan) -> plans.Plan:
    """Without the groups deleted since the event was opened (only a procedure in service holds on to its own)."""
    ids = {s.group_id for s in plan.steps}
    found = set(db_session.scalars(select(OnCallGroup.id).where(OnCallGroup.id.in_(ids))))
    return plans.Plan(steps=tuple(s for s in plan.steps if s.group_id in found), timings=plan.timings)


def event_procedure(*, db_session: Session, event: Event) -> dict:
    if event.procedure_id is None:
        steps = [{"group_id": g, "mode": "solicit", "min_severity": 1} for g in event.ad_hoc_group_ids or []]
        return {"procedure_id": None, "version": None, "category": event.category, "instructions": "",
                "default_severity": None,
                "without_procedure": True, "steps": _named(db_session, steps)}
    version = db_session.get(ProcedureVersion, event.procedure_version_id) if event.procedure_version_id else None
    if version is not None:
        content, number = version.content, version.number
    else:
        procedure = db_session.scalars(select(Procedure).options(*service.LOAD)
                                       .where(Procedure.id == event.procedure_id)).one()
        content, number = service.content_of(procedure), max(procedure.version, 1)
    return {"procedure_id": event.procedure_id, "version": number, "category": content["category"],
            "instructions": content.get("instructions", ""), "default_severity": content.get("default_severity"),
            "without_procedure": False,
            "steps": _named(db_session, content.get("steps", []))}


def _named(db_session: Session, steps: list[dict]) -> list[dict]:
    names = {group_id: name for group_id, name in db_session.execute(
        select(OnCallGroup.id, OnCallGroup.name).where(OnCallGroup.id.in_([s["group_id"] for s in steps])))}
    return [{**s, "group_name": names.get(s["group_id"], "")} for s in steps]
