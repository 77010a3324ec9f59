"""Procedures: one per category and commune, steps over the commune's own groups (and the groups of the
métropole serving it, such as its astreinte de décision), soft deletion.

Every change of content is a new version, a draft until a PC admin validates it; the procedure's own
columns hold the last validated version (what new events use), the versions hold every one whole.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from backend.auth.models import User
from backend.db import db_now
from backend.errors import Conflict, NotFound, Unprocessable
from backend.events.models import Event
from backend.groups import escalation as group_rules
from backend.groups.models import DistributionList, OnCallGroup
from backend.procedures.models import (
    CONTENT_FIELDS,
    DEFAULT_TIMINGS,
    Procedure,
    ProcedureReportList,
    ProcedureStep,
    ProcedureVersion,
    VersionStatus,
)
from backend.procedures.schemas import ProcedureCreate, ProcedureUpdate

LOAD = (selectinload(Procedure.steps), selectinload(Procedure.report_lists))


def get(*, db_session: Session, procedure_id: int, org_ids: frozenset[int]) -> Procedure:
    procedure = db_session.scalar(select(Procedure).options(*LOAD)
                                  .where(Procedure.id == procedure_id, Procedure.organization_id.in_(org_ids)))
    if procedure is None:
        raise NotFound("procedure")
    return procedure


def list_procedures(*, db_session: Session, org_ids: frozenset[int], organization_id: int | None = None,
                    active: bool | None = None, q: str | None = None,
                    cap_category: str | None = None) -> list[Procedure]:
    query = select(Procedure).options(*LOAD).where(Procedure.organization_id.in_(org_ids))
    if organization_id is not None:
        query = query.where(Procedure.organization_id == organization_id)
    if active is not None:
        query = query.where(Procedure.active == active)
    if cap_category:
        query = query.where(Procedure.cap_category == cap_category)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(or_(func.lower(Procedure.category).like(pattern),
                                func.lower(Procedure.instructions).like(pattern)))
    return list(db_session.scalars(query.order_by(Procedure.category, Procedure.id)))


def create(*, db_session: Session, organization_id: int, draft: ProcedureCreate, author_user_id: int | None,
           validate: bool = False, now: datetime | None = None) -> Procedure:
    """A new procedure whose version 1 is a draft (not offered to events) unless `validate` (the route checks an
    admin asks). `organization_id`: the commune the caller may edit (checked against the draft's by the route)."""
    content = normalized(draft.model_dump(include=set(CONTENT_FIELDS)))
    check_content(db_session=db_session, organization_id=organization_id, content=content)
    procedure = Procedure(organization_id=organization_id, version=0, active=True)
    _apply(procedure=procedure, content=content)
    db_session.add(procedure)
    _flush_unique(db_session)
    db_session.add(ProcedureVersion(procedure_id=procedure.id, number=1, status=VersionStatus.DRAFT, content=content,
                                    changes=list(CONTENT_FIELDS), note=draft.note, author_user_id=author_user_id,
                                    created_at=now or db_now(db_session)))
    db_session.flush()
    if validate:
        validate_version(db_session=db_session, procedure=procedure, number=1, user_id=author_user_id, now=now)
    return procedure


def propose(*, db_session: Session, procedure: Procedure, patch: ProcedureUpdate, author_user_id: int | None,
            now: datetime | None = None) -> ProcedureVersion | None:
    """Switch on or off at once; any other change becomes a new draft version (None: nothing else changed)."""
    changes = patch.changes()
    changes.pop("validate_now", None)
    note = changes.pop("note", "")
    if "active" in changes:
        procedure.active = changes.pop("active")
        db_session.flush()
    if not changes:
        return None
    baseline = _ensure_baseline(db_session=db_session, procedure=procedure, now=now)
    latest = db_session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id)
                               .order_by(ProcedureVersion.number.desc()).limit(1)) or baseline
    before = normalized(latest.content)
    content = normalized({**before, **changes})
    changed = [name for name in CONTENT_FIELDS if content[name] != before[name]]
    if not changed:
        return None
    check_content(db_session=db_session, organization_id=procedure.organization_id, content=content,
                  ignore_id=procedure.id)
    version = ProcedureVersion(procedure_id=procedure.id, number=latest.number + 1, status=VersionStatus.DRAFT, content=content,
                               changes=changed, note=note, author_user_id=author_user_id,
                               created_at=now or db_now(db_session))
    db_session.add(version)
    _flush_unique(db_session)
    return version


