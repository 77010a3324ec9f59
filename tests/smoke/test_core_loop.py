"""The core loop end to end over HTTP: event → solicitation → timeout → escalation → ack."""

from __future__ import annotations

import time

import pytest

from backend.app import create_app
from tests.factories import PASSWORD, build_world
from tests.smoke.harness import LiveFeed, LiveServer, login, wait_until

TIMEOUT_S = 1


@pytest.fixture
def server(settings, recording_channels):
    app = create_app(settings, channels=recording_channels, run_worker=True)
    with LiveServer(app) as live:
        yield live


def sms_to(channels, number: str) -> list:
    from notifications.base import ChannelKind

    return [m for m in channels.get(ChannelKind.SMS).sent if m.address == number]


def test_severity_3_escalates_to_the_next_technician_and_stops_at_the_ack(server, recording_channels):
    world = build_world(server.app.state.runtime.session_factory, ack_timeout_s=TIMEOUT_S)
    http = server.client()
    operator = login(http, world.users["operator"], PASSWORD)
    feed = LiveFeed(server.ws_url, operator["Authorization"].split()[1])
    tech1, tech2, tech3 = "+33639980101", "+33639980102", "+33639980103"

    created = http.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Chute d'arbre", "place": "av. Roland Carraz", "source": "police"})
    assert created.status_code == 201, created.text
    event = created.json()
    assert event["number"].endswith("-0001")
    assert event["pages"][0]["current_person_id"] == world.techs[0]

    wait_until(lambda: sms_to(recording_channels, tech1), timeout=5, what="SMS to technician 1")
    assert not sms_to(recording_channels, tech2), "technician 2 must wait for the timeout"
    wait_until(lambda: sms_to(recording_channels, tech2), timeout=TIMEOUT_S + 5, what="SMS to technician 2")

    tech2_headers = login(http, world.users["oncall2"], PASSWORD)
    ack = http.post(f"/api/v1/events/{event['id']}/responses", headers=tech2_headers, json={"kind": "ack"})
    assert ack.status_code == 201, ack.text

    time.sleep(TIMEOUT_S * 2.5)
    assert not sms_to(recording_channels, tech3), "nothing more is sent after the ack"
    solicitations = [m for m in sms_to(recording_channels, tech1) if m.data.get("purpose") == "solicit"]
    assert len(solicitations) == 1

    detail = http.get(f"/api/v1/events/{event['id']}", headers=operator).json()
    assert detail["status"] == "acknowledged"
    assert detail["pages"][0]["status"] == "acknowledged"
    assert detail["pages"][0]["acknowledged_by_person_id"] == world.techs[1]

    trace = http.get(f"/api/v1/events/{event['id']}/trace", headers=operator).json()
    kinds = [e["kind"] for e in trace]
    notified = [e["data"]["person_id"] for e in trace if e["kind"] == "page.notify"]
    assert notified == [world.techs[0], world.techs[1]]
    order = [kinds.index("event.created"), kinds.index("page.started"), kinds.index("page.notify"),
             kinds.index("response.ack"), kinds.index("page.acknowledged")]
    assert order == sorted(order)
    assert "notification.delivered" in kinds
    assert [e["seq"] for e in trace] == list(range(1, len(trace) + 1))
    verify = http.get(f"/api/v1/events/{event['id']}/trace/verify", headers=operator).json()
    assert verify == {"intact": True, "entries": len(trace), "first_broken_seq": None, "reason": ""}

    trace_ids = {e["id"] for e in trace}
    wait_until(lambda: trace_ids <= feed.ids(), timeout=5, what="every trace entry on the WebSocket")
    feed.close()
