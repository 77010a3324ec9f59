"""The trace's kinds have one home (backend/trace/kinds.py): the code, the console and the README follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backend.events.schemas import EventCreate
from backend.trace.kinds import GroupTraceKind, TraceKind, markdown
from tests.source import backend_lines_matching

ROOT = Path(__file__).resolve().parents[2]
EVERY_KIND = {kind.value for kind in TraceKind} | {kind.value for kind in GroupTraceKind}


def test_no_kind_is_spelled_out_in_the_code_outside_the_catalogue():
    alternatives = "|".join(re.escape(kind) for kind in EVERY_KIND)
    pattern = re.compile(rf"""["']({alternatives})["']""")
    spelled = backend_lines_matching(pattern, skip=("kinds.py",))
    assert not spelled, "use TraceKind / GroupTraceKind:\n" + "\n".join(spelled)


def test_the_console_says_every_kind_of_an_events_trace_and_no_other():
    labels = (ROOT / "pwa/console/js/labels.js").read_text()
    block = re.search(r"export const TRACE_KINDS = \{(.*?)\n\};", labels, re.S).group(1)
    said = set(re.findall(r'"([a-z_]+\.[a-z_]+)":', block))
    assert said == {kind.value for kind in TraceKind}


def test_the_readme_lists_every_kind_with_its_meaning():
    assert markdown() in (ROOT / "README.md").read_text(), "README out of date: python -m backend.trace.kinds"


def test_a_kind_outside_the_catalogue_is_refused_when_written(runtime, world):
    from backend.db import transaction
    from backend.trace import service as trace_service

    with transaction(runtime.session_factory) as session:
        event = _an_event(session, world)
        with pytest.raises(ValueError):
            trace_service.append(db_session=session, event=event, kind="page.notified")  # type: ignore[arg-type]


def _an_event(session, world):
    from backend.events import service as event_service
    from backend.trace.service import Actor

    return event_service.create(db_session=session, org_ids=frozenset({world.commune_id}), actor=Actor("system", None, "test"), user_id=None,
               draft=EventCreate(organization_id=world.commune_id, procedure_id=world.procedure_id, severity=3, title="Arbre"))
