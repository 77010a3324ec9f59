"""SMS for real: Apprise's json:// plugin posting to HTTP gateways on 127.0.0.1, with failover."""

from __future__ import annotations

import asyncio
import time

import pytest

from notifications.base import Channel, ChannelKind, OutboundMessage, Outcome
from notifications.render import EventSummary, render
from notifications.sms import SmsChannel, redact
from tests.peers.sms_gateway import SmsGateway, closed_port

NUMBER = "+33639980101"
TREE = EventSummary(org_code="CHENOVE", number="2026-0042", severity=3, title="Chute d'arbre",
                    place="av. Roland Carraz, voie bloquée")


def sms(address: str = NUMBER, *, text: str | None = None, notification_id: int = 7) -> OutboundMessage:
    rendered = render("solicit", ChannelKind.SMS, TREE, reply_code="4821")
    return OutboundMessage(notification_id=notification_id, channel=ChannelKind.SMS, address=address,
                           subject=rendered.subject, text=rendered.text if text is None else text,
                           data=rendered.data, urgent=True)


def send(channel: SmsChannel, message: OutboundMessage):
    return asyncio.run(channel.send(message))


@pytest.fixture
def gateway():
    with SmsGateway() as peer:
        yield peer


@pytest.fixture
def backup():
    with SmsGateway() as peer:
        yield peer


# -- delivery -----------------------------------------------------------------------------------

def test_the_gateway_receives_the_number_and_the_exact_text(gateway):
    channel = SmsChannel([gateway.apprise_url()], timeout_s=5)
    assert isinstance(channel, Channel) and channel.kind is ChannelKind.SMS
    message = sms()
    assert "é" in message.text  # GSM-7 keeps it: it must reach the gateway as is

    result = send(channel, message)

    assert result.outcome is Outcome.SENT
    assert result.provider_ref == f"1:json://127.0.0.1:{gateway.port}"
    (request,) = gateway.wait_for(1)
    assert request.method == "POST" and request.path == "/sms"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json["to"] == NUMBER
    assert request.json["text"] == message.text
    assert request.json["text"] == ("[CHENOVE] GRAVE 2026-0042 Chute d'arbre, av. Roland Carraz, voie bloquée "
                                    "Rep 1 4821=je prends 2 4821=indispo")
    assert "message" not in request.json  # renamed to "text" by `:message=text`


def test_gsm7_characters_that_mean_something_elsewhere_arrive_unchanged(gateway):
    channel = SmsChannel([gateway.apprise_url()], timeout_s=5)
    text = "Élu à 3 h: <b>&amp; 100% {ok} [x] ~ € ^ \\ | \"q\" 'a' ù ì ò Ç ñ ü ß @ £ $ _ # + ="
    assert send(channel, sms(text=text)).outcome is Outcome.SENT
    (request,) = gateway.wait_for(1)
    assert request.json["text"] == text


def test_gateway_fields_headers_and_query_come_from_the_url(gateway):
    extra = ":version=&:title=&:attachments=&:type=&:sender=VIGIE&+X-Api-Key=s%2Bcr%26t&-route=premium"
    channel = SmsChannel([gateway.apprise_url("/api/v1/send", extra)], timeout_s=5)
    assert send(channel, sms()).outcome is Outcome.SENT
    (request,) = gateway.wait_for(1)
    assert request.path == "/api/v1/send"
    assert request.query == {"route": ["premium"]}
    assert request.headers["X-Api-Key"] == "s+cr&t"
    assert request.json == {"to": NUMBER, "text": sms().text, "sender": "VIGIE"}


def test_one_request_per_recipient(gateway):
    channel = SmsChannel([gateway.apprise_url()], timeout_s=5)
    numbers = ["+33639980101", "+33639980102", "+33639980103"]

    async def send_all():
        return await asyncio.gather(*(channel.send(sms(n, notification_id=i)) for i, n in enumerate(numbers)))

    results = asyncio.run(send_all())

    assert [r.outcome for r in results] == [Outcome.SENT] * 3
    requests = gateway.wait_for(3)
    assert sorted(r.json["to"] for r in requests) == numbers
    assert all(isinstance(r.json["to"], str) for r in requests)  # one number each, never a list
    time.sleep(0.2)
    assert len(gateway.requests) == 3


def test_a_slow_gateway_does_not_block_the_event_loop():
    with SmsGateway(delay_s=0.6) as slow:
        channel = SmsChannel([slow.apprise_url()], timeout_s=5)

        async def scenario():
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.05)
                    ticks += 1

            task = asyncio.create_task(ticker())
            result = await channel.send(sms())
            task.cancel()
            return result, ticks

        result, ticks = asyncio.run(scenario())
    assert result.outcome is Outcome.SENT
    assert ticks >= 5


# -- failover -----------------------------------------------------------------------------------

def test_a_failing_provider_hands_over_to_the_next(gateway, backup):
    gateway.status = 500
    channel = SmsChannel([gateway.apprise_url(), backup.apprise_url()], timeout_s=5)

    result = send(channel, sms())

    assert result.outcome is Outcome.SENT
    assert result.provider_ref == f"2:json://127.0.0.1:{backup.port}"
    assert f"provider 1:json://127.0.0.1:{gateway.port} failed" in result.detail
    assert "accepted by SMS provider 2:" in result.detail
    (tried,) = gateway.wait_for(1)
    assert tried.status == 500 and tried.json["to"] == NUMBER
    (taken,) = backup.wait_for(1)
    assert taken.json == {**tried.json}
    assert taken.json["text"] == sms().text


