"""App shell size: the files the PWA's service worker pre-caches, gzip-compressed, against the 60 KB goal.

The list is read from `SHELL` in pwa/app/sw.js (so it cannot drift), plus sw.js itself.
Each file is compressed on its own, as the server sends it (gzip level 9, like Starlette's GZipMiddleware;
PNG icons barely shrink, they are counted as they are compressed all the same).

    .venv/bin/python bench/app_shell_size.py

Exits 1 when the total is over the goal.
"""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "pwa" / "app"
GOAL_BYTES = 60 * 1024


def shell_files() -> list[Path]:
    source = (APP / "sw.js").read_text(encoding="utf-8")
    listing = re.search(r"const SHELL = \[(.*?)\];", source, re.S)
    if listing is None:
        raise SystemExit("no `const SHELL = [...]` in pwa/app/sw.js")
    names = re.findall(r"'([^']+)'", listing.group(1))
    files: list[Path] = []
    for name in [*names, "sw.js"]:
        path = APP / ("index.html" if name in ("./", "") else name)
        if not path.is_file():
            raise SystemExit(f"{name} is pre-cached by sw.js but {path} does not exist")
        if path not in files:
            files.append(path)
    return files


def main() -> int:
    rows = []
    for path in shell_files():
        raw = path.read_bytes()
        rows.append((str(path.relative_to(APP)), len(raw), len(gzip.compress(raw, compresslevel=9, mtime=0))))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'file':<{width}}  {'raw':>9}  {'gzip':>9}")
    for name, raw, packed in rows:
        print(f"{name:<{width}}  {raw:>9,}  {packed:>9,}")
    total_raw = sum(r for _, r, _ in rows)
    total = sum(p for _, _, p in rows)
    print(f"{'total':<{width}}  {total_raw:>9,}  {total:>9,}")
    verdict = "within" if total <= GOAL_BYTES else "OVER"
    print(f"app shell: {total / 1024:.1f} KB gzip-compressed, {verdict} the {GOAL_BYTES // 1024} KB goal "
          f"({100 * total / GOAL_BYTES:.0f} %)")
    return 0 if total <= GOAL_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
