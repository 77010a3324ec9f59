"""The archive export: every entry with its hashes, each event's chain verified, tampering visible."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import update

from backend.db import transaction, utcnow
from backend.trace.models import TraceEntry
from tests.factories import login

API = "/api/v1"
NOW = utcnow()
PERIOD = {"start": (NOW - timedelta(days=30)).isoformat(), "end": (NOW + timedelta(days=1)).isoformat()}


def test_the_archive_holds_every_entry_and_shows_a_tampered_chain(client, world, runtime):
    op = login(client, world.users["operator"])
    ids = [client.post(f"{API}/events", headers=op, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "title": f"Arbre {n}"}).json()["id"]
        for n in range(2)]
    with transaction(runtime.session_factory) as s:
        s.execute(update(TraceEntry).where(TraceEntry.event_id == ids[1], TraceEntry.seq == 1)
                  .values(data={"title": "réécrit"}))
    archive = json.loads(client.get(f"{API}/archive", headers=op, params=PERIOD).content)
    by_id = {e["id"]: e for e in archive["events"]}
    assert by_id[ids[0]]["verification"]["intact"] is True
    assert by_id[ids[1]]["verification"] == {**by_id[ids[1]]["verification"], "intact": False,
                                             "first_broken_seq": 1, "reason": "entry altered"}
    trace = client.get(f"{API}/events/{ids[0]}/trace", headers=op).json()
    assert [e["hash"] for e in by_id[ids[0]]["entries"]] == [e["hash"] for e in trace]
    rows = list(csv.DictReader(io.StringIO(client.get(f"{API}/archive", headers=op, params={
        **PERIOD, "format": "csv"}).text.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == sum(len(e["entries"]) for e in archive["events"])
    assert {r["chaine_intacte"] for r in rows if r["evenement"] == by_id[ids[1]]["number"]} == {"NON"}


def test_the_archive_is_scoped(client, world):
    op = login(client, world.users["operator"])
    client.post(f"{API}/events", headers=op, json={"organization_id": world.commune_id, "title": "x",
                                                   "category": "Voirie"})
    foreign = login(client, world.users["foreign_operator"])
    assert json.loads(client.get(f"{API}/archive", headers=foreign, params=PERIOD).content)["events"] == []
    assert client.get(f"{API}/archive", headers=foreign, params={
        **PERIOD, "organization_id": world.commune_id}).status_code == 404
    assert client.get(f"{API}/archive", headers=login(client, world.users["oncall"]), params=PERIOD).status_code == 403
    assert client.get(f"{API}/archive", headers=op, params={"start": PERIOD["end"], "end": PERIOD["start"]}).status_code == 422
