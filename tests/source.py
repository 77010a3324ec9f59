"""Reading the backend's own source, for tests that hold a rule across the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def backend_lines_matching(pattern: re.Pattern[str], *, skip: tuple[str, ...] = ()) -> list[str]:
    """`path:line: text` for every backend line (migrations and `skip` file names aside) matching `pattern`."""
    found = []
    for path in sorted((ROOT / "backend").rglob("*.py")):
        if "migrations" in path.parts or path.name in skip:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found