def validate_version(*, db_session: Session, procedure: Procedure, number: int, user_id: int | None,
                     now: datetime | None = None) -> ProcedureVersion:
    """The draft becomes what new events use; earlier drafts are superseded. Admins only (checked by the route)."""
    # Two admins validating two drafts at once: one after the other, the second seeing the first's work.
    db_session.execute(select(Procedure.id).where(Procedure.id == procedure.id).with_for_update())
    db_session.refresh(procedure)
    version = db_session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id,
                                                               ProcedureVersion.number == number))
    if version is None:
        raise NotFound("procedure version")
    if version.status != VersionStatus.DRAFT:
        raise Conflict("only a draft can be validated", code="version_not_draft", details={"status": version.status})
    if number <= procedure.version:
        raise Conflict("a later version is already validated", code="version_outdated",
                       details={"validated": procedure.version})
    content = normalized(version.content)
    # The commune may have changed since the draft: its groups, lists and categories are checked again.
    check_content(db_session=db_session, organization_id=procedure.organization_id, content=content,
                  ignore_id=procedure.id)
    _apply(procedure=procedure, content=content)
    procedure.version = number
    version.status = VersionStatus.VALIDATED
    version.validated_by_user_id = user_id
    version.validated_at = now or db_now(db_session)
    for older in db_session.scalars(select(ProcedureVersion).where(
            ProcedureVersion.procedure_id == procedure.id, ProcedureVersion.status == VersionStatus.DRAFT,
            ProcedureVersion.number < number)):
        older.status = VersionStatus.SUPERSEDED
    _flush_unique(db_session)
    return version


def record_first_version(*, db_session: Session, procedure: Procedure, now: datetime | None = None) -> None:
    """For a procedure made outside the API (the demo): its content as its first version, validated."""
    db_session.flush()
    _ensure_baseline(db_session=db_session, procedure=procedure, now=now)


def deactivate(*, db_session: Session, procedure: Procedure) -> None:
    """Events refer to their procedure: it is switched off, never deleted."""
    procedure.active = False
    db_session.flush()


def versions_of(*, db_session: Session, procedure: Procedure) -> list[ProcedureVersion]:
    return list(db_session.scalars(select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id)
                                   .order_by(ProcedureVersion.number.desc())))


def usable_version(*, db_session: Session, procedure: Procedure) -> ProcedureVersion | None:
    """The validated version a new event takes (None for a procedure made before versions: used as it is)."""
    if procedure.version == 0:
        raise Unprocessable("this procedure has no validated version yet: a PC admin must validate it",
                            code="procedure_not_validated")
    return db_session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id,
                                                            ProcedureVersion.number == procedure.version))


def with_defaults(timings: dict) -> dict:
    """Timings for severities 2 to 4, the defaults filling the ones left out."""
    return {sev: dict(timings.get(sev) or default) for sev, default in DEFAULT_TIMINGS.items()}


def content_of(procedure: Procedure) -> dict:
    """The procedure's own columns (its last validated version) as a version's content."""
    return normalized({"category": procedure.category, "cap_category": procedure.cap_category,
                       "instructions": procedure.instructions, "default_severity": procedure.default_severity,
                       "timings": procedure.timings or {},
                       "steps": [{"group_id": s.group_id, "mode": s.mode, "min_severity": s.min_severity,
                                  "inform_all": s.inform_all} for s in procedure.steps],
                       "report_list_ids": [r.list_id for r in procedure.report_lists]})


def normalized(content: dict) -> dict:
    """The same content always written the same way, so that versions compare."""
    return {"category": content["category"], "cap_category": content.get("cap_category") or "Other",
            "instructions": content.get("instructions") or "", "default_severity": content.get("default_severity"),
            "timings": with_defaults(content.get("timings") or {}),
            "steps": [{"group_id": int(s["group_id"]), "mode": s.get("mode") or "solicit",
                       "min_severity": int(s.get("min_severity") or 1),
                       "inform_all": bool(s.get("inform_all")) and s.get("mode") == "inform"} for s in content["steps"]],
            "report_list_ids": sorted(int(i) for i in content.get("report_list_ids") or [])}


def check_content(*, db_session: Session, organization_id: int, content: dict, ignore_id: int | None = None) -> None:
    _ensure_category_free(db_session=db_session, organization_id=organization_id, category=content["category"],
                          ignore_id=ignore_id)
    check_groups_and_lists(db_session=db_session, organization_id=organization_id, content=content)


def check_groups_and_lists(*, db_session: Session, organization_id: int, content: dict) -> None:
    """Each group and list once; lists the commune's own, groups its own or its métropole's."""
    _ensure_groups(db_session=db_session, organization_id=organization_id,
                   group_ids=[s["group_id"] for s in content["steps"]])
    _ensure_lists(db_session=db_session, organization_id=organization_id, list_ids=content["report_list_ids"])


def _apply(*, procedure: Procedure, content: dict) -> None:
    procedure.category = content["category"]
    procedure.cap_category = content["cap_category"]
    procedure.instructions = content["instructions"]
    procedure.default_severity = content["default_severity"]
    procedure.timings = with_defaults(content["timings"])
    procedure.steps = [ProcedureStep(position=i, group_id=s["group_id"], mode=s["mode"],
                                     min_severity=s["min_severity"], inform_all=s["inform_all"])
                       for i, s in enumerate(content["steps"])]
    # Keep the rows that stay: the (procedure, list) key is unique and inserts are flushed first.
    current = {r.list_id: r for r in procedure.report_lists}
    procedure.report_lists = [current.get(i) or ProcedureReportList(list_id=i) for i in content["report_list_ids"]]


