"""The doors a stranger knocks on, and access that ends, under load (issue 14).

Starts `vigie serve` (SQLite, demo data, its worker) in a process of its own, then:

1. revocation — 100 live sockets of one operator; the operator logs out (then, with a new token,
   the admin deactivates them): time from the request to each socket's close (goal: all within
   10 s; the notice closes them at once, the periodic re-check within VIGIE_LIVE_RECHECK_S);
2. big body — one unauthenticated 200 MiB POST to the SMS callback: its answer, time, and the
   server's RSS before and after;
3. logins — 200 wrong-password logins at once from one address (one account, then 200
   accounts): status counts, wall time, and the server's CPU (argon2 is 0.5 s a try; a refused
   try should cost none).

    .venv/bin/python bench/doors.py
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dispatch import machine_jitter  # noqa: E402
from bench.live_fanout import free_port  # noqa: E402

PASSWORD = "vigie-demo-2026"
OPERATOR = "operateur@example.org"
ADMIN = "admin@example.org"


def start_server(directory: Path) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_") and k != "DATABASE_URL"}
    env.update({"DATABASE_URL": f"sqlite:///{directory / 'doors.db'}", "VIGIE_VAR_DIR": str(directory / "var"),
                "VIGIE_SMS_INBOUND_SECRET": "bench-secret"})
    for step in (["db", "upgrade"], ["demo"]):
        subprocess.run([sys.executable, "-m", "backend.cli", *step], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=open(directory / "serve.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code in (200, 503):
                return server, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


def cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered):.0f} ms, p99 {p99:.0f} ms, max {ordered[-1]:.0f} ms (n={len(ordered)})"


async def logins(url: str, pid: int, accounts: list[str]) -> None:
    async with httpx.AsyncClient(timeout=300) as client:
        cpu, began = cpu_s(pid), time.monotonic()
        answers = await asyncio.gather(*(client.post(f"{url}/api/v1/auth/token", data={
            "username": account, "password": "wrong password"}) for account in accounts))
        took, used = time.monotonic() - began, cpu_s(pid) - cpu
    statuses: dict[int, int] = {}
    for answer in answers:
        statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
    distinct = len(set(accounts))
    print(f"  {len(accounts)} wrong logins at once, {distinct} account{'s' if distinct > 1 else ''}: "
          f"status {dict(sorted(statuses.items()))}, {took:.1f} s, server CPU {used:.1f} s")


def big_body(url: str, pid: int) -> None:
    size = 200 * 2**20
    rss = psutil.Process(pid).memory_info().rss / 2**20
    began = time.monotonic()

    def chunks():
        block = b"x" * 2**20
        for _ in range(size // len(block)):
            yield block

    try:
        answer = httpx.post(f"{url}/api/v1/sms/inbound", content=chunks(), timeout=120,
                            headers={"content-type": "application/json"})
        outcome = f"{answer.status_code} {answer.json()['error']['code']}"
    except httpx.HTTPError as exc:  # the server may close the connection once it refused
        outcome = f"connection closed by the server ({type(exc).__name__})"
    after = psutil.Process(pid).memory_info().rss / 2**20
    print(f"  200 MiB POST to the SMS callback, no signature: {outcome} after {time.monotonic() - began:.2f} s; "
          f"server RSS {rss:.0f} → {after:.0f} MiB")


async def revocation(url: str, how: str, sockets: int = 100) -> None:
    ws_url = url.replace("http://", "ws://") + "/api/v1/ws"
    async with httpx.AsyncClient(timeout=60) as client:
        token = (await client.post(f"{url}/api/v1/auth/token", data={
            "username": OPERATOR, "password": PASSWORD})).json()["access_token"]
        opened = []
        for _ in range(sockets):
            ws = await websockets.connect(ws_url)
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await ws.recv())["type"] == "hello"
            opened.append(ws)
        closed_at: list[float] = []

        async def until_closed(ws) -> None:
            try:
                async for _ in ws:
                    pass
            except websockets.ConnectionClosed:
                pass
            closed_at.append(time.monotonic())

        waiting = [asyncio.create_task(until_closed(ws)) for ws in opened]
        await asyncio.sleep(0.5)
        began = time.monotonic()
        if how == "logout":
            answer = await client.post(f"{url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
        else:
            admin = (await client.post(f"{url}/api/v1/auth/token", data={
                "username": ADMIN, "password": PASSWORD})).json()["access_token"]
            me = (await client.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})).json()
            began = time.monotonic()
            answer = await client.patch(f"{url}/api/v1/users/{me['id']}", json={"is_active": False},
                                        headers={"Authorization": f"Bearer {admin}"})
        assert answer.status_code in (200, 204), answer.text
        done, pending = await asyncio.wait(waiting, timeout=15)
        for task in pending:
            task.cancel()
        codes: dict[object, int] = {}
        for ws in opened:
            codes[ws.close_code] = codes.get(ws.close_code, 0) + 1
        print(f"  {how}: {len(done)}/{sockets} live sockets closed (codes {codes}); request → close "
              f"{spread([(t - began) * 1000 for t in closed_at])} [all within 10 s: "
              f"{'met' if len(done) == sockets and max(closed_at) - began <= 10 else 'MISSED'}]")


def main() -> None:
    print(machine_jitter(), flush=True)
    with tempfile.TemporaryDirectory(prefix="vigie-doors-") as folder:
        server, url = start_server(Path(folder))
        try:
            # Revocation first: the logins below lock this address out of logging in for a while.
            print("== revocation ==")
            asyncio.run(revocation(url, "logout"))
            asyncio.run(revocation(url, "deactivation"))
            print("== big body ==")
            big_body(url, server.pid)
            print("== logins ==")
            asyncio.run(logins(url, server.pid, [ADMIN] * 200))
            asyncio.run(logins(url, server.pid, [f"nobody{n}@example.org" for n in range(200)]))
        finally:
            server.terminate()
            server.wait(20)


if __name__ == "__main__":
    main()
