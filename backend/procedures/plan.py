"""What an event walks: the steps and timings of the procedure version it was opened with, or of the
groups an operator chose for an unforeseen case. The page shell reads `steps` and `timings` only."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.procedures.models import DEFAULT_TIMINGS


@dataclass(frozen=True)
class PlanStep:
    group_id: int
    mode: str = "solicit"
    min_severity: int = 1
    inform_all: bool = False  # an inform step: every member, not only the person on call


@dataclass(frozen=True)
class Plan:
    steps: tuple[PlanStep, ...]
    timings: dict = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_TIMINGS.items()})


def from_content(content: dict) -> Plan:
    """A procedure version's content (`ProcedureVersion.content`)."""
    return Plan(steps=tuple(PlanStep(int(s["group_id"]), s.get("mode", "solicit"), int(s.get("min_severity", 1)),
                                     bool(s.get("inform_all")))
                            for s in content.get("steps", [])),
                timings=dict(content.get("timings") or DEFAULT_TIMINGS))


def ad_hoc(group_ids: list[int]) -> Plan:
    """Without a procedure: every chosen group solicited in the chosen order, at every severity, default timings."""
    return Plan(steps=tuple(PlanStep(group_id) for group_id in group_ids))
