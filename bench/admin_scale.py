"""A commune set up at its real size, and what it costs the night shift (issue 15).

Starts `vigie serve` (SQLite, demo data, its worker) in a process of its own, then, as the
métropole's admin:

1. directory — a 2,000-row CSV (cp1252, `;`, Excel's French export): preview, then import, then
   the same file again (all unchanged); wall time, the server's CPU; meanwhile an operator's
   note on an open event every 100 ms: its latency while the import holds the write
   turn (the PC must not stall while the métropole enters a directory);
2. procedures — 200 procedures by the JSON import (dry run, then applied), the library read
   (`GET /procedures`, then a search), and the new-event form's list;
3. people — the directory screen's read (`GET /people`) at 2,000 people.

    .venv/bin/python bench/admin_scale.py [--rows 2000] [--procedures 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dispatch import machine_jitter  # noqa: E402
from bench.doors import ADMIN, OPERATOR, PASSWORD, cpu_s, spread, start_server  # noqa: E402


def login(url: str, who: str) -> dict[str, str]:
    answer = httpx.post(f"{url}/api/v1/auth/token", data={"username": who, "password": PASSWORD}, timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def directory_csv(rows: int, group: str) -> bytes:
    lines = ["Nom;Prénom;Matricule;Fonction;Mobile;E-mail;Groupes"]
    for n in range(rows):
        lines.append(f"Agent{n:04d};Émile;M{n:05d};Agent technique;06 {n // 100 % 100:02d} {n % 100:02d} 77 88;"
                     f"agent{n:04d}@commune.example.org;{group if n % 10 == 0 else ''}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


class Acks(threading.Thread):
    """An operator's notes on open events, one every `every_s`, timed."""

    def __init__(self, url: str, headers: dict, events: list[int], every_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.url, self.headers, self.events, self.every_s = url, headers, events, every_s
        self.latencies: list[float] = []
        self.failures: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=60, headers=self.headers) as client:
            for event_id in self.events:
                if self.stop.is_set():
                    return
                began = time.monotonic()
                answer = client.post(f"{self.url}/api/v1/events/{event_id}/responses", json={
                    "kind": "note", "text": "point de situation"})
                self.latencies.append((time.monotonic() - began) * 1000)
                if answer.status_code != 201:
                    self.failures.append(answer.status_code)
                time.sleep(self.every_s)


def timed(label: str, pid: int, action):
    cpu, began = cpu_s(pid), time.monotonic()
    answer = action()
    print(f"  {label}: {(time.monotonic() - began) * 1000:.0f} ms, server CPU {(cpu_s(pid) - cpu) * 1000:.0f} ms, "
          f"HTTP {answer.status_code}", flush=True)
    return answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--procedures", type=int, default=200)
    args = parser.parse_args()
    print(machine_jitter(), flush=True)
    with tempfile.TemporaryDirectory(prefix="vigie-bench-admin-") as folder:
        server, url = start_server(Path(folder))
        try:
            run(url, server.pid, args)
        finally:
            server.terminate()
            server.wait(20)


def run(url: str, pid: int, args) -> None:
    admin, operator = login(url, ADMIN), login(url, OPERATOR)
    commune = next(o for o in httpx.get(f"{url}/api/v1/organizations", headers=admin).json() if o["kind"] == "commune")
    group = httpx.get(f"{url}/api/v1/groups", headers=admin, params={"organization_id": commune["id"]}).json()[0]
    procedure = next(p for p in httpx.get(f"{url}/api/v1/procedures", headers=admin).json()
                     if p["organization_id"] == commune["id"])
    events = []
    with httpx.Client(timeout=30, headers=operator) as client:
        for n in range(10):
            event = client.post(f"{url}/api/v1/events", json={"organization_id": commune["id"], "severity": 2,
                                                              "procedure_id": procedure["id"], "title": f"Fuite {n}"})
            event.raise_for_status()
            events.append(event.json()["id"])
    notes = [events[n % len(events)] for n in range(100_000)]

    print(f"== directory: {args.rows} rows (cp1252, ';'), commune {commune['code']} ==", flush=True)
    body = directory_csv(args.rows, group["name"])
    files = {"file": ("annuaire.csv", body, "text/csv")}
    quiet = Acks(url, operator, notes)
    quiet.start()
    time.sleep(3)
    quiet.stop.set()
    quiet.join()
    print(f"  operator's notes, nothing else running: {spread(quiet.latencies)}", flush=True)
    base = f"{url}/api/v1/organizations/{commune['id']}/directory-imports"
    with httpx.Client(timeout=600, headers=admin) as client:
        acks = Acks(url, operator, notes)
        acks.start()
        preview = timed("preview (writes nothing)", pid, lambda: client.post(f"{base}/preview", files=files))
        summary = preview.json()
        print(f"    {summary['created']} to create, {summary['updated']} to update, {len(summary['errors'])} errors",
              flush=True)
        timed("import", pid, lambda: client.post(base, files=files))
        again = timed("the same file again", pid, lambda: client.post(f"{base}/preview", files=files))
        print(f"    {again.json()['unchanged']} unchanged", flush=True)
        acks.stop.set()
        acks.join()
    print(f"  operator's notes during the three: {spread(acks.latencies)}; failures {acks.failures or 'none'}",
          flush=True)

    print(f"== people: the directory screen at {args.rows}+ people ==", flush=True)
    reads = []
    with httpx.Client(timeout=60, headers=admin) as client:
        for _ in range(20):
            began = time.monotonic()
            answer = client.get(f"{url}/api/v1/people", params={"organization_id": commune["id"]})
            reads.append((time.monotonic() - began) * 1000)
        print(f"  GET /people ({len(answer.json())} people, {len(answer.content) // 1024} KiB): {spread(reads)}",
              flush=True)

    print(f"== procedures: {args.procedures} by import ==", flush=True)
    with httpx.Client(timeout=600, headers=admin) as client:
        document = client.get(f"{url}/api/v1/organizations/{commune['id']}/procedures/export").json()
        model = document["procedures"][0]
        document["procedures"] = [{**model, "category": f"Procédure {n:03d} — réseau {n % 17}",
                                   "instructions": f"Consigne {n}: couper, baliser, appeler l'astreinte."}
                                  for n in range(args.procedures)]
        target = f"{url}/api/v1/organizations/{commune['id']}/procedures/import"
        timed("dry run", pid, lambda: client.post(target, params={"dry_run": "true"}, json=document))
        timed("import", pid, lambda: client.post(target, json=document))
        for label, params in (("library", {}), ("search « réseau 3 »", {"q": "réseau 3"})):
            reads = []
            for _ in range(20):
                began = time.monotonic()
                answer = client.get(f"{url}/api/v1/procedures", params=params)
                reads.append((time.monotonic() - began) * 1000)
            print(f"  GET /procedures, {label} ({len(answer.json())}): {spread(reads)}", flush=True)


if __name__ == "__main__":
    main()
