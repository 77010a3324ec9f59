"""The live feed lets in only who may still see it: the token comes in the first message, never in
the URL, and a socket whose credential stops holding (logout, expiry, a deactivated user or person,
a revoked phone) is closed within seconds."""

from __future__ import annotations

import re
import time
from contextlib import ExitStack
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from starlette.websockets import WebSocketDisconnect

from backend.auth.models import ApiToken
from backend.auth.security import token_digest
from backend.db import utcnow
from backend.outbox.models import Notification

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def settings(settings):
    settings.live_recheck_s = 0.3
    return settings


def bearer(headers: dict) -> str:
    return headers["Authorization"].split()[1]


@pytest.fixture
def open_feed(client):
    """Open a live socket authenticated by `token`; closed at the end of the test."""
    sockets = ExitStack()

    def _open(token: str):
        socket = sockets.enter_context(client.websocket_connect("/api/v1/ws"))
        socket.send_json({"type": "auth", "token": token})
        assert socket.receive_json()["type"] == "hello"
        return socket

    with sockets:
        yield _open


def closed_within(socket, seconds: float) -> int:
    """The close code the server sent, once it did; fails if it came later than `seconds`."""
    began = time.monotonic()
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            socket.receive_json()  # trace entries may come first
    assert time.monotonic() - began < seconds
    return closed.value.code


def test_a_token_in_the_url_is_refused(client, world, h):
    with client.websocket_connect(f"/api/v1/ws?token={bearer(h('operator'))}") as socket:
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4401 and "first message" in closed.value.reason


@pytest.mark.parametrize("first", [{"type": "auth", "token": "not-a-token"}, {"type": "hello"}, "token"])
def test_a_bad_first_message_closes_the_socket_with_4401(client, world, first):
    with client.websocket_connect("/api/v1/ws") as socket:
        socket.send_json(first)
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4401


def test_logging_out_closes_the_open_feed_at_once(client, world, h, open_feed):
    socket = open_feed(bearer(h("operator")))
    assert client.post("/api/v1/auth/logout", headers=h("operator")).status_code == 204
    assert closed_within(socket, 2) == 4401


def test_a_deactivated_user_loses_the_feed(client, world, runtime, h, open_feed):
    runtime.access.every_s = 60  # only the revocation notice can close it in time
    time.sleep(0.4)
    referent = h("referent")
    socket = open_feed(bearer(referent))
    user_id = client.get("/api/v1/me", headers=referent).json()["id"]
    assert client.patch(f"/api/v1/users/{user_id}", headers=h("admin"), json={"is_active": False}).status_code == 200
    assert closed_within(socket, 5) == 4401, "at once, not at the next periodic check"


def test_an_expired_token_is_cut_by_the_periodic_check(client, world, runtime, h, open_feed):
    token = bearer(h("operator"))
    socket = open_feed(token)
    with runtime.session_factory() as s:  # expiry announces nothing: only the timer can notice it
        s.execute(update(ApiToken).where(ApiToken.token_hash == token_digest(token))
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    assert closed_within(socket, 3) == 4401


def test_the_other_sockets_stay_open(client, world, h, open_feed):
    operator, admin = open_feed(bearer(h("operator"))), open_feed(bearer(h("admin")))
    client.post("/api/v1/auth/logout", headers=h("operator"))
    assert closed_within(operator, 2) == 4401
    event = client.post("/api/v1/events", headers=h("admin"), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 2, "title": "Arbre"})
    assert event.status_code == 201
    assert admin.receive_json()["type"] in ("trace", "traces")


def enrolled_phone(client, runtime, person_id: int, staff: dict) -> tuple[str, int]:
    assert client.post(f"/api/v1/people/{person_id}/enrolments", headers=staff,
                       json={"channel": "sms"}).status_code == 201
    with runtime.session_factory() as s:
        text = s.scalar(select(Notification.text).where(Notification.purpose == "enrol")
                        .order_by(Notification.id.desc()))
    enrolled = client.post("/api/v1/enrol", json={"code": re.search(r"/app/#/enrol/(\S+)", text).group(1)})
    return enrolled.json()["access_token"], enrolled.json()["device_id"]


def test_a_phone_revoked_by_the_commune_referent_loses_the_feed(client, world, runtime, h, open_feed):
    token, device_id = enrolled_phone(client, runtime, world.techs[2], h("referent"))
    socket = open_feed(token)
    listed = client.get(f"/api/v1/people/{world.techs[2]}/devices", headers=h("referent")).json()
    assert [d["id"] for d in listed] == [device_id] and listed[0]["expires_at"]
    assert client.delete(f"/api/v1/people/{world.techs[2]}/devices/{device_id}",
                         headers=h("referent")).status_code == 204
    assert closed_within(socket, 2) == 4401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_person_who_leaves_loses_phone_account_links_and_feed(client, world, runtime, h, open_feed):
    phone, _ = enrolled_phone(client, runtime, world.techs[0], h("operator"))
    own = h("oncall")  # techs[0] also logs in with a password
    socket = open_feed(phone)
    assert client.delete(f"/api/v1/people/{world.techs[0]}", headers=h("referent")).status_code == 204
    assert closed_within(socket, 2) == 4401
    for token in (phone, bearer(own)):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.post("/api/v1/auth/token", data={"username": world.users["oncall"],
                                                    "password": "x"}).status_code == 401


def test_a_phone_token_has_a_lifetime_that_use_renews(client, world, runtime, h):
    token, device_id = enrolled_phone(client, runtime, world.techs[2], h("operator"))

    def expires_in_days() -> float:
        with runtime.session_factory() as s:
            return (s.get(ApiToken, device_id).expires_at - utcnow()).total_seconds() / 86400

    assert 89.9 < expires_in_days() <= 90
    with runtime.session_factory() as s:  # a phone last used 80 days ago
        s.execute(update(ApiToken).where(ApiToken.id == device_id).values(expires_at=utcnow() + timedelta(days=10)))
        s.commit()
    assert client.get("/api/v1/me/pages", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    deadline = time.monotonic() + 5  # renewals are written together, a second after the request
    while expires_in_days() < 89.9 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert 89.9 < expires_in_days() <= 90, "using the phone renewed its token"
    with runtime.session_factory() as s:  # a phone revoked is not renewed by a request already on its way
        s.execute(update(ApiToken).where(ApiToken.id == device_id).values(expires_at=utcnow() + timedelta(days=10)))
        s.commit()
    runtime.renewals.add(device_id)
    with runtime.session_factory() as s:
        s.get(ApiToken, device_id).revoked_at = utcnow()
        s.commit()
    assert runtime.renewals.flush() == 0
    assert expires_in_days() < 10.1, "a revoked token keeps its end"
    with runtime.session_factory() as s:
        s.get(ApiToken, device_id).revoked_at = None
        s.commit()
    with runtime.session_factory() as s:  # a phone left in a drawer past its lifetime
        s.execute(update(ApiToken).where(ApiToken.id == device_id).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    assert client.get("/api/v1/me/pages", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_role_change_closes_the_feed_scoped_by_the_old_role(client, world, runtime, h, open_feed):
    runtime.access.every_s = 60
    time.sleep(0.4)
    operator = h("operator")
    socket = open_feed(bearer(operator))
    user_id = client.get("/api/v1/me", headers=operator).json()["id"]
    changed = client.patch(f"/api/v1/users/{user_id}", headers=h("admin"), json={"role": "admin"})
    assert changed.status_code == 200, changed.text
    assert closed_within(socket, 5) == 4001, "reconnect: the token still holds"
    again = open_feed(bearer(operator))  # the same token, now scoped as an admin
    assert again is not None
