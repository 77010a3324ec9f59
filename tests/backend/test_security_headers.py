"""Every page and API answer tells the browser what it may load, frame or send on."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/app/", "/console/", "/api/v1/events", "/l/some-link-token", "/healthz"])
def test_every_answer_carries_the_security_headers(client, path):
    answer = client.get(path)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["referrer-policy"] == "no-referrer"
    directives = dict(part.strip().split(" ", 1) for part in answer.headers["content-security-policy"].split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in directives.get("script-src", "")


def test_the_apps_run_only_their_own_scripts(client):
    policy = client.get("/console/").headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy


def test_the_api_answers_cannot_run_as_a_page(client):
    assert client.get("/api/v1/events").headers["content-security-policy"].startswith("default-src 'none'")


def test_an_error_of_back_pressure_carries_them_too(settings, make_client):
    settings.max_pending_requests = 0
    answer = make_client().get("/api/v1/events")
    assert answer.status_code == 503 and answer.headers["x-frame-options"] == "DENY"


def test_hsts_only_when_served_over_https(settings, make_client, client):
    assert "strict-transport-security" not in client.get("/app/").headers
    settings.public_url = "https://vigie.example.org"
    assert make_client().get("/app/").headers["strict-transport-security"].startswith("max-age=")
