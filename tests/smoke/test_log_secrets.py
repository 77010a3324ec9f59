"""No credential reaches the server's log: the live socket's token, a one-tap link's token and an
integration's API key are cut from the lines uvicorn writes (a real `vigie serve`, its real log)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from backend.demo import DEMO_PASSWORD
from tests.conftest import ON_POSTGRES
from tests.peers.sms_gateway import SmsGateway
from tests.smoke.harness import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


@pytest.mark.skipif(ON_POSTGRES, reason="one run is enough: the log is the server's, not the database's")
def test_the_server_log_of_a_session_holds_none_of_its_tokens(tmp_path):
    """An operator logs in and follows the live feed, a phone is enrolled by SMS and acts, a link is
    opened, the operator logs out: none of the credentials issued appears in the log."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VIGIE_") and k != "DATABASE_URL"}
    environ.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'vigie.db'}", "VIGIE_VAR_DIR": str(tmp_path / "var")})
    for step in (["db", "upgrade"], ["demo"]):
        subprocess.run([sys.executable, "-m", "backend.cli", *step], cwd=ROOT, env=environ, check=True,
                       capture_output=True, timeout=120)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    issued: dict[str, str] = {}
    with SmsGateway() as gateway:  # SMS to a provider, not printed on the console
        environ["VIGIE_SMS_PROVIDERS"] = json.dumps([gateway.apprise_url()])
        with open(log_path, "wb") as log:
            server = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--port", str(port)],
                                      cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: _answers(url), timeout=30, what="the server")
            issued["session"] = httpx.post(f"{url}/api/v1/auth/token", data={
                "username": "operateur@example.org", "password": DEMO_PASSWORD}).json()["access_token"]
            operator = {"Authorization": f"Bearer {issued['session']}"}
            with connect(f"ws://127.0.0.1:{port}/api/v1/ws?after=0") as socket:
                socket.send(json.dumps({"type": "auth", "token": issued["session"]}))
                assert json.loads(socket.recv(timeout=10))["type"] == "hello"
            person = next(p for p in httpx.get(f"{url}/api/v1/people", headers=operator).json()
                          if not p["is_elected"])
            assert httpx.post(f"{url}/api/v1/people/{person['id']}/enrolments", headers=operator,
                              json={"channel": "sms"}).status_code == 201
            sms = next(r for r in gateway.wait_for(1, timeout=15) if "/enrol/" in r.json["text"])
            issued["enrolment code"] = re.search(r"/enrol/(\S+)", sms.json["text"]).group(1)
            issued["device"] = httpx.post(f"{url}/api/v1/enrol", json={
                "code": issued["enrolment code"]}).json()["access_token"]
            phone = {"Authorization": f"Bearer {issued['device']}"}
            assert httpx.get(f"{url}/api/v1/me/pages", headers=phone).status_code == 200
            with connect(f"ws://127.0.0.1:{port}/api/v1/ws") as socket:
                socket.send(json.dumps({"type": "auth", "token": issued["device"]}))
                assert json.loads(socket.recv(timeout=10))["type"] == "hello"
            issued["link"] = "Zq7uN4bLinkTokenThatMustNotBeLogged"
            httpx.get(f"{url}/l/{issued['link']}")
            httpx.get(f"{url}/api/v1/events?organization_id=1", headers=operator)
            admin = {"Authorization": "Bearer " + httpx.post(f"{url}/api/v1/auth/token", data={
                "username": "admin@example.org", "password": DEMO_PASSWORD}).json()["access_token"]}
            commune = next(o for o in httpx.get(f"{url}/api/v1/organizations", headers=admin).json()
                           if o["kind"] == "commune")
            issued["api key"] = httpx.post(f"{url}/api/v1/integrations", headers=admin, json={
                "organization_id": commune["id"], "name": "GTC", "scopes": ["events:write"]}).json()["key"]
            assert httpx.post(f"{url}/api/v1/ingest/alarms", headers={"X-Api-Key": issued["api key"]}, json={
                "source": "GTC", "alarm_key": "PR-1", "title": "Niveau haut"}).status_code == 201
            httpx.get(f"{url}/api/v1/ingest/{issued['api key']}")  # a key put in a URL by mistake
            assert httpx.post(f"{url}/api/v1/auth/logout", headers=operator).status_code == 204
        finally:
            server.terminate()
            server.wait(20)
    written = log_path.read_text(errors="replace")
    assert '"WebSocket /api/v1/ws?…"' in written and '"GET /l/… HTTP/1.1"' in written  # the lines are there
    assert '"POST /api/v1/enrol HTTP/1.1" 200' in written
    assert '"GET /api/v1/ingest/vigie_… HTTP/1.1" 404' in written
    assert {what: token in written for what, token in issued.items()} == {what: False for what in issued}
