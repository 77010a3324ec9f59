"""Webhooks out: a commune's receivers get signed deliveries of the kinds they chose, retried from
their rows, visible with their status; a receiver that hangs holds nothing else up."""

from __future__ import annotations

import json
import time

import pytest

from backend.config import Settings
from backend.webhooks import service as webhook_service
from tests.conftest import INBOUND_SECRET
from tests.peers.webhook_receiver import Receiver

API = "/api/v1"
DEADLINE_S = 2.0


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    # A short request deadline: the hanging receiver is cut off in a test's time. The receivers
    # listen on loopback: named as an internal network receivers may be in.
    return Settings(DATABASE_URL=database_url, var_dir=tmp_path / "var", run_worker=False,
                    max_sleep_seconds=5.0, lease_seconds=5.0, sms_inbound_secret=INBOUND_SECRET,
                    webhook_timeout_s=DEADLINE_S, webhook_internal_networks=["127.0.0.0/8", "::1/128"])


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(webhook_service, "BACKOFF_BASE_S", 0.2)


@pytest.fixture
def live(make_client, world):
    """An app with its worker running (deliveries leave), on the world's database."""
    return make_client(worker=True)


def subscribe(client, headers, receiver: Receiver, organization_id: int, **extra) -> dict:
    response = client.post(f"{API}/webhooks", headers=headers, json={
        "organization_id": organization_id, "url": receiver.url, **extra})
    assert response.status_code == 201, response.text
    receiver.secret = response.json()["secret"]
    return response.json()


def open_event(client, world, h) -> dict:
    response = client.post(f"{API}/events", headers=h("operator"), json={
        "organization_id": world.commune_id, "procedure_id": world.procedure_id, "title": "Arbre tombé"})
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(client, h, subscription_id: int, role: str = "referent") -> list[dict]:
    response = client.get(f"{API}/webhooks/{subscription_id}/deliveries", headers=h(role))
    assert response.status_code == 200, response.text
    return response.json()


def wait_until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("not reached in time")


def test_a_receiver_gets_signed_deliveries_of_the_kinds_it_chose_and_nothing_else(live, world, h):
    client = live
    with Receiver() as receiver, Receiver() as elsewhere:
        made = subscribe(client, h("referent"), receiver, world.commune_id, kinds=["event.created", "event.closed"],
                         description="Supervision de la ville")
        assert made["secret"].startswith("whsec_") and made["kinds"] == ["event.closed", "event.created"]
        subscribe(client, h("admin"), elsewhere, world.other_commune_id)  # another commune: hears nothing of this
        event = open_event(client, world, h)
        closed = client.post(f"{API}/events/{event['id']}/close", headers=h("operator"), json={"reason": "Dégagé"})
        assert closed.status_code == 200, closed.text
        got = receiver.wait_for(2)
        time.sleep(0.5)  # nothing more comes: page.started, page.notify… were not asked for
        assert len(receiver.received) == 2 and elsewhere.received == []
    assert all(r["signed"] for r in got)
    by_kind = {r["body"]["entry"]["kind"]: r for r in got}
    assert set(by_kind) == {"event.created", "event.closed"}
    created = by_kind["event.created"]
    assert created["body"]["event"] == {
        "id": event["id"], "number": event["number"], "commune": "Ville de Chenôve",
        "organization_id": world.commune_id, "title": "Arbre tombé", "severity": event["severity"],
        "status": created["body"]["event"]["status"]}
    assert created["headers"]["x-vigie-event-id"] == str(event["id"])
    assert created["headers"]["x-vigie-delivery"] == str(created["body"]["id"])
    assert created["headers"]["content-type"] == "application/json"
    # The entry as the trace API shows it to an operator, no more.
    trace = client.get(f"{API}/events/{event['id']}/trace", headers=h("operator")).json()
    shown = next(e for e in trace if e["kind"] == "event.closed")
    sent = by_kind["event.closed"]["body"]["entry"]
    assert (sent["id"], sent["seq"], sent["data"], sent["actor"]["label"]) == (
        shown["id"], shown["seq"], shown["data"], shown["actor_label"])
    listed = wait_until(lambda: [d for d in deliveries(client, h, made["id"]) if d["status"] == "delivered"]
                        if len(deliveries(client, h, made["id"])) == 2 else None)
    assert {(d["kind"], d["status"], d["attempts"], d["response_code"]) for d in listed} == {
        ("event.created", "delivered", 1, 200), ("event.closed", "delivered", 1, 200)}


