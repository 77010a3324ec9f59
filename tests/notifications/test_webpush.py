"""Web Push for real: encrypted, VAPID-signed pushes to a push service on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
import stat
import threading
import time
from email.utils import formatdate

import httpx
import pytest
from py_vapid import Vapid02

from notifications.base import Channel, ChannelKind, OutboundMessage, Outcome
from notifications.render import EventSummary, render
from notifications.webpush import MAX_PLAINTEXT_BYTES, VapidKeys, WebPushChannel
from tests.peers.push_service import PushService, make_subscription, unused_port, verify_vapid

SUBJECT = "mailto:pc-astreinte@example.org"
TREE = EventSummary(org_code="CHENOVE", number="2026-0042", severity=3, title="Chute d'arbre",
                    place="av. Roland Carraz, voie bloquée")


@pytest.fixture
def service():
    with PushService() as push_service:
        yield push_service


@pytest.fixture
def vapid(tmp_path) -> VapidKeys:
    return VapidKeys.load_or_create(tmp_path / "var" / "vapid_private.pem")


@pytest.fixture
def channel(vapid) -> WebPushChannel:
    return WebPushChannel(vapid, SUBJECT, timeout_s=5.0)


def message(address: str, *, severity: int | None = 3, text: str | None = None, notification_id: int = 7,
            purpose: str = "solicit") -> OutboundMessage:
    event = EventSummary(**{**TREE.__dict__, "severity": severity or 3})
    rendered = render(purpose, ChannelKind.PUSH, event)
    data = {**rendered.data, "event_id": 42, "page_id": 9}
    if severity is None:
        del data["severity"]
    return OutboundMessage(notification_id=notification_id, channel=ChannelKind.PUSH, address=address,
                           subject=rendered.subject, text=rendered.text if text is None else text, data=data,
                           urgent=(severity or 3) >= 3)


def send(channel: WebPushChannel, msg: OutboundMessage):
    return asyncio.run(channel.send(msg))


# -- delivery -----------------------------------------------------------------------------------

def test_a_push_arrives_encrypted_signed_and_readable(service, vapid, channel):
    address, _, _ = make_subscription(service, "alice", application_server_key=vapid.public_key)
    msg = message(address)

    result = send(channel, msg)

    assert result.outcome is Outcome.DELIVERED
    assert result.provider_ref and result.provider_ref.startswith(service.origin + "/message/")
    assert service.rejected == []
    [got] = service.to("alice")
    assert got.payload == {"title": msg.subject, "body": msg.text, "notification_id": 7, "urgent": True,
                           "data": msg.data}
    assert got.payload["data"]["page_id"] == 9 and got.payload["data"]["actions"] == ["ack", "decline"]
    assert got.payload["data"]["place"] == "av. Roland Carraz, voie bloquée"  # UTF-8 survives
    assert got.headers["content-encoding"] == "aes128gcm"
    # VAPID: signed with our key, for this push service's origin, for less than a day.
    assert got.vapid_key == vapid.public_key
    assert got.claims["aud"] == service.origin and got.claims["sub"] == SUBJECT
    assert time.time() < got.claims["exp"] <= time.time() + 24 * 3600


@pytest.mark.parametrize(("severity", "urgency", "ttl"), [
    (4, "high", 3600), (3, "high", 3600), (2, "high", 1800), (1, "normal", 86400), (None, "high", 3600),
])
def test_urgency_and_ttl_follow_the_severity(service, channel, severity, urgency, ttl):
    address, _, _ = make_subscription(service, "bob")

    assert send(channel, message(address, severity=severity)).outcome is Outcome.DELIVERED

    [got] = service.to("bob")
    assert got.headers["urgency"] == urgency
    assert got.headers["ttl"] == str(ttl)


def test_each_send_signs_afresh(service, channel):
    """pywebpush writes aud/exp into the claims it is given: a shared dict would leak between services."""
    first, _, _ = make_subscription(service, "one")
    with PushService() as other:
        second, _, _ = make_subscription(other, "two")
        assert send(channel, message(first)).outcome is Outcome.DELIVERED
        assert send(channel, message(second)).outcome is Outcome.DELIVERED
        assert other.to("two")[0].claims["aud"] == other.origin
    assert service.to("one")[0].claims["aud"] == service.origin


def test_a_long_text_is_shortened_to_fit_a_push_message(service, channel):
    address, _, _ = make_subscription(service, "carol")
    msg = message(address, text="Arbre tombé sur la chaussée, éclairage arraché. " * 200)

    assert send(channel, msg).outcome is Outcome.DELIVERED

    [got] = service.to("carol")
    assert got.payload["body"].endswith("…") and msg.text.startswith(got.payload["body"][:-1])
    assert len(json.dumps(got.payload, ensure_ascii=False, separators=(",", ":")).encode()) <= MAX_PLAINTEXT_BYTES
    assert got.payload["data"] == msg.data


def test_sends_run_concurrently_without_blocking_the_loop(service, channel):
    slow, _, _ = make_subscription(service, "slow")
    service.script("slow", 201, delay_s=0.6)
    fast = [make_subscription(service, f"p{i}")[0] for i in range(10)]

    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            for _ in range(10):
                await asyncio.sleep(0.03)
                ticks += 1

        started = time.monotonic()
        results, _ = await asyncio.gather(
            asyncio.gather(*(channel.send(message(a, notification_id=i)) for i, a in enumerate([slow, *fast]))),
            ticker())
        return results, ticks, time.monotonic() - started

    results, ticks, elapsed = asyncio.run(scenario())
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 11
    assert ticks == 10 and elapsed < 3.0
    assert len(service.received) == 11


# -- what the push service answers ------------------------------------------------------------

@pytest.mark.parametrize("status", [404, 410])
def test_a_dead_subscription_is_gone(service, channel, status):
    address, _, _ = make_subscription(service, "dead")
    service.script("dead", status)

    result = send(channel, message(address))

    assert result.outcome is Outcome.FAILED and result.gone


def test_an_unknown_subscription_is_gone(service, channel):
    address, _, _ = make_subscription(service, "known")
    result = send(channel, message(address.replace("/push/known", "/push/forgotten")))
    assert result.outcome is Outcome.FAILED and result.gone


def test_too_many_requests_is_retried_when_the_service_says(service, channel):
    address, _, _ = make_subscription(service, "busy")
    service.script("busy", 429, headers={"Retry-After": "120"}, times=1)

    first = send(channel, message(address))
    second = send(channel, message(address))

    assert first.outcome is Outcome.RETRY and first.retry_after == 120
    assert second.outcome is Outcome.DELIVERED


def test_a_retry_after_date_becomes_a_delay(service, channel):
    address, _, _ = make_subscription(service, "busy")
    service.script("busy", 503, headers={"Retry-After": formatdate(time.time() + 300, usegmt=True)})

    result = send(channel, message(address))

    assert result.outcome is Outcome.RETRY and 290 <= result.retry_after <= 300


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_is_retried(service, channel, status):
    address, _, _ = make_subscription(service, "flaky")
    service.script("flaky", status)

    result = send(channel, message(address))

    assert result.outcome is Outcome.RETRY and result.retry_after is None


@pytest.mark.parametrize("status", [400, 403, 413])
def test_other_client_errors_fail_without_dropping_the_subscription(service, channel, status):
    address, _, _ = make_subscription(service, "odd")
    service.script("odd", status)

    result = send(channel, message(address))

    assert result.outcome is Outcome.FAILED and not result.gone


def test_a_subscription_bound_to_another_vapid_key_is_refused(service, channel):
    address, _, _ = make_subscription(service, "other-key", application_server_key=VapidKeys.generate().public_key)

    result = send(channel, message(address))

    assert result.outcome is Outcome.FAILED and not result.gone
    assert [r.status for r in service.rejected] == [403]


def test_an_unreachable_push_service_is_retried(channel):
    address = json.dumps({"endpoint": f"http://127.0.0.1:{unused_port()}/push/x",
                          "keys": json.loads(make_subscription(_Null(), "x")[0])["keys"]})

    result = send(channel, message(address))

    assert result.outcome is Outcome.RETRY


def test_a_push_service_that_hangs_is_retried_after_the_timeout(service, vapid):
    address, _, _ = make_subscription(service, "hang")
    service.script("hang", 201, delay_s=3.0)
    channel = WebPushChannel(vapid, SUBJECT, timeout_s=0.5)

    started = time.monotonic()
    result = send(channel, message(address))

    assert result.outcome is Outcome.RETRY
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("address", [
    "",
    "not json",
    "[1, 2]",
    '{"keys": {"p256dh": "x", "auth": "y"}}',
    '{"endpoint": "ftp://push.example.com/x", "keys": {"p256dh": "x", "auth": "y"}}',
    '{"endpoint": "https://push.example.com/x"}',
    '{"endpoint": "https://push.example.com/x", "keys": {"p256dh": "bm90IGEga2V5", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}',
    '{"endpoint": "https://push.example.com/x", "keys": {"p256dh": "%%%", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}}',
])
def test_a_malformed_subscription_is_gone(channel, address):
    result = send(channel, message(address))
    assert result.outcome is Outcome.FAILED and result.gone


def test_the_channel_fits_the_interface(channel):
    assert isinstance(channel, Channel) and channel.kind is ChannelKind.PUSH


def test_a_subject_py_vapid_would_refuse_is_refused_at_once(vapid):
    with pytest.raises(ValueError):
        WebPushChannel(vapid, "pc-astreinte@example.org")


# -- the local push service really checks ------------------------------------------------------

def _post_with(service: PushService, endpoint_id: str, authorization: str) -> int:
    response = httpx.post(service.endpoint(endpoint_id), headers={"Authorization": authorization, "TTL": "60"})
    return response.status_code


def test_the_push_service_refuses_a_bad_vapid_token(service, vapid):
    make_subscription(service, "target")
    good = Vapid02(VapidKeys.generate()._private_key)
    now = int(time.time())

    def token(claims, signer=good):
        return signer.sign(claims)["Authorization"]

    forged = token({"sub": SUBJECT, "aud": service.origin, "exp": now + 600}).replace(
        "k=" + VapidKeys(good.private_key).public_key, "k=" + vapid.public_key)
    cases = {
        "forged": forged,
        "wrong aud": token({"sub": SUBJECT, "aud": "http://127.0.0.1:1", "exp": now + 600}),
        "expired": token({"sub": SUBJECT, "aud": service.origin, "exp": now - 10}),
        "too long": token({"sub": SUBJECT, "aud": service.origin, "exp": now + 3 * 24 * 3600}),
        "not vapid": "WebPush abc",
    }
    for name, authorization in cases.items():
        assert _post_with(service, "target", authorization) == 401, name
    assert len(service.rejected) == len(cases) and service.received == []
    assert _post_with(service, "target", token({"sub": SUBJECT, "aud": service.origin, "exp": now + 600})) == 201


def test_verify_vapid_accepts_what_py_vapid_signs():
    keys = VapidKeys.generate()
    header = keys.vapid.sign({"sub": SUBJECT, "aud": "http://127.0.0.1:9", "exp": int(time.time()) + 60})
    claims, key = verify_vapid(header["Authorization"], "http://127.0.0.1:9")
    assert key == keys.public_key and claims["sub"] == SUBJECT


# -- VAPID keys ---------------------------------------------------------------------------------

def test_keys_are_created_private_and_reloaded_identical(tmp_path):
    path = tmp_path / "var" / "vapid_private.pem"

    created = VapidKeys.load_or_create(path)
    reloaded = VapidKeys.load_or_create(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert reloaded.public_key == created.public_key
    assert reloaded.private_pem() == created.private_pem()
    point = base64.urlsafe_b64decode(created.public_key + "=" * (-len(created.public_key) % 4))
    assert len(point) == 65 and point[0] == 4 and "=" not in created.public_key
    assert "PRIVATE" not in repr(created)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_reloaded_keys_sign_pushes_the_browser_accepts(service, tmp_path):
    path = tmp_path / "vapid.pem"
    public_key = VapidKeys.load_or_create(path).public_key
    address, _, _ = make_subscription(service, "dave", application_server_key=public_key)

    result = send(WebPushChannel(VapidKeys.load_or_create(path), SUBJECT), message(address))

    assert result.outcome is Outcome.DELIVERED


def test_a_key_file_readable_by_others_is_made_private(tmp_path):
    path = tmp_path / "vapid.pem"
    created = VapidKeys.load_or_create(path)
    path.chmod(0o644)

    assert VapidKeys.load_or_create(path).public_key == created.public_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_processes_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "vapid.pem"
    barrier = threading.Barrier(8)
    keys: list[str] = []

    def start():
        barrier.wait()
        keys.append(VapidKeys.load_or_create(path).public_key)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(keys) == 8 and len(set(keys)) == 1
    assert VapidKeys.load_or_create(path).public_key == keys[0]


class _Null:
    """A push service stand-in for make_subscription when nothing listens."""

    origin = "http://127.0.0.1:9"

    def subscribe(self, *args, **kwargs) -> None:
        pass

    def endpoint(self, endpoint_id: str) -> str:
        return f"{self.origin}/push/{endpoint_id}"
