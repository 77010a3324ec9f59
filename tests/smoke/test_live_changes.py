"""Consoles follow the call log and the planning live: a "changed" notice on the WebSocket, to the staff
of the commune only, as soon as the change is committed (on PostgreSQL through LISTEN/NOTIFY)."""

from __future__ import annotations

import time

import pytest

from backend.app import create_app
from tests.factories import PASSWORD, build_world
from tests.smoke.harness import LiveFeed, LiveServer, login, wait_until


@pytest.fixture
def server(settings, recording_channels):
    app = create_app(settings, channels=recording_channels, run_worker=False)
    with LiveServer(app) as live:
        yield live


def test_calls_and_planning_changes_reach_the_communes_staff_only(server):
    world = build_world(server.app.state.runtime.session_factory)
    http = server.client()
    headers = {role: login(http, world.users[role], PASSWORD) for role in ("operator", "admin", "oncall",
                                                                          "foreign_operator")}
    feeds = {role: LiveFeed(server.ws_url, h["Authorization"].split()[1]) for role, h in headers.items()}
    try:
        time.sleep(0.3)  # the sockets are subscribed once their hello arrived; nothing was due before
        call = http.post("/api/v1/calls", headers=headers["operator"], json={
            "organization_id": world.commune_id, "answered": False})
        assert call.status_code == 201, call.text
        wait_until(lambda: ("calls", world.commune_id) in feeds["admin"].changed, timeout=5, what="calls notice")
        wait_until(lambda: ("calls", world.commune_id) in feeds["operator"].changed, timeout=5, what="to the PC too")

        rotation = http.put(f"/api/v1/groups/{world.tech_group_id}/rotation", headers=headers["admin"], json={
            "member_ids": list(world.techs), "anchor_local": "2026-11-30T08:30:00", "turn_days": 7,
            "effective_from": "2026-11-01T00:00:00+00:00"})
        assert rotation.status_code == 200, rotation.text
        wait_until(lambda: ("planning", world.commune_id) in feeds["operator"].changed, timeout=5,
                   what="planning notice")

        corrected = http.patch(f"/api/v1/calls/{call.json()['id']}", headers=headers["operator"],
                               json={"caller_category": "police"})
        assert corrected.status_code == 200
        wait_until(lambda: feeds["operator"].changed.count(("calls", world.commune_id)) == 2, timeout=5,
                   what="correction notice")
        time.sleep(0.3)
        # An on-call technician sees events, not the PC's call log; another metropole sees nothing.
        assert feeds["oncall"].changed == [] and feeds["foreign_operator"].changed == []
    finally:
        for feed in feeds.values():
            feed.close()


def test_a_logout_on_one_server_closes_the_live_socket_held_by_another(settings, recording_channels):
    """Two `vigie serve` on one database: the revocation notice crosses processes (LISTEN/NOTIFY on
    PostgreSQL, the local bus on SQLite), well before the periodic re-check would notice."""
    settings.live_recheck_s = 60.0
    first = create_app(settings, channels=recording_channels, run_worker=False)
    second = create_app(settings, channels=recording_channels, run_worker=False)
    with LiveServer(first) as one, LiveServer(second) as two:
        world = build_world(one.app.state.runtime.session_factory)
        headers = login(one.client(), world.users["operator"], PASSWORD)
        feed = LiveFeed(two.ws_url, headers["Authorization"].split()[1])
        try:
            time.sleep(0.3)
            assert not feed.closed.is_set()
            began = time.monotonic()
            assert one.client().post("/api/v1/auth/logout", headers=headers).status_code == 204
            assert feed.closed.wait(5), "the socket on the other server stays open"
            assert time.monotonic() - began < 3
            assert feed.connection.close_code == 4401
        finally:
            feed.close()
