"""A commune's procedures out (JSON, CSV) and back in: groups and lists by name, so a file moves between
communes and instances. An import is checked whole first and applied whole or not at all; what it brings
is a draft version, validated like any other."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Unprocessable, VigieError
from backend.groups.models import DistributionList, OnCallGroup
from backend.orgs.models import Organization
from backend.procedures import service
from backend.procedures.models import Procedure
from backend.procedures.schemas import ProcedureCreate, ProceduresFile, ProcedureUpdate

MODES = {"solicit": "sollicité", "inform": "informé"}
METROPOLE_PREFIX = "Métropole — "


def export(*, db_session: Session, organization: Organization) -> dict:
    """Every procedure of the commune as its last validated version (a never validated one as its draft)."""
    procedures = service.list_procedures(db_session=db_session, org_ids=frozenset({organization.id}))
    groups = _names(db_session, OnCallGroup, organization.id)
    metropole_groups = _metropole_groups(db_session, organization)
    lists = _names(db_session, DistributionList, organization.id)
    return {"format": "vigie.procedures", "format_version": 1, "organization": organization.name,
            "procedures": [{"category": p.category, "cap_category": p.cap_category, "instructions": p.instructions,
                            "default_severity": p.default_severity,
                            "timings": service.with_defaults(p.timings or {}), "active": p.active,
                            "version": p.version,
                            "steps": [_exported_step(s, groups, metropole_groups) for s in p.steps],
                            "report_lists": sorted(lists.get(r.list_id, "") for r in p.report_lists)}
                           for p in procedures]}


def export_csv(document: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["catégorie", "catégorie CAP", "active", "version", "groupes (dans l'ordre)",
                     "rapport à", "consignes"])
    for p in document["procedures"]:
        steps = " > ".join(f"{METROPOLE_PREFIX if s.get('of_metropole') else ''}{s['group']} "
                           f"({MODES[s['mode']]}{', toute la liste' if s.get('inform_all') else ''}, "
                           f"gravité ≥ {s['min_severity']})" for s in p["steps"])
        writer.writerow([p["category"], p["cap_category"], "oui" if p["active"] else "non", p["version"], steps,
                         ", ".join(p["report_lists"]), p["instructions"]])
    return out.getvalue()


def import_file(*, db_session: Session, organization: Organization, document: ProceduresFile, author_user_id: int,
                apply: bool, now: datetime | None = None) -> dict:
    """What the file would create, change or leave; with `apply`, done whole, or refused whole on any problem."""
    groups = {name: i for i, name in _names(db_session, OnCallGroup, organization.id).items()}
    metropole_groups = {name: i for i, name in _metropole_groups(db_session, organization).items()}
    lists = {name: i for i, name in _names(db_session, DistributionList, organization.id).items()}
    existing = {p.category: p for p in service.list_procedures(db_session=db_session,
                                                               org_ids=frozenset({organization.id}))}
    result: dict = {"applied": False, "created": [], "changed": [], "unchanged": [], "problems": []}
    planned = []
    seen = set()

    def problem(index: int, category: str, code: str, message: str) -> None:
        result["problems"].append({"index": index, "category": category, "code": code, "message": message})

    def group_of(step) -> int | None:
        return (metropole_groups if step.of_metropole else groups).get(step.group)

    for index, item in enumerate(document.procedures):
        if item.category in seen:
            problem(index, item.category, "duplicate_category", "this category appears more than once in the file")
            continue
        seen.add(item.category)
        missing = [(METROPOLE_PREFIX if s.of_metropole else "") + s.group for s in item.steps if group_of(s) is None]
        missing_lists = [name for name in item.report_lists if name not in lists]
        if missing or missing_lists:
            problem(index, item.category, "unknown_name",
                    "unknown in this commune (or its métropole): " + ", ".join([*missing, *missing_lists]))
            continue
        content = {"category": item.category, "cap_category": item.cap_category, "instructions": item.instructions,
                   "default_severity": item.default_severity,
                   "timings": {k: v.model_dump() for k, v in item.timings.items()},
                   "steps": [{"group_id": group_of(s), "mode": s.mode, "min_severity": s.min_severity,
                              "inform_all": s.inform_all} for s in item.steps],
                   "report_list_ids": [lists[name] for name in item.report_lists]}
        try:
            content = service.normalized(content)
            service.check_groups_and_lists(db_session=db_session, organization_id=organization.id, content=content)
        except VigieError as refusal:
            problem(index, item.category, refusal.code or "invalid", str(refusal))
            continue
        current = existing.get(item.category)
        if current is None:
            result["created"].append(item.category)
        elif _latest_content(db_session, current) == content:
            result["unchanged"].append(item.category)
            continue
        else:
            result["changed"].append(item.category)
        planned.append((current, content, item.active))
    if not apply:
        return result
    if result["problems"]:
        raise Unprocessable("the file has problems: nothing was imported", code="import_refused",
                            details={"problems": result["problems"]})
    for current, content, active in planned:
        if current is None:
            draft = ProcedureCreate(organization_id=organization.id, note="import", **content)
            created = service.create(db_session=db_session, organization_id=organization.id, draft=draft,
                                     author_user_id=author_user_id, now=now)
            created.active = active
        else:
            patch = ProcedureUpdate(note="import", **{k: v for k, v in content.items() if k != "category"})
            service.propose(db_session=db_session, procedure=current, patch=patch, author_user_id=author_user_id,
                            now=now)
    db_session.flush()
    result["applied"] = True
    return result


def _latest_content(db_session: Session, procedure: Procedure) -> dict:
    versions = service.versions_of(db_session=db_session, procedure=procedure)
    return service.normalized(versions[0].content) if versions else service.content_of(procedure)


def _names(db_session: Session, model, organization_id: int) -> dict[int, str]:
    return {row_id: name for row_id, name in db_session.execute(
        select(model.id, model.name).where(model.organization_id == organization_id))}


def _metropole_groups(db_session: Session, organization: Organization) -> dict[int, str]:
    """The groups of the métropole serving the commune, which its procedures may name too."""
    return _names(db_session, OnCallGroup, organization.served_by_id) if organization.served_by_id else {}


def _exported_step(step, groups: dict[int, str], metropole_groups: dict[int, str]) -> dict:
    common = {"mode": step.mode, "min_severity": step.min_severity, "inform_all": step.inform_all}
    if step.group_id in metropole_groups:
        return {"group": metropole_groups[step.group_id], "of_metropole": True, **common}
    return {"group": groups.get(step.group_id, ""), **common}
