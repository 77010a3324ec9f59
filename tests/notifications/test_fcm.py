"""FCM through firebase-admin's async API, the FCM v1 endpoint mocked with respx, fully offline.

The credentials are a service-account JSON made from a local RSA key, with an access token
seeded on the credential so that no token call is made.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
import warnings
from datetime import UTC, datetime, timedelta

import firebase_admin
import httpx
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import _retry

from notifications.base import Channel, ChannelKind, OutboundMessage, Outcome
from notifications.fcm import FcmChannel
from notifications.render import EventSummary, render

PROJECT = "vigie-test"
FCM_URL = f"https://fcm.googleapis.com/v1/projects/{PROJECT}/messages:send"
TOKEN = "fcm-registration-token:APA91bH-test"
ACCESS_TOKEN = "seeded-access-token"
TREE = EventSummary(org_code="CHENOVE", number="2026-0042", severity=3, title="Chute d'arbre",
                    place="av. Roland Carraz, voie bloquée")


def service_account(path, project: str = PROJECT, email: str = "vigie@vigie-test.iam.gserviceaccount.com"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": "local-test-key",
        "private_key": pem, "client_email": email, "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))
    return path


@pytest.fixture(scope="module")
def account_file(tmp_path_factory):
    return service_account(tmp_path_factory.mktemp("fcm") / "service-account.json")


def seed_token(channel: FcmChannel, token: str | None = ACCESS_TOKEN) -> None:
    credential = channel.app.credential.get_credential()
    credential.token = token
    # google-auth compares with a naive UTC "now".
    credential.expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1) if token else None


def message(*, severity: int = 3, address: str = TOKEN) -> OutboundMessage:
    rendered = render("solicit", ChannelKind.FCM, EventSummary(**{**TREE.__dict__, "severity": severity}))
    return OutboundMessage(notification_id=11, channel=ChannelKind.FCM, address=address, subject=rendered.subject,
                           text=rendered.text, data={**rendered.data, "event_id": 42, "page_id": 9},
                           urgent=severity >= 3)


def run(account_file, body, *, seed: bool = True):
    """Build a channel on a fresh firebase app, run `body(channel)` in a loop, delete the app."""
    async def scenario():
        channel = FcmChannel.from_service_account(str(account_file), name=f"vigie-test-{uuid.uuid4().hex}")
        if seed:
            seed_token(channel)
        try:
            return await body(channel)
        finally:
            await channel.aclose()  # delete_app in a thread: it cannot run inside a loop

    return asyncio.run(scenario())


def send_one(account_file, msg: OutboundMessage):
    return run(account_file, lambda channel: channel.send(msg))


def fcm_error(status_code: int, status: str, text: str, error_code: str | None = None,
              violations: list[tuple[str, str]] | None = None, headers: dict | None = None) -> httpx.Response:
    details = []
    if error_code:
        details.append({"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code})
    if violations:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": f, "description": d} for f, d in violations]})
    return httpx.Response(status_code, headers=headers,
                          json={"error": {"code": status_code, "message": text, "status": status, "details": details}})


@pytest.fixture
def fcm():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router.post(FCM_URL)


def sent_message(route) -> dict:
    return json.loads(route.calls.last.request.content)["message"]


# -- success ------------------------------------------------------------------------------------

def test_an_accepted_message_is_sent_with_its_id(account_file, fcm):
    fcm.respond(200, json={"name": f"projects/{PROJECT}/messages/0:1700000000000000%abc"})
    msg = message(severity=3)

    result = send_one(account_file, msg)

    assert result.outcome is Outcome.SENT  # FCM accepted it; whether the phone got it is unknown
    assert result.provider_ref == f"projects/{PROJECT}/messages/0:1700000000000000%abc"
    request = fcm.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    body = sent_message(fcm)
    assert body["token"] == TOKEN and "notification" not in body  # a data message
    assert body["android"] == {"priority": "high", "ttl": "3600s"}
    data = body["data"]
    assert all(isinstance(v, str) for v in data.values())
    assert data["title"] == msg.subject and data["body"] == msg.text
    assert data["notification_id"] == "11" and data["urgent"] == "true"
    assert json.loads(data["data"]) == msg.data  # the same document as the Web Push payload


@pytest.mark.parametrize(("severity", "priority", "ttl"), [
    (4, "high", "3600s"), (3, "high", "3600s"), (2, "normal", "1800s"), (1, "normal", "86400s"),
])
def test_priority_and_ttl_follow_the_severity(account_file, fcm, severity, priority, ttl):
    fcm.respond(200, json={"name": f"projects/{PROJECT}/messages/1"})

    assert send_one(account_file, message(severity=severity)).outcome is Outcome.SENT

    assert sent_message(fcm)["android"] == {"priority": priority, "ttl": ttl}


def test_building_a_message_warns_of_nothing(account_file):
    async def build(channel):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return FcmChannel.message(channel, message())

    assert run(account_file, build).token == TOKEN


# -- failures -----------------------------------------------------------------------------------

def test_an_unregistered_token_is_gone(account_file, fcm):
    fcm.mock(return_value=fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"))

    result = send_one(account_file, message())

    assert result.outcome is Outcome.FAILED and result.gone


def test_a_token_of_another_sender_is_gone(account_file, fcm):
    fcm.mock(return_value=fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"))

    result = send_one(account_file, message())

    assert result.outcome is Outcome.FAILED and result.gone


def test_an_invalid_token_is_gone(account_file, fcm):
    fcm.mock(return_value=fcm_error(
        400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT",
        violations=[("message.token", "The registration token is not a valid FCM registration token")]))

    result = send_one(account_file, message())

    assert result.outcome is Outcome.FAILED and result.gone


def test_an_invalid_message_fails_but_keeps_the_token(account_file, fcm):
    fcm.mock(return_value=fcm_error(400, "INVALID_ARGUMENT", "Invalid value at 'message.android.ttl'",
                                    "INVALID_ARGUMENT", violations=[("message.android.ttl", "Invalid value")]))

    result = send_one(account_file, message())

    assert result.outcome is Outcome.FAILED and not result.gone


def test_an_empty_token_is_gone_without_a_call(account_file, fcm):
    result = send_one(account_file, message(address="  "))

    assert result.outcome is Outcome.FAILED and result.gone
    assert fcm.call_count == 0


def test_unavailable_is_retried_after_the_library_own_retries(account_file, fcm, monkeypatch):
    # firebase-admin retries 500/503 four times with exponential backoff (about 7 s): not here.
    monkeypatch.setattr(_retry.HttpxRetry, "get_backoff_time", lambda self: 0.0)
    fcm.mock(return_value=fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE",
                                    headers={"Retry-After": "30"}))

    result = send_one(account_file, message())

    assert result.outcome is Outcome.RETRY and result.retry_after == 30
    assert fcm.call_count == 5


def test_an_internal_error_is_retried(account_file, fcm, monkeypatch):
    monkeypatch.setattr(_retry.HttpxRetry, "get_backoff_time", lambda self: 0.0)
    fcm.mock(return_value=fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL"))

    result = send_one(account_file, message())

    assert result.outcome is Outcome.RETRY


def test_an_exceeded_quota_is_retried_when_fcm_says(account_file, fcm):
    fcm.mock(return_value=fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", "QUOTA_EXCEEDED",
                                    headers={"Retry-After": "60"}))

    result = send_one(account_file, message())

    assert result.outcome is Outcome.RETRY and result.retry_after == 60
    assert fcm.call_count == 1


def test_fcm_unreachable_is_retried(account_file, fcm):
    fcm.mock(side_effect=httpx.ConnectError("connection refused"))

    result = send_one(account_file, message())

    assert result.outcome is Outcome.RETRY


def test_fcm_too_slow_is_retried(account_file, fcm):
    fcm.mock(side_effect=httpx.ReadTimeout("timed out"))

    result = send_one(account_file, message())

    assert result.outcome is Outcome.RETRY


# -- credentials --------------------------------------------------------------------------------

def test_an_expired_token_is_refreshed_off_the_event_loop(account_file, fcm):
    fcm.respond(200, json={"name": f"projects/{PROJECT}/messages/2"})
    refreshed_in: list[int] = []

    async def body(channel):
        credential = channel.app.credential.get_credential()

        def refresh(request):  # stands for the OAuth call google-auth makes with `requests`
            refreshed_in.append(threading.get_ident())
            credential.token = "refreshed-access-token"
            credential.expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)

        credential.refresh = refresh
        loop_thread = threading.get_ident()
        return loop_thread, await channel.send(message())

    loop_thread, result = run(account_file, body, seed=False)

    assert result.outcome is Outcome.SENT
    assert len(refreshed_in) == 1 and refreshed_in[0] != loop_thread
    assert fcm.calls.last.request.headers["Authorization"] == "Bearer refreshed-access-token"


def test_the_same_account_reuses_its_app_and_another_is_refused(account_file, tmp_path):
    name = f"vigie-test-{uuid.uuid4().hex}"
    other = service_account(tmp_path / "other.json", email="other@vigie-test.iam.gserviceaccount.com")
    first = FcmChannel.from_service_account(str(account_file), name=name)
    try:
        assert FcmChannel.from_service_account(str(account_file), name=name).app is first.app
        with pytest.raises(ValueError):
            FcmChannel.from_service_account(str(other), name=name)
        assert first.app.options.get("httpTimeout") == 10.0
    finally:
        firebase_admin.delete_app(first.app)  # no loop running here


def test_the_channel_fits_the_interface(account_file):
    async def check(channel):
        return isinstance(channel, Channel) and channel.kind is ChannelKind.FCM

    assert run(account_file, check)
