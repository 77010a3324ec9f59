"""Dependencies point one way: backend → escalation, backend → notifications; never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update((str(path.relative_to(ROOT)), alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


@pytest.mark.parametrize("package", ["escalation", "notifications"])
def test_core_packages_never_import_the_backend(package):
    offenders = [(f, m) for f, m in imported_modules(package) if m == "backend" or m.startswith("backend.")]
    assert offenders == []


def test_escalation_does_no_io():
    forbidden = ("sqlalchemy", "httpx", "requests", "socket", "time", "asyncio", "notifications", "os")
    offenders = [(f, m) for f, m in imported_modules("escalation") if m.split(".")[0] in forbidden]
    assert offenders == []


def test_outbox_rows_are_made_only_by_the_outbox():
    # What to send, when and on which road is the outbox's: others call its enqueue functions.
    makers = [str(path.relative_to(ROOT)) for path in (ROOT / "backend").rglob("*.py")
              if "outbox" not in path.parts and "Notification(" in path.read_text(encoding="utf-8")]
    assert makers == []


def test_pay_rules_are_pure():
    # The rates and their arithmetic are read and checked without a database: they change by decree.
    forbidden = ("sqlalchemy", "backend", "httpx", "notifications", "fastapi")
    offenders = [(f, m) for f, m in imported_modules("backend/payroll")
                 if f.endswith("rules.py") and m.split(".")[0] in forbidden]
    assert offenders == []


def test_routers_share_helpers_through_dependencies_not_through_each_other():
    # A router imported by another drags its routes' module along and hides what is shared.
    offenders = [(f, m) for f, m in imported_modules("backend")
                 if m.startswith("backend.") and m.endswith(".router") and not f.endswith("app.py")]
    assert offenders == []



def test_the_words_of_messages_are_written_in_notifications():
    # A change to an SMS's wording is one file there: the backend picks a message, it does not write it.
    writers = [(f, m) for f, m in imported_modules("backend") if m == "notifications.sms_text"]
    assert writers == []