def _ensure_baseline(*, db_session: Session, procedure: Procedure, now: datetime | None) -> ProcedureVersion:
    """The version the procedure's columns hold, recorded if it never was (procedures made before versions)."""
    number = max(procedure.version, 1)
    row = db_session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id,
                                                           ProcedureVersion.number == number))
    if row is not None:
        return row
    at = now or db_now(db_session)
    row = ProcedureVersion(procedure_id=procedure.id, number=number, status=VersionStatus.VALIDATED, content=content_of(procedure),
                           changes=[], note="", created_at=at, validated_at=at)
    db_session.add(row)
    _flush_unique(db_session)
    # The events opened on it so far followed this very content: they keep it after the edit.
    db_session.execute(update(Event).where(Event.procedure_id == procedure.id, Event.procedure_version_id.is_(None))
                       .values(procedure_version_id=row.id).execution_options(synchronize_session=False))
    return row


def _ensure_groups(*, db_session: Session, organization_id: int, group_ids: list[int]) -> None:
    group_rules.ensure_eligible(db_session=db_session, organization_id=organization_id, group_ids=group_ids)


def _ensure_lists(*, db_session: Session, organization_id: int, list_ids: list[int]) -> None:
    _ensure_unique(list_ids, code="duplicate_distribution_list", what="distribution list")
    found = set(db_session.scalars(select(DistributionList.id).where(
        DistributionList.id.in_(list_ids), DistributionList.organization_id == organization_id)))
    unknown = [i for i in list_ids if i not in found]
    if unknown:
        raise Unprocessable("these distribution lists are not in this organization",
                            code="unknown_distribution_list", details={"list_ids": unknown})


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
    """Procedures with each step's group name, the report lists, and the draft waiting for validation."""
    group_ids = {s.group_id for p in procedures for s in p.steps}
    rows = db_session.execute(select(OnCallGroup.id, OnCallGroup.name).where(OnCallGroup.id.in_(group_ids)))
    names = {group_id: name for group_id, name in rows}
    drafts = {procedure_id: number for procedure_id, number in db_session.execute(
        select(ProcedureVersion.procedure_id, func.max(ProcedureVersion.number))
        .where(ProcedureVersion.procedure_id.in_([p.id for p in procedures]), ProcedureVersion.status == VersionStatus.DRAFT)
        .group_by(ProcedureVersion.procedure_id))}
    return [{"id": p.id, "organization_id": p.organization_id, "category": p.category,
             "cap_category": p.cap_category, "instructions": p.instructions, "default_severity": p.default_severity,
             "timings": with_defaults(p.timings or {}),
             "active": p.active, "created_at": p.created_at, "version": p.version,
             "draft_version": drafts.get(p.id),
             "steps": [{"position": s.position, "group_id": s.group_id, "group_name": names.get(s.group_id, ""),
                        "mode": s.mode, "min_severity": s.min_severity, "inform_all": s.inform_all}
                       for s in p.steps],
             "report_list_ids": sorted(r.list_id for r in p.report_lists)}
            for p in procedures]


def version_views(*, db_session: Session, procedure: Procedure, versions: list[ProcedureVersion]) -> list[dict]:
    """Versions with who wrote and who validated them, their steps named; one for a procedure made before versions."""
    if not versions:
        versions = [ProcedureVersion(id=None, procedure_id=procedure.id, number=max(procedure.version, 1),
                                     status=VersionStatus.VALIDATED, content=content_of(procedure), changes=[], note="",
                                     created_at=procedure.created_at, validated_at=procedure.created_at)]
    user_ids = {v.author_user_id for v in versions} | {v.validated_by_user_id for v in versions}
    users = {user_id: name for user_id, name in db_session.execute(
        select(User.id, User.full_name).where(User.id.in_({i for i in user_ids if i is not None})))}
    group_ids = {s["group_id"] for v in versions for s in v.content.get("steps", [])}
    groups = {group_id: name for group_id, name in db_session.execute(
        select(OnCallGroup.id, OnCallGroup.name).where(OnCallGroup.id.in_(group_ids)))}
    return [{"id": v.id, "procedure_id": procedure.id, "number": v.number, "status": v.status,
             "changes": v.changes or [], "note": v.note or "", "created_at": v.created_at,
             "author": users.get(v.author_user_id, "") if v.author_user_id else "",
             "validated_at": v.validated_at,
             "validated_by": users.get(v.validated_by_user_id, "") if v.validated_by_user_id else "",
             "content": {**v.content, "steps": [{**s, "group_name": groups.get(s["group_id"], "")}
                                                for s in v.content.get("steps", [])]}}
            for v in versions]
