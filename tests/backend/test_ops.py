"""What the people who run Vigie look at: /healthz and /metrics."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from backend.db import transaction, utcnow
from backend.events import service as event_service
from backend.events.schemas import EventCreate
from backend.outbox.models import Notification
from backend.pages.models import Page
from backend.trace.service import Actor
from backend.worker import metrics as worker_metrics
from backend.worker.engine import Worker
from tests.smoke.harness import wait_until


def open_event(runtime, world, *, minutes_ago: float, severity: int = 3) -> int:
    """An event opened `minutes_ago` with no worker running: its first notifications and, past the
    ack timeout, its page are overdue."""
    with transaction(runtime.session_factory) as s:
        event = event_service.create(db_session=s, org_ids=frozenset({world.commune_id}), actor=Actor("system", None, "test"), user_id=None, now=utcnow() - timedelta(minutes=minutes_ago),
                    draft=EventCreate(organization_id=world.commune_id, procedure_id=world.procedure_id, severity=severity, title="Arbre tombé"))
        return event.id


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample in a Prometheus exposition."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return None


@pytest.fixture
def worker(runtime, recording_channels):
    started = []

    def _start() -> Worker:
        w = Worker(session_factory=runtime.session_factory, channels=recording_channels,
                   max_sleep_seconds=0.1, lease_seconds=5)
        runtime.signals.on_wake(w.wake)
        w.start()
        started.append(w)
        return w

    yield _start
    for w in started:
        w.stop()


def test_healthz_without_a_worker_is_degraded_but_says_the_database_answers(client, world):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["worker_last_cycle_age_s"]) == ("degraded", "ok", None)
    assert body["pages"] == {"due": 0, "lag_s": 0.0}
    assert body["notifications"] == {"due": 0, "lag_s": 0.0}


def test_healthz_reports_how_late_the_oldest_due_item_is_and_it_grows(client, world, runtime):
    open_event(runtime, world, minutes_ago=10)  # ack timeout 5 min: the page is 5 min overdue
    first = client.get("/healthz").json()
    assert first["pages"]["due"] == 1
    assert 295 <= first["pages"]["lag_s"] < 320
    # The first SMS of the technician and the élu's information, queued 10 minutes ago, never sent.
    assert first["notifications"]["due"] >= 2
    assert 595 <= first["notifications"]["lag_s"] < 620
    time.sleep(0.3)
    second = client.get("/healthz").json()
    assert second["pages"]["lag_s"] >= first["pages"]["lag_s"] + 0.25
    assert second["notifications"]["lag_s"] >= first["notifications"]["lag_s"] + 0.25


def test_an_item_not_yet_due_is_no_lag(client, world, runtime):
    open_event(runtime, world, minutes_ago=1)  # the page is due in four minutes
    body = client.get("/healthz").json()
    assert body["pages"] == {"due": 0, "lag_s": 0.0}
    assert body["notifications"]["due"] >= 2 and body["notifications"]["lag_s"] >= 59


def test_healthz_is_ok_once_a_worker_runs_and_the_backlog_drains(client, world, runtime, worker):
    open_event(runtime, world, minutes_ago=10)
    worker()

    def healthy():
        response = client.get("/healthz")
        body = response.json()
        return response.status_code == 200 and body["pages"]["due"] == 0 and body["notifications"]["due"] == 0 \
            and body

    body = wait_until(healthy, timeout=15, what="the worker to drain the backlog")
    assert body["status"] == "ok" and body["database"] == "ok"
    assert 0 <= body["worker_last_cycle_age_s"] < 5
    assert body["pages"]["lag_s"] == 0.0 and body["notifications"]["lag_s"] == 0.0
    with transaction(runtime.session_factory) as s:
        # The overdue page fired: the second technician was called.
        assert s.scalar(select(func.count(Page.id)).where(Page.round == 0, Page.member_index == 1)) == 1
        assert s.scalar(select(func.count(Notification.id)).where(Notification.status == "queued",
                                                                 Notification.due_at <= utcnow())) == 0


@contextmanager
def database_down(runtime):
    """Every session of the app on a PostgreSQL that does not answer (nothing listens on port 1)."""
    dead = create_engine("postgresql+psycopg://vigie@127.0.0.1:1/vigie", connect_args={"connect_timeout": 2})
    saved = runtime.session_factory, runtime.read_factory
    runtime.session_factory = sessionmaker(bind=dead)
    runtime.read_factory = sessionmaker(bind=dead)
    try:
        yield
    finally:
        runtime.session_factory, runtime.read_factory = saved
        dead.dispose()


def test_healthz_says_so_when_the_database_is_unreachable(client, runtime):
    with database_down(runtime):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert (response.json()["status"], response.json()["database"]) == ("error", "unreachable")


def test_an_unreachable_database_is_a_503_to_come_back_to_and_nothing_is_lost(client, runtime, world, h):
    headers = h("operator")
    body = {"organization_id": world.commune_id, "procedure_id": world.procedure_id, "severity": 3,
            "title": "Arbre sur la chaussée"}
    with database_down(runtime):
        opened = client.post("/api/v1/events", json=body, headers=headers)
        listed = client.get("/api/v1/events", headers=headers)
    for response in (opened, listed):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"]["code"] == "database_unavailable"
    # The console tries again once the database is back: the event is opened once.
    assert client.get("/api/v1/events", headers=headers).json() == []
    again = client.post("/api/v1/events", json=body, headers=headers)
    assert again.status_code == 201
    assert [e["number"] for e in client.get("/api/v1/events", headers=headers).json()] == [again.json()["number"]]


METRICS = {"Authorization": "Bearer metrics-secret"}


@pytest.fixture
def settings(settings):
    settings.metrics_token = "metrics-secret"
    return settings


def test_metrics_need_their_token_from_elsewhere_than_this_host(client, settings):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers=METRICS).status_code == 200
    settings.metrics_allow_from = ["testclient"]  # the test client's address, as a local Prometheus's
    assert client.get("/metrics").status_code == 200


def test_metrics_expose_the_prometheus_names(client, world, runtime):
    open_event(runtime, world, minutes_ago=10)
    response = client.get("/metrics", headers=METRICS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    # The worker's own metrics (backend/worker/metrics.py), under their Prometheus names and types.
    exposed = families(text)
    for metric, kind in ((worker_metrics.ESCALATION_LATENESS, "histogram"),
                         (worker_metrics.DISPATCH_LATENCY, "histogram"), (worker_metrics.STEPS, "counter")):
        assert metric._name in exposed, metric._name
        assert exposed[metric._name].type == kind
    names = {s.name for family in exposed.values() for s in family.samples}
    assert {"vigie_escalation_lateness_seconds_bucket", "vigie_escalation_lateness_seconds_count",
            "vigie_dispatch_latency_seconds_bucket", "vigie_dispatch_latency_seconds_sum",
            "vigie_escalation_steps_total"} <= names
    assert {"vigie_queue_depth", "vigie_oldest_due_lag_seconds", "vigie_worker_last_cycle_age_seconds"} <= set(exposed)
    # The queue, as of this request.
    assert sample(text, "vigie_queue_depth", kind="pages") == 1.0
    assert sample(text, "vigie_queue_depth", kind="notifications") >= 2.0
    assert 295 <= sample(text, "vigie_oldest_due_lag_seconds", kind="pages") < 320
    assert 595 <= sample(text, "vigie_oldest_due_lag_seconds", kind="notifications") < 620
    assert sample(text, "vigie_worker_last_cycle_age_seconds") == -1.0  # no worker ever ran


def test_metrics_follow_the_worker(client, world, runtime, worker):
    open_event(runtime, world, minutes_ago=10)
    steps_before = sample(client.get("/metrics", headers=METRICS).text, "vigie_escalation_steps_total")
    worker()

    def drained():
        text = client.get("/metrics", headers=METRICS).text
        return sample(text, "vigie_queue_depth", kind="pages") == 0.0 and \
            sample(text, "vigie_queue_depth", kind="notifications") == 0.0 and text

    text = wait_until(drained, timeout=15, what="the queue to drain")
    assert sample(text, "vigie_escalation_steps_total") >= steps_before + 1
    assert sample(text, "vigie_escalation_lateness_seconds_count") >= 1
    assert sample(text, "vigie_dispatch_latency_seconds_count") >= 1
    assert 0 <= sample(text, "vigie_worker_last_cycle_age_seconds") < 5


def test_the_started_hook_runs_once_the_app_serves_with_its_worker_running(settings, recording_channels):
    # `vigie serve` freezes the start-up heap in this hook: it must see the app fully built.
    from fastapi.testclient import TestClient

    from backend.app import create_app

    seen = []

    def started():
        runtime = app.state.runtime
        seen.append((runtime.hub is not None, runtime.worker is not None and runtime.worker.running))

    app = create_app(settings, channels=recording_channels, run_worker=True, on_started=started)
    assert seen == []
    with TestClient(app):
        assert seen == [(True, True)]
    assert len(seen) == 1
