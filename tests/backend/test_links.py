"""One-tap e-mail links: GET only shows, POST acts once; expired, replayed, altered links explain themselves."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.db import utcnow
from backend.outbox.models import Notification
from backend.responses.models import Response
from tests.factories import login


@pytest.fixture
def operator(client, world):
    return login(client, world.users["operator"])


def critical_event(client, world, operator):
    response = client.post("/api/v1/events", headers=operator, json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 4,
        "title": "Effondrement de mur", "place": "rue de l'Église"})
    assert response.status_code == 201, response.text
    return response.json()


def links_in_mail(runtime, address):
    with runtime.session_factory() as s:
        mail = s.scalar(select(Notification).where(Notification.address == address, Notification.channel == "email",
                                                   Notification.purpose == "solicit"))
    assert mail is not None, "severity 4 solicits by e-mail too"
    found = dict(re.findall(r'<a href="http://127\.0\.0\.1:8000(/l/[^"]+)"[^>]*>([^<]+)</a>', mail.html))
    return {label: path for path, label in found.items()}


def responses(runtime):
    with runtime.session_factory() as s:
        return s.scalar(select(func.count(Response.id)))


def test_opening_the_link_changes_nothing_and_the_button_acknowledges(client, world, runtime, operator):
    event = critical_event(client, world, operator)
    links = links_in_mail(runtime, "tech.un@example.org")
    page = client.get(links["Je prends"])
    assert page.status_code == 200 and "Je prends" in page.text and "Effondrement de mur" in page.text
    assert responses(runtime) == 0, "a mail scanner opening the link must not acknowledge"
    done = client.post(links["Je prends"])
    assert done.status_code == 200 and "Vous prenez en charge" in done.text
    detail = client.get(f"/api/v1/events/{event['id']}", headers=operator).json()
    tech_page = next(p for p in detail["pages"] if p["current_group_id"] == world.tech_group_id)
    assert tech_page["status"] == "acknowledged" and tech_page["acknowledged_by_person_id"] == world.techs[0]
    trace = client.get(f"/api/v1/events/{event['id']}/trace", headers=operator).json()
    assert next(e for e in trace if e["kind"] == "response.ack")["data"]["via"] == "email"


def test_a_replayed_link_explains_itself_and_changes_nothing(client, world, runtime, operator):
    critical_event(client, world, operator)
    links = links_in_mail(runtime, "tech.un@example.org")
    assert client.post(links["Je prends"]).status_code == 200
    count = responses(runtime)
    again = client.post(links["Je prends"])
    assert again.status_code == 409 and "déjà servi" in again.text
    assert "déjà servi" in client.get(links["Je prends"]).text
    assert responses(runtime) == count


def test_the_decline_link_moves_on_to_the_next_technician(client, world, runtime, operator):
    event = critical_event(client, world, operator)
    links = links_in_mail(runtime, "tech.un@example.org")
    assert client.post(links["Indisponible"]).status_code == 200
    detail = client.get(f"/api/v1/events/{event['id']}", headers=operator).json()
    tech_page = next(p for p in detail["pages"] if p["current_group_id"] == world.tech_group_id)
    assert tech_page["current_person_id"] == world.techs[1]


def test_an_expired_link_says_so(client, world, runtime, operator):
    critical_event(client, world, operator)
    with runtime.session_factory() as s:
        page_id = s.scalar(select(Notification.page_id).where(Notification.address == "tech.un@example.org"))
    old = runtime.links.token(person_id=world.techs[0], page_id=page_id, action="ack",
                              now=utcnow() - runtime.links.ttl - timedelta(seconds=1))
    for method in (client.get, client.post):
        reply = method(f"/l/{old}")
        assert reply.status_code == 410 and "Lien expiré" in reply.text
    assert responses(runtime) == 0


def test_an_altered_link_is_not_recognised(client, world, runtime, operator):
    critical_event(client, world, operator)
    path = links_in_mail(runtime, "tech.un@example.org")["Je prends"]
    payload, mac = path.removeprefix("/l/").split(".")
    forged = f"/l/{payload[:-2]}xx.{mac}"
    assert client.post(forged).status_code == 404
    assert client.post("/l/garbage").status_code == 404
    assert responses(runtime) == 0


def test_the_links_of_a_person_who_left_no_longer_act(client, world, runtime, operator):
    critical_event(client, world, operator)
    links = links_in_mail(runtime, "tech.un@example.org")
    referent = login(client, world.users["referent"])
    assert client.delete(f"/api/v1/people/{world.techs[0]}", headers=referent).status_code == 204
    refused = client.post(links["Je prends"])
    assert refused.status_code == 410 and "plus valable" in refused.text
    assert responses(runtime) == 0
