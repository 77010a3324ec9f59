"""What the phone app and the console need: enrolment, devices, my pages, preview, photos."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from backend.attachments.models import Attachment
from backend.outbox.models import Notification
from tests.factories import login

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def operator(client, world):
    return login(client, world.users["operator"])


def enrolment_code(runtime, number="+33639980103"):
    with runtime.session_factory() as s:
        text = s.scalar(select(Notification.text).where(Notification.purpose == "enrol", Notification.address == number)
                        .order_by(Notification.id.desc()))
    return re.search(r"/app/#/enrol/(\S+)", text).group(1)


def test_a_phone_is_enrolled_by_a_single_use_link_and_can_be_revoked(client, world, runtime, operator):
    sent = client.post(f"/api/v1/people/{world.techs[2]}/enrolments", headers=operator, json={"channel": "sms"})
    assert sent.status_code == 201, sent.text
    code = enrolment_code(runtime)
    enrolled = client.post("/api/v1/enrol", json={"code": code, "label": "Pixel de Tech Trois"})
    assert enrolled.status_code == 200, enrolled.text
    device = {"Authorization": f"Bearer {enrolled.json()['access_token']}"}
    assert enrolled.json()["person_name"] == "Tech Trois"
    assert client.get("/api/v1/me/pages", headers=device).json() == []
    again = client.post("/api/v1/enrol", json={"code": code})
    assert again.status_code == 410 and again.json()["error"]["code"] == "enrolment_used"
    devices = client.get("/api/v1/me/devices", headers=device).json()
    assert [d["label"] for d in devices] == ["Pixel de Tech Trois"]
    assert client.delete(f"/api/v1/me/devices/{devices[0]['id']}", headers=device).status_code == 204
    assert client.get("/api/v1/me/pages", headers=device).status_code == 401


def test_admins_revoke_a_lost_phone_and_operators_cannot(client, world, runtime, operator):
    client.post(f"/api/v1/people/{world.techs[2]}/enrolments", headers=operator, json={"channel": "email"})
    with runtime.session_factory() as s:
        text = s.scalar(select(Notification.text).where(Notification.purpose == "enrol"))
    device = {"Authorization": "Bearer " + client.post("/api/v1/enrol", json={
        "code": re.search(r"/app/#/enrol/(\S+)", text).group(1)}).json()["access_token"]}
    admin = login(client, world.users["admin"])
    listed = client.get(f"/api/v1/people/{world.techs[2]}/devices", headers=admin).json()
    assert client.get(f"/api/v1/people/{world.techs[2]}/devices", headers=operator).status_code == 403
    assert client.delete(f"/api/v1/people/{world.techs[2]}/devices/{listed[0]['id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/me/pages", headers=device).status_code == 401


def test_enrolment_links_stay_in_the_tenant(client, world):
    foreign = login(client, world.users["foreign_operator"])
    reply = client.post(f"/api/v1/people/{world.techs[0]}/enrolments", headers=foreign, json={"channel": "sms"})
    assert reply.status_code == 404
    assert client.post("/api/v1/enrol", json={"code": "x" * 30}).status_code == 404


def test_my_pages_show_what_waits_for_me_first(client, world, operator):
    for severity, title in ((2, "Nid de poule"), (3, "Chute d'arbre")):
        client.post("/api/v1/events", headers=operator, json={
            "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": severity,
            "title": title, "place": "rue Jean Moulin"})
    tech1 = login(client, world.users["oncall"])
    pages = client.get("/api/v1/me/pages", headers=tech1).json()
    assert [p["event"]["title"] for p in pages] == ["Chute d'arbre", "Nid de poule"]
    assert pages[0]["asking_me"] and pages[0]["due_at"] and pages[0]["event"]["organization_code"] == "CHENOVE"
    tech2 = login(client, world.users["oncall2"])
    assert client.get("/api/v1/me/pages", headers=tech2).json() == [], "tech 2 was not asked yet"
    client.post(f"/api/v1/events/{pages[0]['event']['id']}/responses", headers=tech1, json={"kind": "ack"})
    after = client.get("/api/v1/me/pages", headers=tech1).json()
    taken = next(p for p in after if p["event"]["title"] == "Chute d'arbre")
    assert taken["status"] == "acknowledged" and taken["my_responses"] == ["ack"] and not taken["asking_me"]


def test_the_preview_lists_who_will_be_asked_in_order_and_by_which_roads(client, world, operator):
    preview = client.post("/api/v1/events/preview", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3})
    assert preview.status_code == 200, preview.text
    body = preview.json()
    groups = body["pages"][0]["groups"]
    assert [g["group"] for g in groups] == ["Astreinte technique", "Astreinte cadre"]
    assert [m["name"] for m in groups[0]["members"]] == ["Tech Un", "Tech Deux", "Tech Trois"]
    assert groups[0]["members"][0]["channels"] == ["sms"]
    assert [g["group"] for g in body["informed"]] == ["Astreinte élu"]
    critical = client.post("/api/v1/events/preview", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 4}).json()
    assert critical["all_at_once"] and len(critical["pages"]) == 2
    assert client.post("/api/v1/events/preview", headers=login(client, world.users["foreign_operator"]), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id}).status_code == 404


def test_a_photo_from_the_field_lands_in_the_trace(client, world, runtime, operator):
    event = client.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
        "title": "Chute d'arbre"}).json()
    tech1 = login(client, world.users["oncall"])
    sent = client.post(f"/api/v1/events/{event['id']}/photos", headers=tech1,
                       files={"photo": ("arbre.png", PNG, "image/png")}, data={"caption": "vue de la rue"})
    assert sent.status_code == 201, sent.text
    photo = client.get(sent.json()["url"], headers=operator)
    assert photo.status_code == 200 and photo.content == PNG
    trace = client.get(f"/api/v1/events/{event['id']}/trace", headers=operator).json()
    entry = next(e for e in trace if e["kind"] == "response.photo")
    assert entry["data"]["caption"] == "vue de la rue" and entry["actor_type"] == "person"
    tech2 = login(client, world.users["oncall2"])
    assert client.get(sent.json()["url"], headers=tech2).status_code == 404
    fake = client.post(f"/api/v1/events/{event['id']}/photos", headers=tech1,
                       files={"photo": ("x.png", b"<script>", "image/png")})
    assert fake.status_code == 422 and fake.json()["error"]["code"] == "unsupported_file"
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count(Attachment.id))) == 1


@pytest.mark.parametrize("severity", [1, 2, 3, 4])
def test_the_preview_shows_the_pages_the_event_then_opens(client, world, operator, severity):
    body = {"organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": severity}
    preview = client.post("/api/v1/events/preview", headers=operator, json=body).json()
    event = client.post("/api/v1/events", headers=operator, json={**body, "title": "Chute d'arbre"}).json()
    trace = client.get(f"/api/v1/events/{event['id']}/trace", headers=operator).json()
    opened = [[group["group"] for group in entry["data"]["chain"]] for entry in trace if entry["kind"] == "page.started"]
    assert [[group["group"] for group in page["groups"]] for page in preview["pages"]] == opened
    assert preview["all_at_once"] == (severity == 4)


def test_the_api_answers_the_same_whatever_order_its_routers_are_included_in(monkeypatch, make_client, world):
    """`/events/preview` (on-call router) beside `/events/{event_id}` (events router): order must not matter."""
    import backend.app

    monkeypatch.setattr(backend.app, "ROUTERS", tuple(reversed(backend.app.ROUTERS)))
    client = make_client()
    headers = login(client, world.users["operator"])
    preview = client.post("/api/v1/events/preview", headers=headers, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3})
    assert preview.status_code == 200, preview.text
    created = client.post("/api/v1/events", headers=headers, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3, "title": "Arbre"})
    assert created.status_code == 201, created.text
    assert client.get(f"/api/v1/events/{created.json()['id']}", headers=headers).json()["title"] == "Arbre"
    assert client.get(f"/api/v1/events/{created.json()['id']}/reports", headers=headers).status_code == 200
