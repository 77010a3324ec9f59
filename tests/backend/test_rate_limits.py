"""A stranger cannot hammer the doors: failed logins, inbound callbacks, links and enrolment codes
are counted, and over the limit the answer is 429 with Retry-After, before any costly work."""

from __future__ import annotations

import json
import time

import pytest

from backend.errors import TooManyRequests
from backend.inbound.router import signed_headers
from backend.ratelimit import RateLimits, Rule
from tests.conftest import INBOUND_SECRET
from tests.factories import PASSWORD


def wrong_login(client, email: str):
    return client.post("/api/v1/auth/token", data={"username": email, "password": "not it"})


def test_an_account_is_locked_after_five_failed_logins_even_with_the_right_password(client, world):
    email = world.users["operator"]
    assert [wrong_login(client, email).status_code for _ in range(5)] == [401] * 5
    began = time.monotonic()
    locked = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    assert time.monotonic() - began < 0.2, "a refused login costs no argon2"
    other = client.post("/api/v1/auth/token", data={"username": world.users["admin"], "password": PASSWORD})
    assert other.status_code == 200, "another account is not locked"


def test_one_address_guessing_many_accounts_is_stopped(client, world):
    answers = [wrong_login(client, f"nobody{n}@example.org").status_code for n in range(21)]
    assert answers[:20] == [401] * 20 and answers[20] == 429


def test_the_lock_grows_with_the_failures():
    limits = RateLimits()
    rule = Rule.of("t", "2/minute;3/hour")
    for _ in range(2):
        limits.hit(rule, "k")
    with pytest.raises(TooManyRequests) as first:
        limits.check(rule, "k")
    assert first.value.retry_after <= 60
    limits.hit(rule, "k")  # the third failure: the hour's window holds it now
    with pytest.raises(TooManyRequests) as second:
        limits.check(rule, "k")
    assert second.value.retry_after > 60


def test_the_inbound_route_is_bounded_per_provider_and_the_limit_is_a_setting(settings, make_client):
    settings.rate_limits = {"inbound-provider": "3/minute"}
    client = make_client()
    body = json.dumps({"from": "+33639980199", "text": "1"}).encode()
    answers = [client.post("/api/v1/sms/inbound", content=body, headers={
        "content-type": "application/json", **signed_headers(INBOUND_SECRET, body, at=time.time() - n)})
        for n in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["error"]["code"] == "rate_limited" and answers[3].headers["Retry-After"]


def test_links_and_enrolment_codes_cannot_be_guessed_at_speed(client, world):
    links = [client.get(f"/l/guess-{n}").status_code for n in range(61)]
    assert links[:60] == [404] * 60 and links[60] == 429
    codes = [client.post("/api/v1/enrol", json={"code": f"guess-{n:010d}"}).status_code for n in range(21)]
    assert codes[:20] == [404] * 20 and codes[20] == 429


def test_counts_can_be_shared_through_redis():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    rule = Rule.of(f"shared-{time.time_ns()}", "2/minute")
    first, second = RateLimits("redis://127.0.0.1:6379"), RateLimits("redis://127.0.0.1:6379")
    first.hit(rule, "k")
    second.hit(rule, "k")
    with pytest.raises(TooManyRequests):
        first.check(rule, "k")
