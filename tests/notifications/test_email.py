"""E-mail for real: our SMTP channel (Apprise's mailto:// URLs) talking to aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time

import pytest

from notifications.base import Channel, ChannelKind, OutboundMessage, Outcome
from notifications.email import EmailChannel
from notifications.render import EventSummary, render
from tests.peers.smtp import SmtpServer, free_port

ADDRESS = "agent.dupont@chenove.example.fr"
SUBJECT = "[CHENOVE GRAVE 2026-0042] Chute d'arbre"
ACK_URL = "https://vigie.example.org/l/Zk3f9Q?a=ack&t=1"
TREE = EventSummary(org_code="CHENOVE", number="2026-0042", severity=3, title="Chute d'arbre",
                    place="av. Roland Carraz, voie bloquée", category="Chute d'arbre sur la voirie",
                    description="Un platane barre la chaussée.")


def mail(address: str = ADDRESS, *, html: bool = True, notification_id: int = 11) -> OutboundMessage:
    rendered = render("solicit", ChannelKind.EMAIL, TREE, person_name="Élodie Dupont",
                      links={"Je prends": ACK_URL, "Indisponible": "https://vigie.example.org/l/Zk3f9Q?a=decline"})
    return OutboundMessage(notification_id=notification_id, channel=ChannelKind.EMAIL, address=address,
                           subject=rendered.subject, text=rendered.text, html=rendered.html if html else None,
                           data=rendered.data, urgent=True)


def send(channel: EmailChannel, message: OutboundMessage):
    return asyncio.run(channel.send(message))


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def channel(smtp) -> EmailChannel:
    return EmailChannel(smtp.apprise_url(sender="vigie@example.org"), timeout_s=5)


# -- delivery -----------------------------------------------------------------------------------

def test_the_message_arrives_with_its_utf8_subject_html_and_recipient(smtp, channel):
    assert isinstance(channel, Channel) and channel.kind is ChannelKind.EMAIL
    message = mail()
    assert message.subject == SUBJECT

    result = send(channel, message)

    assert result.outcome is Outcome.DELIVERED and result.detail == "accepted by SMTP"
    (received,) = smtp.wait_for(1)
    assert received.rcpt_tos == [ADDRESS]
    assert received.mail_from == "vigie@example.org"
    email = received.message
    assert email["Subject"] == SUBJECT
    assert email["To"] == ADDRESS
    assert email["From"] == "vigie@example.org"
    assert email.get_content_type() == "multipart/alternative"
    html = email.get_body(("html",))
    assert html is not None and html.get_content_charset() == "utf-8"
    content = html.get_content()
    assert content.rstrip("\n") == message.html
    assert '<a href="https://vigie.example.org/l/Zk3f9Q?a=ack&amp;t=1"' in content
    assert "Bonjour Élodie Dupont" in content and "Chute d&#x27;arbre sur la voirie" in content
    # The plain alternative is our text, links included (a text-only mail reader can still answer).
    plain = email.get_body(("plain",)).get_content()
    assert plain.rstrip("\n") == message.text
    assert "Chute d'arbre, av. Roland Carraz, voie bloquée" in plain and f"Je prends : {ACK_URL}" in plain


def test_an_accented_subject_is_encoded_and_decoded_back(smtp, channel):
    message = OutboundMessage(notification_id=1, channel=ChannelKind.EMAIL, address=ADDRESS,
                              subject="[CHENOVE CRITIQUE 2026-0043] Inondation à l'école, rue de l'Église",
                              text="Texte", html="<p>Crue de l’Ouche — évacuation</p>")
    assert send(channel, message).outcome is Outcome.DELIVERED
    (received,) = smtp.wait_for(1)
    header = received.raw.split(b"\r\n\r\n", 1)[0].lower()
    assert b"=?utf-8?" in header and "é".encode() not in header  # RFC 2047 on the wire, 7-bit headers
    assert received.message["Subject"] == "[CHENOVE CRITIQUE 2026-0043] Inondation à l'école, rue de l'Église"
    assert received.message.get_body(("html",)).get_content().rstrip("\n") == "<p>Crue de l’Ouche — évacuation</p>"


def test_without_html_the_plain_text_is_sent(smtp, channel):
    message = mail(html=False)
    assert send(channel, message).outcome is Outcome.DELIVERED
    (received,) = smtp.wait_for(1)
    assert received.message.get_content_type() == "text/plain"
    plain = received.message.get_body(("plain",)).get_content()
    assert plain.rstrip("\n") == message.text
    assert "Bonjour Élodie Dupont," in plain and ACK_URL in plain


def test_each_message_goes_to_its_own_recipient_only(smtp, channel):
    addresses = ["a.martin@example.org", "b.durand+astreinte@example.org"]

    async def send_both():
        return await asyncio.gather(*(channel.send(mail(a, notification_id=i)) for i, a in enumerate(addresses)))

    results = asyncio.run(send_both())
    assert [r.outcome for r in results] == [Outcome.DELIVERED] * 2
    received = smtp.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(addresses)
    assert all(len(m.rcpt_tos) == 1 and m.message["To"] == m.rcpt_tos[0] for m in received)
    assert not any(m.message["Cc"] or m.message["Bcc"] for m in received)


def test_messages_share_one_connection_and_a_dropped_one_is_replaced(channel):
    with SmtpServer(idle_timeout_s=1) as smtp:
        channel = EmailChannel(smtp.apprise_url(sender="vigie@example.org"), timeout_s=5)
        for n in range(3):
            assert send(channel, mail(notification_id=n)).outcome is Outcome.DELIVERED
        first = smtp.wait_for(3)
        assert len({m.peer for m in first}) == 1, "one connection for messages sent one after the other"
        time.sleep(1.5)  # the server closes the idle connection; the channel does not know yet
        assert send(channel, mail(notification_id=4)).outcome is Outcome.DELIVERED
        assert smtp.wait_for(4)[3].peer != first[0].peer


def test_an_unknown_mailbox_is_a_failure_the_next_road_follows(smtp, channel):
    smtp.unknown.add(ADDRESS)
    result = send(channel, mail())
    assert result.outcome is Outcome.FAILED and "550" in result.detail
    assert smtp.received == []
    assert send(channel, mail("someone.else@example.org")).outcome is Outcome.DELIVERED  # the connection is fine


# -- failures -----------------------------------------------------------------------------------

def test_smtp_down_is_a_retry():
    port = free_port()
    channel = EmailChannel(f"mailto://127.0.0.1:{port}?from=vigie@example.org", timeout_s=3)
    started = time.monotonic()
    result = send(channel, mail())
    assert result.outcome is Outcome.RETRY
    assert f"mailto://127.0.0.1:{port}" in result.detail
    assert time.monotonic() - started < 10


def test_smtp_refusing_the_message_is_a_retry(smtp, channel):
    smtp.reply = "451 4.3.0 Try again later"
    result = send(channel, mail())
    assert result.outcome is Outcome.RETRY
    assert smtp.refused == 1 and smtp.received == []


def test_the_smtp_server_stopping_between_sends_is_a_retry(smtp, channel):
    assert send(channel, mail()).outcome is Outcome.DELIVERED
    smtp.stop()
    assert send(channel, mail()).outcome is Outcome.RETRY


@pytest.mark.parametrize("address", ["", "dupont", "a@b.fr, c@d.fr", "Dupont <a@b.fr>", "a b@c.fr", "a@b.fr;c@d.fr"])
def test_an_address_that_is_not_one_plain_address_fails_without_sending(smtp, channel, address):
    result = send(channel, mail(address))
    assert result.outcome is Outcome.FAILED
    time.sleep(0.1)
    assert smtp.received == []


@pytest.mark.parametrize("url", [
    "smtp://127.0.0.1:2525?from=vigie@example.org",  # not an Apprise e-mail URL
    "mailto://127.0.0.1:2525/someone@example.org?from=vigie@example.org",  # a recipient in the path
    "mailto://127.0.0.1:2525?from=vigie@example.org&to=someone@example.org",
    "mailto://127.0.0.1:2525?from=vigie@example.org&bcc=someone@example.org",
    "mailto://127.0.0.1:2525?from=not-an-address",
])
def test_a_bad_smtp_url_is_refused_at_start_up(url):
    with pytest.raises(ValueError):
        EmailChannel(url)


def test_failure_details_never_carry_the_password():
    port = free_port()
    channel = EmailChannel(f"mailtos://vigie:s3cr3tpw@127.0.0.1:{port}?from=vigie@example.org", timeout_s=2)
    result = send(channel, mail())
    assert result.outcome is Outcome.RETRY
    assert "s3cr3tpw" not in result.detail
