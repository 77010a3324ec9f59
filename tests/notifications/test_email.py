"""E-mail for real: Apprise's mailto:// plugin talking SMTP to aiosmtpd on 127.0.0.1."""

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
    assert content == message.html
    assert '<a href="https://vigie.example.org/l/Zk3f9Q?a=ack&amp;t=1"' in content
    assert "Bonjour Élodie Dupont" in content and "Chute d&#x27;arbre sur la voirie" in content
    # Apprise derives the plain alternative from the HTML: the words are there, not the link targets.
    plain = email.get_body(("plain",)).get_content()
    assert "Chute d'arbre, av. Roland Carraz, voie bloquée" in plain and "Je prends" in plain


def test_an_accented_subject_is_encoded_and_decoded_back(smtp, channel):
    message = OutboundMessage(notification_id=1, channel=ChannelKind.EMAIL, address=ADDRESS,
                              subject="[CHENOVE CRITIQUE 2026-0043] Inondation à l'école, rue de l'Église",
                              text="Texte", html="<p>Crue de l’Ouche — évacuation</p>")
    assert send(channel, message).outcome is Outcome.DELIVERED
    (received,) = smtp.wait_for(1)
    assert b"subject: =?utf-8?" in received.raw.lower()  # RFC 2047 on the wire
    assert received.message["Subject"] == "[CHENOVE CRITIQUE 2026-0043] Inondation à l'école, rue de l'Église"
    assert received.message.get_body(("html",)).get_content() == "<p>Crue de l’Ouche — évacuation</p>"


def test_without_html_the_plain_text_is_sent(smtp, channel):
    message = mail(html=False)
    assert send(channel, message).outcome is Outcome.DELIVERED
    (received,) = smtp.wait_for(1)
    # Apprise 2.x sends text/plain as is; 1.9 turns the text into HTML and sends both alternatives.
    plain = received.message.get_body(("plain",)).get_content()
    if received.message.get_content_type() == "text/plain":
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