def test_the_secret_is_shown_once_and_never_again(client, world, h):
    with Receiver() as receiver:
        made = subscribe(client, h("referent"), receiver, world.commune_id)
    secret = made["secret"]
    for path in ("/webhooks", f"/webhooks/{made['id']}", f"/webhooks/{made['id']}/deliveries"):
        assert secret not in client.get(f"{API}{path}", headers=h("referent")).text
    assert "secret" not in client.get(f"{API}/webhooks/{made['id']}", headers=h("referent")).json()
    rotated = client.post(f"{API}/webhooks/{made['id']}/secret", headers=h("referent")).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret


def test_a_referent_manages_only_their_own_communes_webhooks(client, world, h):
    with Receiver() as receiver:
        mine = subscribe(client, h("referent"), receiver, world.commune_id)
        theirs = subscribe(client, h("admin"), receiver, world.other_commune_id)
    listed = client.get(f"{API}/webhooks", headers=h("referent")).json()
    assert [s["id"] for s in listed] == [mine["id"]]
    assert {s["id"] for s in client.get(f"{API}/webhooks", headers=h("admin")).json()} == {mine["id"], theirs["id"]}
    for method, path, body in (("GET", "", None), ("PATCH", "", {"active": False}), ("DELETE", "", None),
                               ("GET", "/deliveries", None), ("POST", "/test", None), ("POST", "/secret", None),
                               ("POST", "/deliveries/1/redeliver", None)):
        response = client.request(method, f"{API}/webhooks/{theirs['id']}{path}", headers=h("referent"), json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    other = client.post(f"{API}/webhooks", headers=h("referent"), json={
        "organization_id": world.other_commune_id, "url": "https://hooks.example.org/vigie"})
    assert other.status_code == 404
    # Operators and on-call staff do not configure integrations; another métropole sees nothing.
    assert client.get(f"{API}/webhooks", headers=h("operator")).status_code == 403
    assert client.get(f"{API}/webhooks/{mine['id']}", headers=h("oncall")).status_code == 403
    assert client.get(f"{API}/webhooks/{mine['id']}", headers=h("foreign_operator")).status_code == 403


@pytest.mark.parametrize("body, status, code", [
    ({"url": "http://hooks.example.org/vigie"}, 422, "webhook_url_not_https"),
    ({"url": "ftp://hooks.example.org/vigie"}, 422, "invalid_webhook_url"),
    ({"url": "https://user:pw@hooks.example.org/"}, 422, "invalid_webhook_url"),
    ({"url": "https://hooks.example.org/", "kinds": ["event.exploded"]}, 422, "unknown_trace_kind"),
    ({"url": "https://hooks.example.org/" + "a" * 2000}, 422, "invalid_input"),
    ({"url": "https://hooks.example.org/", "kinds": ["event.created"] * 101}, 422, "invalid_input"),
    ({"url": "https://hooks.example.org/", "description": "x" * 301}, 422, "invalid_input"),
    ({"url": "https://hooks.example.org/", "organization_id": 2**63}, 422, "invalid_input"),
])
def test_bad_subscriptions_are_refused_clearly(client, world, h, body, status, code):
    response = client.post(f"{API}/webhooks", headers=h("referent"), json={"organization_id": world.commune_id, **body})
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_http_to_any_host_only_behind_the_setting(make_client, world, h, settings):
    settings.webhook_allow_http = True
    client = make_client()
    response = client.post(f"{API}/webhooks", headers=h("referent"), json={
        "organization_id": world.commune_id, "url": "http://relais.interne:8080/vigie"})
    assert response.status_code == 201, response.text


def test_a_failing_receiver_is_retried_with_backoff_then_delivered_with_the_same_id(live, world, h, fast_retries):
    client = live
    with Receiver(answers=[500, 503, 200]) as receiver:
        made = subscribe(client, h("referent"), receiver, world.commune_id, kinds=["event.created"])
        open_event(client, world, h)
        got = receiver.wait_for(3)
    assert [r["answered"] for r in got] == [500, 503, 200]
    assert len({r["headers"]["x-vigie-delivery"] for r in got}) == 1  # at least once, one id to dedup by
    assert len({r["body"]["id"] for r in got}) == 1 and all(r["signed"] for r in got)
    delivery = wait_until(lambda: next((d for d in deliveries(client, h, made["id"]) if d["status"] == "delivered"),
                                       None))
    assert (delivery["attempts"], delivery["response_code"], delivery["last_error"]) == (3, 200, None)


def test_backoff_doubles_and_gives_up_after_a_day():
    assert [webhook_service.backoff(n) for n in (1, 2, 3)] == [10.0, 20.0, 40.0]
    assert webhook_service.backoff(30) == 3600.0


def test_a_hanging_receiver_is_cut_off_and_retried_while_other_deliveries_go_on(live, world, h):
    client = live
    with Receiver(hang_s=6.0) as hanging, Receiver() as healthy:
        stuck = subscribe(client, h("referent"), hanging, world.commune_id, kinds=["event.created"])
        subscribe(client, h("admin"), healthy, world.commune_id, kinds=["event.created"])
        open_event(client, world, h)
        open_event(client, world, h)
        held = hanging.wait_for(1)[0]
        went = healthy.wait_for(2)
        # Both went while the hanging receiver still held its request (cut off only after the deadline).
        assert went[-1]["at"] < held["at"] + DEADLINE_S
        waiting = wait_until(lambda: [d for d in deliveries(client, h, stuck["id"]) if d["attempts"] >= 1], 10)
    assert waiting[0]["status"] == "queued" and waiting[0]["response_code"] is None
    assert "pas de réponse en 2 s" in waiting[0]["last_error"] and waiting[0]["next_attempt_at"] is not None


def test_410_gone_stops_the_subscription(live, world, h):
    client = live
    with Receiver(answers=[410]) as receiver:
        made = subscribe(client, h("referent"), receiver, world.commune_id)
        assert client.post(f"{API}/webhooks/{made['id']}/test", headers=h("referent")).status_code == 202
        receiver.wait_for(1)
        stopped = wait_until(lambda: (s := client.get(f"{API}/webhooks/{made['id']}", headers=h("referent")).json())
                             ["active"] is False and s)
    assert stopped["disabled_reason"] == "le destinataire a répondu 410 Gone"
    assert [(d["status"], d["response_code"]) for d in deliveries(client, h, made["id"])] == [("failed", 410)]


def test_tester_sends_a_signed_ping_and_renvoyer_sends_it_again_with_its_id(live, world, h):
    client = live
    with Receiver() as receiver:
        made = subscribe(client, h("referent"), receiver, world.commune_id, kinds=["event.closed"])
        ping = client.post(f"{API}/webhooks/{made['id']}/test", headers=h("referent"))
        assert ping.status_code == 202 and ping.json()["kind"] == "ping"
        first = receiver.wait_for(1)[0]
        assert first["signed"] and first["body"]["entry"]["kind"] == "ping" and first["body"]["event"] is None
        assert "x-vigie-event-id" not in first["headers"]
        wait_until(lambda: deliveries(client, h, made["id"])[0]["status"] == "delivered")
        again = client.post(f"{API}/webhooks/{made['id']}/deliveries/{ping.json()['id']}/redeliver",
                            headers=h("referent"))
        assert again.status_code == 200 and again.json()["status"] == "queued"
        second = receiver.wait_for(2)[1]
    assert second["body"]["id"] == first["body"]["id"] and second["signed"]


def test_a_disabled_webhook_gets_nothing_and_its_queue_is_cancelled(client, world, h):
    with Receiver() as receiver:
        made = subscribe(client, h("referent"), receiver, world.commune_id)
        open_event(client, world, h)  # no worker here: its deliveries wait in the queue
        queued = deliveries(client, h, made["id"])
        assert queued and {d["status"] for d in queued} == {"queued"}
        patched = client.patch(f"{API}/webhooks/{made['id']}", headers=h("referent"), json={"active": False})
        assert patched.status_code == 200 and patched.json()["active"] is False
        assert {d["status"] for d in deliveries(client, h, made["id"])} == {"cancelled"}
        open_event(client, world, h)
        assert len(deliveries(client, h, made["id"])) == len(queued)
        refused = client.post(f"{API}/webhooks/{made['id']}/deliveries/{queued[0]['id']}/redeliver",
                              headers=h("referent"))
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "webhook_disabled"
        untested = client.post(f"{API}/webhooks/{made['id']}/test", headers=h("referent"))
        assert untested.status_code == 409 and untested.json()["error"]["code"] == "webhook_disabled"
        assert client.delete(f"{API}/webhooks/{made['id']}", headers=h("referent")).status_code == 204
        assert client.get(f"{API}/webhooks/{made['id']}", headers=h("referent")).status_code == 404


def test_the_readmes_receiver_snippet_verifies_a_real_signature_and_refuses_a_forged_one():
    from pathlib import Path

    from backend.webhooks import signing

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Webhooks out", 1)[1]
    snippet = section.split("```python", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(snippet, scope)  # noqa: S102 — the README's own code, as a receiver would paste it
    secret, body, timestamp = signing.new_secret(), b'{"id":1}', str(int(time.time()))
    headers = {"X-Vigie-Timestamp": timestamp, "X-Vigie-Signature": signing.signature(secret, timestamp, body)}
    assert scope["vigie_signed"](secret, headers, body)
    assert not scope["vigie_signed"](secret, headers, body + b" ")
    assert not scope["vigie_signed"]("whsec_other", headers, body)
    stale = str(int(time.time()) - 3600)
    assert not scope["vigie_signed"](secret, {"X-Vigie-Timestamp": stale,
                                              "X-Vigie-Signature": signing.signature(secret, stale, body)}, body)


def test_a_delivery_leased_by_a_worker_that_died_leaves_again_with_its_id(client, world, h, make_client, runtime):
    from datetime import timedelta

    from backend.db import db_now, transaction

    with Receiver() as receiver:
        made = subscribe(client, h("referent"), receiver, world.commune_id, kinds=["event.created"])
        open_event(client, world, h)
        with transaction(runtime.session_factory) as session:  # a worker leases it, then dies mid-request
            now = db_now(session)
            leased = webhook_service.claim_due(db_session=session, worker_id="dead", now=now,
                                               lease_until=now + timedelta(seconds=1.5), limit=10,
                                               per_subscription=2, busy={})
        assert len(leased) == 1
        make_client(worker=True)
        got = receiver.wait_for(1, timeout=15)
    assert got[0]["body"]["id"] == leased[0].delivery_id and got[0]["signed"]
    assert got[0]["body"] == json.loads(leased[0].body)
    with transaction(runtime.session_factory) as session:  # the dead worker's late answer changes nothing
        webhook_service.record(db_session=session, worker_id="dead", now=db_now(session),
                               outcomes=[webhook_service.Outcome(leased[0].delivery_id, 500, "HTTP 500")])
    final = wait_until(lambda: (d := deliveries(client, h, made["id"])) and d[0]["status"] == "delivered" and d)
    assert (final[0]["attempts"], final[0]["response_code"]) == (1, 200)


def test_finished_deliveries_are_kept_thirty_days(client, world, h, runtime):
    from datetime import timedelta

    from backend.db import db_now, transaction
    from backend.webhooks.models import WebhookDelivery

    with Receiver() as receiver:
        made = subscribe(client, h("referent"), receiver, world.commune_id)
    with transaction(runtime.session_factory) as session:
        now = db_now(session)
        for days, status in ((31, "delivered"), (31, "failed"), (31, "queued"), (29, "delivered")):
            session.add(WebhookDelivery(subscription_id=made["id"], organization_id=world.commune_id, kind="ping",
                                        status=status, created_at=now - timedelta(days=days), data={}))
    with transaction(runtime.session_factory) as session:
        assert webhook_service.purge_finished(db_session=session, now=db_now(session)) == 2
    left = deliveries(client, h, made["id"])
    assert sorted(d["status"] for d in left) == ["delivered", "queued"]


def test_the_secret_never_reaches_the_logs(live, world, h, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    client = live
    with Receiver(answers=[500, 200]) as receiver:
        made = subscribe(client, h("referent"), receiver, world.commune_id)
        client.post(f"{API}/webhooks/{made['id']}/test", headers=h("referent"))
        receiver.wait_for(1)
    assert caplog.records and made["secret"] not in caplog.text


# The PC's own network is not a receiver (SSRF) -----------------------------------------------
@pytest.mark.parametrize("url", [
    "http://127.0.0.1:6379/", "https://localhost/vigie", "https://10.20.0.5/hook", "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/", "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://0.0.0.0/",
    "https://100.64.0.1/", "https://[fd00::1]/",
])
def test_an_internal_address_is_refused_unless_the_install_names_its_network(make_client, world, h, settings, url):
    settings.webhook_internal_networks = []
    client = make_client()
    response = client.post(f"{API}/webhooks", headers=h("referent"), json={
        "organization_id": world.commune_id, "url": url})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "webhook_url_internal"
    assert "VIGIE_WEBHOOK_INTERNAL_NETWORKS" in response.json()["error"]["message"]
    assert client.get(f"{API}/webhooks", headers=h("referent")).json() == []


def test_the_hyperviseurs_network_named_by_the_install_is_accepted(make_client, world, h, settings):
    settings.webhook_internal_networks = ["10.20.0.0/16"]
    client = make_client()
    inside = client.post(f"{API}/webhooks", headers=h("referent"), json={
        "organization_id": world.commune_id, "url": "https://10.20.3.4/vigie"})
    assert inside.status_code == 201, inside.text
    outside = client.post(f"{API}/webhooks", headers=h("referent"), json={
        "organization_id": world.commune_id, "url": "https://10.21.0.1/vigie"})
    assert outside.json()["error"]["code"] == "webhook_url_internal"
    moved = client.patch(f"{API}/webhooks/{inside.json()['id']}", headers=h("referent"),
                         json={"url": "https://169.254.169.254/"})
    assert moved.status_code == 422 and moved.json()["error"]["code"] == "webhook_url_internal"


def test_a_name_that_resolves_to_an_internal_address_gets_nothing(make_client, world, h, settings, database_url):
    """Saved while its name looked harmless; at each connection the address it resolves to is checked."""
    import socket

    name = socket.gethostname()
    try:
        resolved = socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)[0][4][0]
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    import ipaddress
    if ipaddress.ip_address(resolved).is_global:
        pytest.skip(f"{name} resolves to a public address here")
    settings.webhook_allow_http, settings.webhook_internal_networks = True, []
    with Receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        client = make_client(worker=True)
        made = client.post(f"{API}/webhooks", headers=h("referent"), json={
            "organization_id": world.commune_id, "url": f"http://{name}:{port}/hook"})
        assert made.status_code == 201, made.text
        client.post(f"{API}/webhooks/{made.json()['id']}/test", headers=h("referent"))
        failed = wait_until(lambda: next((d for d in deliveries(client, h, made.json()["id"])
                                          if d["last_error"]), None))
        time.sleep(0.5)
        assert receiver.received == []
    assert "adresse interne refusée" in failed["last_error"] and resolved in failed["last_error"]


def test_the_secret_is_kept_sealed_and_still_signs(live, world, h, runtime):
    from sqlalchemy import select

    from backend.db import transaction
    from backend.webhooks.models import WebhookSubscription

    with Receiver() as receiver:
        made = subscribe(live, h("referent"), receiver, world.commune_id)
        with transaction(runtime.session_factory) as session:
            stored = session.scalar(select(WebhookSubscription.secret).where(WebhookSubscription.id == made["id"]))
        assert stored.startswith("sealed:v1:") and made["secret"] not in stored
        live.post(f"{API}/webhooks/{made['id']}/test", headers=h("referent"))
        got = receiver.wait_for(1)
    assert got[0]["signed"]


def test_a_secret_sealed_under_a_former_key_still_opens_with_the_previous_keys_setting():
    from backend.sealing import Sealer, Unreadable

    sealed = Sealer("former-install-key-0123456789").seal("whsec_abc")
    assert Sealer("new-install-key-0123456789", ["former-install-key-0123456789"]).open(sealed) == "whsec_abc"
    with pytest.raises(Unreadable):
        Sealer("new-install-key-0123456789").open(sealed)


def test_db_upgrade_seals_the_secrets_written_in_clear_before(client, world, h, runtime, settings):
    from sqlalchemy import select, update

    from backend.cli import _seal_clear_secrets
    from backend.db import transaction
    from backend.webhooks.models import WebhookSubscription

    made = client.post(f"{API}/webhooks", headers=h("referent"), json={
        "organization_id": world.commune_id, "url": "https://hooks.example.org/vigie"}).json()
    with transaction(runtime.session_factory) as session:  # as a row of yesterday's version was
        session.execute(update(WebhookSubscription).values(secret=made["secret"]))
    assert _seal_clear_secrets(settings) == 1
    assert _seal_clear_secrets(settings) == 0
    with transaction(runtime.session_factory) as session:
        stored = session.scalar(select(WebhookSubscription.secret))
        assert session.info["sealer"].open(stored) == made["secret"] and made["secret"] not in stored
