"""SMS through Apprise: one or more providers, tried in order (failover).

Each provider is an Apprise URL template holding a `{to}` placeholder, replaced at every send by
the recipient's E.164 number, URL-encoded (`+33639980101` → `%2B33639980101`). Apprise places the
message itself; nothing else in the template is substituted. Examples:

- a generic HTTP gateway taking JSON (`json://`, `jsons://` for HTTPS): Apprise POSTs
  `{"version": "1.0", "title": "", "message": <text>, "attachments": [], "type": "info"}`;
  `:name=value` adds a field, `:message=text` renames `message` to `text`, `:title=` (empty) drops
  a field, `+Header=value` adds an HTTP header, `-name=value` a query parameter:
  `jsons://sms.example.org/api/send?:to={to}&:message=text&:version=&:title=&:attachments=&:type=&+X-Api-Key=SECRET`
  (`form://` is the same with a form-encoded body);
- a provider plugin with the number in the path: `twilio://SID:TOKEN@%2B33100000000/{to}`.

One Apprise object, holding one URL, per recipient and per attempt: Apprise reports per URL, so
this is what tells us who got the message, and the failure of one provider is seen before the
next is tried. Apprise cannot tell a permanent refusal from a transient one: when every provider
failed the result is RETRY. A gateway accepting the message is SENT (delivery is reported later,
or never), `provider_ref` naming the provider that took it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import quote, urlsplit

import apprise

from notifications.base import ChannelKind, OutboundMessage, SendResult

log = logging.getLogger("vigie.sms")

PLACEHOLDER = "{to}"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SAMPLE_NUMBER = "+33600000000"  # only to check a template at start-up; nothing is sent to it

_SECRET_KEY = re.compile(r"(key|token|secret|pass|pwd|auth|sig|cred|sid)", re.IGNORECASE)
_TOKEN_LIKE = re.compile(r"^(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{16,}$")
MASK = "****"


def redact(url: str) -> str:
    """`url` with its credentials hidden, fit for a log line or an error stored in the database.

    Hidden: the password of the userinfo (`user:****@host`), every header value (`+Name=****`),
    the value of every query argument whose name looks secret (key, token, secret, pass, auth,
    sig, sid…), and path segments that look like API tokens (16+ characters mixing letters and
    digits). The scheme, host, port and the rest of the path are kept to tell providers apart.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url.split(':', 1)[0]}://{MASK}"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    path = "/".join(MASK if _TOKEN_LIKE.match(segment) else segment for segment in parts.path.split("/"))
    query = []
    for item in parts.query.split("&") if parts.query else []:
        name, sep, value = item.partition("=")
        if sep and value and (name.startswith(("+", "%2B", "%2b")) or _SECRET_KEY.search(name)):
            value = MASK
        query.append(f"{name}{sep}{value}")
    out = f"{parts.scheme}://{netloc}{path}"
    if query:
        out += "?" + "&".join(query)
    return out


def provider_name(index: int, url: str) -> str:
    """`2:jsons://sms.example.org` (1-based index, scheme and host only): what `provider_ref` holds."""
    try:
        parts = urlsplit(url)
        hostport = parts.netloc.rsplit("@", 1)[-1]
    except ValueError:
        return str(index)
    return f"{index}:{parts.scheme}://{hostport}"[:200]


def make_asset() -> apprise.AppriseAsset:
    """An asset that reads nothing from the home directory: no plugin paths, in-memory storage only.

    Sequential: we hand Apprise one URL at a time, already off the event loop; its thread pool
    would only add a thread hand-off (about a millisecond) to every message's way out.
    """
    return apprise.AppriseAsset(storage_mode="memory", async_mode=False)


def with_timeouts(url: str, timeout_s: float) -> str:
    """Add Apprise's connect (`cto`) and read (`rto`) timeouts unless the URL sets them."""
    query = urlsplit(url).query
    names = {item.partition("=")[0].lower() for item in query.split("&")} if query else set()
    extra = [f"{name}={timeout_s:g}" for name in ("cto", "rto") if name not in names]
    if not extra:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(extra)


