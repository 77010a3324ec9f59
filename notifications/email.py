"""E-mail over SMTP: one message per recipient, on connections kept open and reused.

The configured URL follows Apprise's `mailto://` form and names the server and the sender, never a
recipient: `mailto://127.0.0.1:2525?from=vigie@example.org` (plain SMTP, port 25 by default) or
`mailtos://user:pass@smtp.example.org:587?from=vigie@example.org` (STARTTLS, port 587 by default;
`mode=ssl` for implicit TLS, port 465 by default; `name=Vigie` sets the sender's display name;
`cto=`/`rto=` the connect and read timeouts in seconds).

Apprise's e-mail plugin opened a connection and built a new TLS context (loading the whole CA
bundle: 33 ms of CPU, even for plain SMTP) for every message, about 40 ms each in all. Here the
TLS context is built once, connections are kept (one per sending thread) and a message costs a
MAIL/RCPT/DATA exchange. The message is `multipart/alternative`: our plain text, then the HTML.

An SMTP server that takes the message (250) is DELIVERED ("accepted by SMTP"): we know no further.
A 5xx refusal of the recipient or of the message is FAILED (the next road is taken); anything else
(connection, TLS, login, the sender refused, a 4xx) is RETRY.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import smtplib
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import parse_qsl, unquote, urlsplit

from notifications.base import ChannelKind, OutboundMessage, SendResult
from notifications.sms import redact

log = logging.getLogger("vigie.email")

SCHEMES = ("mailto", "mailtos")
# One plain address: no display name, no list separator, no space or quote.
_ATOM = r"[^@\s,;<>()\"\[\]\\:/?#%&=]"
ADDRESS = re.compile(rf"^{_ATOM}+@{_ATOM}+\.{_ATOM}+$")
_RECIPIENT_ARGS = {"to", "cc", "bcc"}
IDLE_S = 30.0  # a connection unused this long is closed rather than reused (servers drop idle ones)

__all__ = ["EmailChannel", "redact"]


class EmailChannel:
    """One e-mail to one address: our plain text and, when there is one, the HTML alternative."""

    kind = ChannelKind.EMAIL

    def __init__(self, smtp_url: str, timeout_s: float = 20.0, threads: int = 16) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        parts = urlsplit(smtp_url)
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(f"the SMTP URL must be mailto:// or mailtos://: {redact(smtp_url)}")
        if parts.path not in ("", "/"):
            raise ValueError(f"the SMTP URL must not name a recipient (path {parts.path!r}): {redact(smtp_url)}")
        query = {name.lower(): value for name, value in parse_qsl(parts.query, keep_blank_values=True)}
        if query.keys() & _RECIPIENT_ARGS:
            raise ValueError(f"the SMTP URL must not name recipients ({', '.join(sorted(query.keys() & _RECIPIENT_ARGS))}): "
                             f"{redact(smtp_url)}")
        self.sender = query.get("from", "").strip()
        if not ADDRESS.match(self.sender):
            raise ValueError(f"the SMTP URL needs from= with one plain address: {redact(smtp_url)}")
        mode = query.get("mode", "starttls" if scheme == "mailtos" else "").lower()
        if mode not in ("", "starttls", "ssl"):
            raise ValueError(f"mode= must be starttls or ssl: {redact(smtp_url)}")
        if not parts.hostname:
            raise ValueError(f"the SMTP URL needs a server: {redact(smtp_url)}")
        self.host = parts.hostname
        self.port = parts.port or {"": 25, "starttls": 587, "ssl": 465}[mode]
        self.mode = mode
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.display_name = query.get("name", "")
        self.connect_timeout = float(query.get("cto") or timeout_s)
        self.timeout_s = float(query.get("rto") or timeout_s)
        self.server = f"{scheme}://{self.host}:{self.port}"
        self._tls = ssl.create_default_context() if mode else None  # built once: loading the CA bundle is costly
        self._idle: list[tuple[smtplib.SMTP, float]] = []
        self._lock = threading.Lock()
        # Our own threads: a hung SMTP server holds these until its timeout, not the loop's pool.
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="vigie-smtp")

    async def send(self, message: OutboundMessage) -> SendResult:
        address = message.address.strip()
        if not ADDRESS.match(address):
            return SendResult.failed(f"not a plain e-mail address: {message.address!r}")
        if not (message.text or message.html or message.subject):
            return SendResult.failed("empty e-mail")
        mail = self._compose(message, address)
        guard = self.connect_timeout + 2 * self.timeout_s + 5.0
        try:
            return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
                self._threads, functools.partial(self._deliver, mail, address, message.notification_id)), guard)
        except TimeoutError:
            return SendResult.retry(f"SMTP {self.server} did not answer within {guard:g} s")

    def _compose(self, message: OutboundMessage, address: str) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = formataddr((self.display_name, self.sender)) if self.display_name else self.sender
        mail["To"] = address
        mail["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[1])
        mail.set_content(message.text or " ", charset="utf-8")
        if message.html:
            mail.add_alternative(message.html, subtype="html", charset="utf-8")
        return mail

    def _deliver(self, mail: EmailMessage, address: str, notification_id: int) -> SendResult:
        """Blocking: on a kept connection when there is one, on a new one if it was dropped meanwhile."""
        connection, reused = self._take()
        try:
            try:
                if connection is None:
                    connection = self._connect()
                connection.send_message(mail, from_addr=self.sender, to_addrs=[address])
            except smtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # The server closed the kept connection: it never saw this message.
                self._close(connection)
                connection = self._connect()
                connection.send_message(mail, from_addr=self.sender, to_addrs=[address])
        except smtplib.SMTPRecipientsRefused as exc:  # this address: a 5xx will not change by retrying
            code, text = next(iter(exc.recipients.values()))
            self._give_back(connection)
            return self._refused(code, text, notification_id)
        except smtplib.SMTPDataError as exc:  # this message
            self._close(connection)
            return self._refused(exc.smtp_code, exc.smtp_error, notification_id)
        except (smtplib.SMTPException, OSError) as exc:  # the server, our login, the network: later
            self._close(connection)
            detail = f"SMTP {self.server} did not take the message ({type(exc).__name__}: {exc})"[:1000]
            log.warning("notification %s: %s", notification_id, detail)
            return SendResult.retry(detail)
        self._give_back(connection)
        return SendResult.delivered("accepted by SMTP", provider_ref=self.server)

    def _refused(self, code: int, text, notification_id: int) -> SendResult:
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        detail = f"SMTP {self.server} refused the message ({code} {text})"[:1000]
        log.warning("notification %s: %s", notification_id, detail)
        return SendResult.failed(detail) if 500 <= code < 600 else SendResult.retry(detail)

    def _connect(self) -> smtplib.SMTP:
        if self.mode == "ssl":
            connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.connect_timeout, context=self._tls)
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.connect_timeout)
            if self.mode == "starttls":
                connection.starttls(context=self._tls)
        if self.user and self.password:
            connection.login(self.user, self.password)
        if connection.sock is not None:
            connection.sock.settimeout(self.timeout_s)
        return connection

    def _take(self) -> tuple[smtplib.SMTP | None, bool]:
        stale = []
        try:
            with self._lock:
                while self._idle:
                    connection, since = self._idle.pop()
                    if time.monotonic() - since < IDLE_S:
                        return connection, True
                    stale.append(connection)
            return None, False
        finally:
            for connection in stale:
                self._close(connection)

    def _give_back(self, connection: smtplib.SMTP | None) -> None:
        if connection is not None:
            with self._lock:
                self._idle.append((connection, time.monotonic()))

    @staticmethod
    def _close(connection: smtplib.SMTP | None) -> None:
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()
