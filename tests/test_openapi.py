"""openapi/openapi.json is the API as it is: regenerate with `vigie openapi` when this fails."""

from __future__ import annotations

import json
from pathlib import Path

from backend.app import create_app

OPENAPI = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_document_is_current():
    current = create_app().openapi()
    assert OPENAPI.exists(), "run `vigie openapi`"
    committed = json.loads(OPENAPI.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(current)), "openapi/openapi.json is stale: run `vigie openapi`"