def test_the_first_provider_is_used_while_it_works(gateway, backup):
    channel = SmsChannel([gateway.apprise_url(), backup.apprise_url()], timeout_s=5)
    result = send(channel, sms())
    assert result.provider_ref.startswith("1:") and "failed" not in result.detail
    gateway.wait_for(1)
    time.sleep(0.2)
    assert backup.requests == []


def test_all_providers_failing_is_a_retry(gateway, backup):
    gateway.status = 500
    backup.status = 503
    channel = SmsChannel([gateway.apprise_url(), backup.apprise_url()], timeout_s=5)

    result = send(channel, sms())

    assert result.outcome is Outcome.RETRY
    assert result.provider_ref is None
    assert f"provider 1:json://127.0.0.1:{gateway.port} failed" in result.detail
    assert f"provider 2:json://127.0.0.1:{backup.port} failed" in result.detail
    assert len(gateway.wait_for(1)) == len(backup.wait_for(1)) == 1


def test_an_unreachable_gateway_is_a_retry():
    port = closed_port()
    channel = SmsChannel([f"json://127.0.0.1:{port}/sms?:to={{to}}&:message=text"], timeout_s=3)
    started = time.monotonic()
    result = send(channel, sms())
    assert result.outcome is Outcome.RETRY
    assert f"1:json://127.0.0.1:{port}" in result.detail
    assert time.monotonic() - started < 10


def test_an_unreachable_first_gateway_fails_over(backup):
    port = closed_port()
    channel = SmsChannel([f"json://127.0.0.1:{port}/sms?:to={{to}}&:message=text", backup.apprise_url()],
                         timeout_s=3)
    result = send(channel, sms())
    assert result.outcome is Outcome.SENT and result.provider_ref.startswith("2:")
    assert backup.wait_for(1)[0].json["to"] == NUMBER


def test_a_gateway_that_does_not_answer_in_time_is_a_retry():
    with SmsGateway(delay_s=2.5) as mute:
        channel = SmsChannel([mute.apprise_url()], timeout_s=1)
        started = time.monotonic()
        result = send(channel, sms())
        assert result.outcome is Outcome.RETRY
        assert time.monotonic() - started < 2.4


# -- addresses and configuration ----------------------------------------------------------------

@pytest.mark.parametrize("address", ["0639980101", "+33 6 39 98 01 01", "33639980101", "+0639980101", ""])
def test_a_number_not_in_e164_is_refused_without_sending(gateway, address):
    channel = SmsChannel([gateway.apprise_url()], timeout_s=5)
    result = send(channel, sms(address))
    assert result.outcome is Outcome.FAILED
    time.sleep(0.1)
    assert gateway.requests == []


@pytest.mark.parametrize("urls", [
    [],
    ["json://127.0.0.1:9/sms?:message=text"],  # no {to}
    ["json://127.0.0.1:9/sms?:to={to}&:text={message}"],  # Apprise places the message itself
    ["nosuchscheme://example.org/{to}"],
])
def test_a_bad_provider_list_is_refused_at_start_up(urls):
    with pytest.raises(ValueError):
        SmsChannel(urls)


def test_redact_hides_credentials_and_keeps_what_tells_providers_apart():
    url = ("jsons://vigie:p%40ssw0rd@sms.example.org:8443/api/send?:to={to}&:message=text"
           "&+X-Api-Key=abcdef123&+Authorization=Bearer%20xyz&apikey=k123&token=t456&-route=premium")
    redacted = redact(url)
    for secret in ("p%40ssw0rd", "abcdef123", "Bearer", "k123", "t456"):
        assert secret not in redacted
    assert redacted.startswith("jsons://vigie:****@sms.example.org:8443/api/send?")
    assert ":to={to}" in redacted and "-route=premium" in redacted
    assert redact("twilio://AC0123456789abcdef0123:tok@%2B33100000000/{to}") == \
        "twilio://AC0123456789abcdef0123:****@%2B33100000000/{to}"
    assert "0123456789abcdefABCDEF01" not in redact("octopush://user@host/0123456789abcdefABCDEF01/{to}")


def test_failure_details_never_carry_credentials():
    port = closed_port()
    channel = SmsChannel([f"json://vigie:s3cr3tpw@127.0.0.1:{port}/sms?:to={{to}}&+X-Api-Key=k3yk3yk3y"],
                         timeout_s=2)
    result = send(channel, sms())
    assert result.outcome is Outcome.RETRY
    assert "s3cr3tpw" not in result.detail and "k3yk3yk3y" not in result.detail


def test_a_provider_that_failed_is_tried_again_by_one_message_after_its_cool_down():
    now = [0.0]
    with SmsGateway(status=500) as broken, SmsGateway() as healthy:
        channel = SmsChannel([broken.apprise_url(), healthy.apprise_url()], cooldown_s=60, clock=lambda: now[0])

        async def burst(count: int):
            return await asyncio.gather(*(channel.send(sms(notification_id=n)) for n in range(count)))

        assert all(r.outcome is Outcome.SENT for r in asyncio.run(burst(1)))
        assert broken.arrived == 1
        asyncio.run(burst(5))  # cooling down: straight to the healthy one
        assert broken.arrived == 1
        now[0] = 61.0  # cool-down over: one message tries the first provider again, the others do not
        assert all(r.outcome is Outcome.SENT for r in asyncio.run(burst(5)))
        assert broken.arrived == 2 and len(healthy.accepted) == 11
