"""Procedures: one per category and commune, steps over the commune's own groups, soft deletion."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from backend.errors import Conflict, NotFound, Unprocessable
from backend.groups.models import DistributionList, OnCallGroup
from backend.procedures.models import DEFAULT_TIMINGS, Procedure, ProcedureReportList, ProcedureStep
from backend.procedures.schemas import ProcedureCreate, ProcedureUpdate

LOAD = (selectinload(Procedure.steps), selectinload(Procedure.report_lists))


def get(*, db_session: Session, procedure_id: int, org_ids: frozenset[int]) -> Procedure:
    procedure = db_session.scalar(select(Procedure).options(*LOAD)
                                  .where(Procedure.id == procedure_id, Procedure.organization_id.in_(org_ids)))
    if procedure is None:
        raise NotFound("procedure")
    return procedure


def list_procedures(*, db_session: Session, org_ids: frozenset[int], organization_id: int | None = None,
                    active: bool | None = None) -> list[Procedure]:
    query = select(Procedure).options(*LOAD).where(Procedure.organization_id.in_(org_ids))
    if organization_id is not None:
        query = query.where(Procedure.organization_id == organization_id)
    if active is not None:
        query = query.where(Procedure.active == active)
    return list(db_session.scalars(query.order_by(Procedure.category, Procedure.id)))


def create(*, db_session: Session, organization_id: int, draft: ProcedureCreate) -> Procedure:
    """`organization_id`: the commune the caller may edit (checked against `draft.organization_id` by the route)."""
    data = draft.model_dump(exclude={"organization_id"})  # steps and timings as the update takes them
    _ensure_category_free(db_session=db_session, organization_id=organization_id, category=data["category"])
    procedure = Procedure(organization_id=organization_id, category=data["category"],
                          cap_category=data["cap_category"], instructions=data["instructions"],
                          timings=with_defaults(data["timings"]))
    _set_steps(db_session=db_session, procedure=procedure, steps=data["steps"])
    _set_report_lists(db_session=db_session, procedure=procedure, list_ids=data["report_list_ids"])
    db_session.add(procedure)
    _flush_unique(db_session)
    return procedure


def update(*, db_session: Session, procedure: Procedure, patch: ProcedureUpdate) -> Procedure:
    changes = patch.changes()
    if changes.get("category", procedure.category) != procedure.category:
        _ensure_category_free(db_session=db_session, organization_id=procedure.organization_id,
                              category=changes["category"], ignore_id=procedure.id)
    if "steps" in changes:
        _set_steps(db_session=db_session, procedure=procedure, steps=changes.pop("steps"))
    if "report_list_ids" in changes:
        _set_report_lists(db_session=db_session, procedure=procedure, list_ids=changes.pop("report_list_ids"))
    if "timings" in changes:
        changes["timings"] = with_defaults(changes["timings"])
    for name, value in changes.items():
        setattr(procedure, name, value)
    _flush_unique(db_session)
    return procedure


def deactivate(*, db_session: Session, procedure: Procedure) -> None:
    """Events refer to their procedure: it is switched off, never deleted."""
    procedure.active = False
    db_session.flush()


def with_defaults(timings: dict) -> dict:
    """Timings for severities 2 to 4, the defaults filling the ones left out."""
    return {sev: dict(timings.get(sev) or default) for sev, default in DEFAULT_TIMINGS.items()}


def _set_steps(*, db_session: Session, procedure: Procedure, steps: list[dict]) -> None:
    group_ids = [s["group_id"] for s in steps]
    _ensure_unique(group_ids, code="duplicate_group", what="group")
    found = set(db_session.scalars(select(OnCallGroup.id).where(
        OnCallGroup.id.in_(group_ids), OnCallGroup.organization_id == procedure.organization_id)))
    unknown = [g for g in group_ids if g not in found]
    if unknown:
        raise Unprocessable("these groups are not in this organization", code="unknown_group",
                            details={"group_ids": unknown})
    procedure.steps = [ProcedureStep(position=i, group_id=s["group_id"], mode=s["mode"],
                                     min_severity=s["min_severity"]) for i, s in enumerate(steps)]


def _set_report_lists(*, db_session: Session, procedure: Procedure, list_ids: list[int]) -> None:
    _ensure_unique(list_ids, code="duplicate_distribution_list", what="distribution list")
    found = set(db_session.scalars(select(DistributionList.id).where(
        DistributionList.id.in_(list_ids), DistributionList.organization_id == procedure.organization_id)))
    unknown = [i for i in list_ids if i not in found]
    if unknown:
        raise Unprocessable("these distribution lists are not in this organization",
                            code="unknown_distribution_list", details={"list_ids": unknown})
    # Keep the rows that stay: the (procedure, list) key is unique and inserts are flushed first.
    current = {r.list_id: r for r in procedure.report_lists}
    procedure.report_lists = [current.get(i) or ProcedureReportList(list_id=i) for i in list_ids]


def _ensure_unique(ids: list[int], *, code: str, what: str) -> None:
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    if duplicates:
        raise Unprocessable(f"a {what} appears more than once", code=code, details={"ids": duplicates})


def _ensure_category_free(*, db_session: Session, organization_id: int, category: str,
                          ignore_id: int | None = None) -> None:
    existing = db_session.scalar(select(Procedure).where(Procedure.organization_id == organization_id,
                                                         Procedure.category == category))
    if existing is not None and existing.id != ignore_id:
        state = "" if existing.active else " (deactivated: switch it back on instead)"
        raise Conflict(f"this commune already has a procedure for {category!r}{state}", code="category_taken",
                       details={"procedure_id": existing.id})


def _flush_unique(db_session: Session) -> None:
    # A concurrent request may take the category between our check and this flush.
    try:
        db_session.flush()
    except IntegrityError as exc:
        raise Conflict("the change conflicts with existing data", code="integrity_conflict") from exc


def procedure_views(*, db_session: Session, procedures: list[Procedure]) -> list[dict]:
    """Procedures with each step's group name and the report lists."""
    group_ids = {s.group_id for p in procedures for s in p.steps}
    rows = db_session.execute(select(OnCallGroup.id, OnCallGroup.name).where(OnCallGroup.id.in_(group_ids)))
    names = {group_id: name for group_id, name in rows}
    return [{"id": p.id, "organization_id": p.organization_id, "category": p.category,
             "cap_category": p.cap_category, "instructions": p.instructions, "timings": with_defaults(p.timings or {}),
             "active": p.active, "created_at": p.created_at,
             "steps": [{"position": s.position, "group_id": s.group_id, "group_name": names.get(s.group_id, ""),
                        "mode": s.mode, "min_severity": s.min_severity} for s in p.steps],
             "report_list_ids": sorted(r.list_id for r in p.report_lists)}
            for p in procedures]
