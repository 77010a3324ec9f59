"""Live fan-out: from a response POST to its trace entry on 50 connected consoles.

Starts `vigie serve` (uvicorn, SQLite, worker in-process) on a seeded world in a separate
process, opens N WebSocket clients as operators (python `websockets`, asyncio), then posts
notes one after the other (POST /api/v1/events/{id}/responses {kind: "note"}, which writes a
`response.note` trace entry) and, for each, times its arrival on every socket.

Prints, over posts × clients samples, the time from the POST's return to the entry's
arrival (an entry that arrives before the HTTP answer counts 0), and from the POST's
sending. Goal: p99 ≤ 100 ms from the return.

    .venv/bin/python bench/live_fanout.py                  # 200 posts × 50 clients
    .venv/bin/python bench/live_fanout.py --posts 500 --clients 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.auth import service as auth_service  # noqa: E402
from backend.db import make_engine, make_session_factory, transaction  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from bench.world import build  # noqa: E402

PASSWORD = "bench-operator-password"
OPERATOR = "operateur.bench@example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(directory: Path) -> tuple[str, dict]:
    url = f"sqlite:///{directory / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    world = build(factory)
    with transaction(factory) as session:
        from sqlalchemy import select

        from backend.orgs.models import Organization

        metropole_id = session.scalar(select(Organization.id).where(Organization.kind == "metropole"))
        auth_service.create_user(db_session=session, email=OPERATOR, full_name="Opérateur bench", role="operator",
                                 organization_id=metropole_id, password=PASSWORD)
    engine.dispose()
    return url, world


def start_server(url: str, directory: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "VIGIE_VAR_DIR": str(directory / "var"),
           "VIGIE_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    log = open(directory / "server.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start (see server.log)")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Arrivals:
    """response id -> arrival times, one per client; an asyncio.Event when all are in."""

    def __init__(self, clients: int):
        self.clients = clients
        self.times: dict[int, list[float]] = {}
        self.done: dict[int, asyncio.Event] = {}

    def event(self, rid: int) -> asyncio.Event:
        return self.done.setdefault(rid, asyncio.Event())

    def record(self, rid: int, at: float) -> None:
        times = self.times.setdefault(rid, [])
        times.append(at)
        if len(times) == self.clients:
            self.event(rid).set()


async def reader(ws, arrivals: Arrivals) -> None:
    async for raw in ws:
        now = time.perf_counter()
        message = json.loads(raw)
        entries = [message["entry"]] if message.get("type") == "trace" else message.get("entries", [])
        for entry in entries:
            if entry["kind"] == "response.note":
                arrivals.record(entry["data"]["response_id"], now)


async def run(args) -> None:
    directory = Path(tempfile.mkdtemp(prefix="vigie-fanout-"))
    url, world = seed(directory)
    port = free_port()
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    server = start_server(url, directory, port)
    sockets = []
    try:
        await asyncio.to_thread(wait_ready, base)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            tokens = []
            for _ in range(args.clients):  # one login (one bearer token) per console
                answer = await http.post("/api/v1/auth/token", data={"username": OPERATOR, "password": PASSWORD})
                answer.raise_for_status()
                tokens.append(answer.json()["access_token"])
            http.headers["Authorization"] = f"Bearer {tokens[0]}"
            created = await http.post("/api/v1/events", json={
                "organization_id": world["commune_id"], "procedure_id": world["procedure_id"], "severity": 2,
                "title": "Bench fan-out", "place": "Banc d'essai"})
            created.raise_for_status()
            event_id = created.json()["id"]

            arrivals = Arrivals(args.clients)
            for token in tokens:
                ws = await websockets.connect(f"{ws_base}/api/v1/ws", max_size=2**22)
                await ws.send(json.dumps({"type": "auth", "token": token}))
                hello = json.loads(await ws.recv())
                assert hello["type"] == "hello", hello
                sockets.append(ws)
            readers = [asyncio.create_task(reader(ws, arrivals)) for ws in sockets]
            await asyncio.sleep(1.0)  # let the event's own entries (notify, delivered) go by

            from_return: list[float] = []
            from_send: list[float] = []
            post_times: list[float] = []
            early = missing = 0
            for n in range(args.warmup + args.posts):
                sent = time.perf_counter()
                answer = await http.post(f"/api/v1/events/{event_id}/responses",
                                         json={"kind": "note", "text": f"bench {n}"})
                returned = time.perf_counter()
                answer.raise_for_status()
                rid = answer.json()["id"]
                try:
                    await asyncio.wait_for(arrivals.event(rid).wait(), 5)
                except TimeoutError:
                    pass
                if n < args.warmup:
                    continue
                times = arrivals.times.get(rid, [])
                missing += args.clients - len(times)
                post_times.append(returned - sent)
                for at in times:
                    early += at < returned
                    from_return.append(max(0.0, at - returned))
                    from_send.append(at - sent)
                if args.pause:
                    await asyncio.sleep(args.pause)
            for task in readers:
                task.cancel()
    finally:
        for ws in sockets:
            await ws.close()
        server.terminate()
        server.wait(10)

    ms = lambda s: f"{s * 1000:7.1f} ms"  # noqa: E731
    print(f"live fan-out — {args.posts} posts × {args.clients} WebSocket clients, SQLite, worker in-process")
    print(f"  machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"  samples: {len(from_return)} (missing: {missing}; arrived before the POST returned: {early})")
    print(f"  POST → entry on a socket, from the POST's return: p50 {ms(pct(from_return, .5))}  "
          f"p99 {ms(pct(from_return, .99))}  max {ms(max(from_return))}")
    print(f"  POST → entry on a socket, from the POST's sending: p50 {ms(pct(from_send, .5))}  "
          f"p99 {ms(pct(from_send, .99))}  max {ms(max(from_send))}")
    print(f"  the POST itself: p50 {ms(pct(post_times, .5))}  p99 {ms(pct(post_times, .99))}")
    verdict = "met" if pct(from_return, .99) <= 0.100 and not missing else "NOT met"
    print(f"  goal p99 ≤ 100 ms from the return: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between posts")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
