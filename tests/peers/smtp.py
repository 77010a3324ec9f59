"""An SMTP server on 127.0.0.1 (aiosmtpd, in its own thread), keeping every message it takes.

Each message is kept as received (`raw` bytes, CRLF line ends) and parsed (`message`, an
`email.message.EmailMessage` with the default policy: headers decoded, `get_body()` works),
with the SMTP envelope. Set `reply` (e.g. "451 4.3.0 Try again later") to refuse messages.
`Controller(port=0)` does not work in aiosmtpd: a free port is picked first.

    with SmtpServer() as smtp:
        channel = EmailChannel(smtp.apprise_url(sender="vigie@example.org"))
        ...  # send
        (mail,) = smtp.wait_for(1)
        mail.message["Subject"], mail.rcpt_tos
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    peer: tuple = ()  # the client's address and port: the same for messages sent on one connection
    at: float = field(default_factory=time.monotonic)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class SmtpServer:
    def __init__(self, host: str = "127.0.0.1", idle_timeout_s: float = 300) -> None:
        self.host = host
        self.idle_timeout_s = idle_timeout_s  # the server drops a connection idle this long
        self.port: int | None = None
        self.reply: str | None = None  # None: "250 OK"; else this reply to DATA (a refusal)
        self.unknown: set[str] = set()  # recipients refused with 550 (no such mailbox)
        self.received: list[ReceivedMail] = []
        self.refused = 0
        self._cond = threading.Condition()
        self._controller: Controller | None = None

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.unknown:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.reply:
            with self._cond:
                self.refused += 1
            return self.reply
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        # SMTP lines end in CRLF; the parser would keep the CR in bodies: parse as a mailbox stores it.
        message = BytesParser(policy=policy.default).parsebytes(raw.replace(b"\r\n", b"\n"))
        with self._cond:
            self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), raw, message,
                                              tuple(session.peer)))
            self._cond.notify_all()
        return "250 2.0.0 OK: queued"

    def apprise_url(self, sender: str = "vigie@example.org") -> str:
        """A `mailto://` URL for this server (plain SMTP, no TLS, no login), without recipient."""
        return f"mailto://{self.host}:{self.port}?from={sender}"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """The first `count` messages, waiting up to `timeout` s for them; AssertionError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} message(s) on port {self.port}, "
                                         f"got {len(self.received)}")
                self._cond.wait(left)
            return list(self.received[:count])

    def start(self) -> SmtpServer:
        last_error: Exception | None = None
        for _ in range(5):  # the free port may be taken between the probe and the bind
            port = free_port(self.host)
            controller = Controller(self, hostname=self.host, port=port, ready_timeout=5.0,
                                    timeout=self.idle_timeout_s)
            try:
                controller.start()
            except Exception as exc:  # noqa: BLE001 - retried on another port
                last_error = exc
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError(f"could not start the SMTP server: {last_error}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
