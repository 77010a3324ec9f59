"""E-mail through Apprise's SMTP plugin (`mailto://` plain or `mailtos://` TLS).

The configured URL names the server and the sender, never a recipient:
`mailto://127.0.0.1:2525?from=vigie@example.org` or
`mailtos://user:pass@smtp.example.org:587?from=vigie@example.org` (STARTTLS on 587; `mode=ssl` for
implicit TLS on 465; `name=Vigie` sets the sender's display name). The recipient is added at
each send (`to=`), one Apprise object per message, so each result is this recipient's.

What Apprise sends (checked by receiving it, Apprise 2.2): for an HTML body, a
`multipart/alternative` with a `text/plain` part that Apprise derives from the HTML itself and the
`text/html` part, both UTF-8 quoted-printable; the subject is RFC 2047-encoded when not ASCII.
Apprise takes no separate plain-text body, so `message.text` is not sent when `message.html`
is there (the derived text keeps the words, not the link targets).

An SMTP server that takes the message (250) is DELIVERED ("accepted by SMTP"): we know no further.
Any failure (connection, TLS, login, refusal) is RETRY: Apprise does not tell which it was.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, quote, urlsplit

import apprise

from notifications.base import ChannelKind, OutboundMessage, SendResult
from notifications.sms import ApprisePool, make_asset, notify_one, redact, with_timeouts

log = logging.getLogger("vigie.email")

SCHEMES = ("mailto", "mailtos")
# One plain address: no display name, no list separator, no space or quote.
_ATOM = r"[^@\s,;<>()\"\[\]\\:/?#%&=]"
ADDRESS = re.compile(rf"^{_ATOM}+@{_ATOM}+\.{_ATOM}+$")
_RECIPIENT_ARGS = {"to", "cc", "bcc"}

__all__ = ["EmailChannel", "redact"]


class EmailChannel:
    """One e-mail to one address: HTML (with Apprise's text alternative), or plain text."""

    kind = ChannelKind.EMAIL

    def __init__(self, smtp_url: str, timeout_s: float = 20.0) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        parts = urlsplit(smtp_url)
        if parts.scheme.lower() not in SCHEMES:
            raise ValueError(f"the SMTP URL must be mailto:// or mailtos://: {redact(smtp_url)}")
        if parts.path not in ("", "/"):
            raise ValueError(f"the SMTP URL must not name a recipient (path {parts.path!r}): {redact(smtp_url)}")
        given = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
        if given & _RECIPIENT_ARGS:
            raise ValueError(f"the SMTP URL must not name recipients ({', '.join(sorted(given & _RECIPIENT_ARGS))}): "
                             f"{redact(smtp_url)}")
        self.timeout_s = float(timeout_s)
        self._pool = ApprisePool(make_asset(), size=256)
        # Our own threads: a hung SMTP server holds these until its timeout, not the loop's pool.
        self._threads = ThreadPoolExecutor(16, thread_name_prefix="vigie-smtp")
        self._url = with_timeouts(smtp_url, self.timeout_s)
        self.server = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
        if apprise.Apprise.instantiate(self._for("check@example.org"), asset=self._pool.asset) is None:
            raise ValueError(f"not an SMTP URL Apprise can load (is from= a valid address?): {redact(smtp_url)}")

    def _for(self, address: str) -> str:
        return self._url + ("&" if "?" in self._url else "?") + "to=" + quote(address, safe="@")

    async def send(self, message: OutboundMessage) -> SendResult:
        address = message.address.strip()
        if not ADDRESS.match(address):
            return SendResult.failed(f"not a plain e-mail address: {message.address!r}")
        if message.html:
            body, body_format = message.html, apprise.NotifyFormat.HTML
        else:
            body, body_format = message.text, apprise.NotifyFormat.TEXT
        if not body and not message.subject:
            return SendResult.failed("empty e-mail")
        guard = 2 * self.timeout_s + 5.0
        try:
            ok, reason = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
                self._threads, functools.partial(notify_one, self._pool, self._for(address), body=body or " ",
                                                 title=message.subject, body_format=body_format)), guard)
        except asyncio.TimeoutError:
            ok, reason = False, f"no answer within {guard:g} s"
        except Exception as exc:  # noqa: BLE001 - a channel never raises for a delivery problem
            ok, reason = False, f"{type(exc).__name__}: {exc}"[:300]
        if ok:
            return SendResult.delivered("accepted by SMTP", provider_ref=self.server)
        detail = f"SMTP {self.server} did not take the message ({reason})"
        log.warning("notification %s: %s", message.notification_id, detail)
        return SendResult.retry(detail[:1000])