def failure_reason(result) -> str:
    """The last warning Apprise captured for a failed call (Apprise 2.x results), or ''."""
    logs = getattr(result, "logs", None)
    if not callable(logs):
        return ""
    try:
        entries = [entry for entry in logs() if str(getattr(entry, "level", "")).upper() in ("WARNING", "ERROR")]
    except Exception:  # noqa: BLE001 - a detail for a log line, never worth a crash
        return ""
    return str(entries[-1].message)[:300] if entries else ""


def notify_one(asset: apprise.AppriseAsset, url: str, *, body: str, title: str = "",
               body_format: str = apprise.NotifyFormat.TEXT) -> tuple[bool, str]:
    """Blocking: send through exactly one Apprise URL. (accepted, reason when not)."""
    plugin = apprise.Apprise.instantiate(url, asset=asset)
    if plugin is None:
        return False, "Apprise could not load this URL"
    apobj = apprise.Apprise(asset=asset)
    if not apobj.add(plugin):
        return False, "Apprise could not load this URL"
    result = apobj.notify(body=body, title=title, body_format=body_format)
    if result:
        return True, ""
    return False, failure_reason(result) or "not accepted"


class SmsChannel:
    """SMS to one E.164 number, through the first provider that accepts it."""

    kind = ChannelKind.SMS

    def __init__(self, provider_urls: list[str], timeout_s: float = 15.0) -> None:
        if isinstance(provider_urls, str):
            provider_urls = [provider_urls]
        if not provider_urls:
            raise ValueError("SmsChannel needs at least one provider URL")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.timeout_s = float(timeout_s)
        self._asset = make_asset()
        self._templates: list[str] = []
        self.provider_names: list[str] = []
        for index, template in enumerate(provider_urls, start=1):
            name = provider_name(index, template)
            if PLACEHOLDER not in template:
                raise ValueError(f"SMS provider {name}: the URL needs a {PLACEHOLDER} placeholder "
                                 f"for the recipient: {redact(template)}")
            if "{message}" in template:
                raise ValueError(f"SMS provider {name}: Apprise places the message itself (field "
                                 f"'message'; rename it with ':message=<field>'), remove '{{message}}': "
                                 f"{redact(template)}")
            url = with_timeouts(template, self.timeout_s)
            if apprise.Apprise.instantiate(self._expand(url, _SAMPLE_NUMBER), asset=self._asset) is None:
                raise ValueError(f"SMS provider {name}: not a URL Apprise can load: {redact(template)}")
            self._templates.append(url)
            self.provider_names.append(name)

    @staticmethod
    def _expand(template: str, number: str) -> str:
        return template.replace(PLACEHOLDER, quote(number, safe=""))

    async def _attempt(self, url: str, text: str) -> tuple[bool, str]:
        # Blocking I/O (requests) in a worker thread; the guard covers connect + read timeouts.
        guard = 2 * self.timeout_s + 5.0
        try:
            return await asyncio.wait_for(asyncio.to_thread(notify_one, self._asset, url, body=text), guard)
        except asyncio.TimeoutError:
            return False, f"no answer within {guard:g} s"
        except Exception as exc:  # noqa: BLE001 - a channel never raises for a delivery problem
            return False, f"{type(exc).__name__}: {exc}"[:300]

    async def send(self, message: OutboundMessage) -> SendResult:
        number = message.address.strip()
        if not E164.match(number):
            return SendResult.failed(f"not an E.164 phone number: {message.address!r}")
        if not message.text:
            return SendResult.failed("empty SMS text")
        failures: list[str] = []
        for name, template in zip(self.provider_names, self._templates):
            ok, reason = await self._attempt(self._expand(template, number), message.text)
            if ok:
                detail = f"accepted by SMS provider {name}"
                if failures:
                    detail += " after " + "; ".join(failures)
                log.info("notification %s: %s", message.notification_id, detail)
                return SendResult.sent(detail[:1000], provider_ref=name)
            failure = f"provider {name} failed ({reason})"
            log.warning("notification %s: SMS %s", message.notification_id, failure)
            failures.append(failure)
        return SendResult.retry(("every SMS provider failed: " + "; ".join(failures))[:1000])
