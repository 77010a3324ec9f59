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
- a provider plugin with the number in the path, e.g. Apprise's `bulksms://`, `clicksend://`…;
- Twilio (`twilio://SID:TOKEN@%2B33100000000/{to}`) and Vonage (`vonage://KEY:SECRET@SENDER/{to}`),
  in Apprise's forms, and Octopush (`octopush://LOGIN:API_KEY@SENDER/{to}`, in the same form) are
  spoken directly by `notifications/sms_twilio.py`, `sms_vonage.py` and `sms_octopush.py`: they
  keep the provider's id of the message, which its delivery receipt names.

One Apprise object holds one URL (one provider, one recipient): Apprise reports per URL, so
this is what tells us who got the message, and the failure of one provider is seen before the
next is tried. The objects are kept and reused (`ApprisePool`). Apprise cannot tell a permanent refusal from a transient one: when every provider
failed the result is RETRY. A gateway accepting the message is SENT (delivery is reported later,
or never), `provider_ref` naming the provider that took it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

import apprise

from notifications import sms_octopush, sms_twilio, sms_vonage
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

    Sequential, in the calling thread: we hand Apprise one URL at a time, already off the event
    loop, on threads of our own. Apprise 2.3 would otherwise run every send with a time limit on
    one pool shared by the whole process (6 threads on 2 cores): six messages held by a hung
    provider stopped every other SMS and e-mail. Our channels bound the time themselves.
    """
    try:
        return apprise.AppriseAsset(storage_mode="memory", async_mode=False, service_timeout=0)
    except TypeError:  # an Apprise without a service time limit (before 2.3) has no such pool
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


class ApprisePool:
    """Apprise objects kept per URL and reused: building one per message cost about 2 ms of CPU.

    An object is used by one thread at a time (taken, then given back); at most `size` URLs
    are kept, the least recently used dropped first.
    """

    def __init__(self, asset: apprise.AppriseAsset, size: int = 512) -> None:
        self.asset = asset
        self.size = size
        self._idle: OrderedDict[str, list[apprise.Apprise]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, url: str) -> apprise.Apprise | None:
        with self._lock:
            idle = self._idle.get(url)
            if idle:
                self._idle.move_to_end(url)
                return idle.pop()
        plugin = apprise.Apprise.instantiate(url, asset=self.asset)
        if plugin is None:
            return None
        # Apprise spaces the calls of one object (5.5 s for e-mail, 0.2 s for Twilio): a fresh object
        # per message never waited, and a kept one must not either; the channels bound the rate.
        plugin.request_rate_per_sec = 0
        apobj = apprise.Apprise(asset=self.asset)
        return apobj if apobj.add(plugin) else None

    def give_back(self, url: str, apobj: apprise.Apprise) -> None:
        with self._lock:
            self._idle.setdefault(url, []).append(apobj)
            self._idle.move_to_end(url)
            while len(self._idle) > self.size:
                self._idle.popitem(last=False)


def notify_one(pool: ApprisePool, url: str, *, body: str, title: str = "",
               body_format: str = apprise.NotifyFormat.TEXT) -> tuple[bool, str]:
    """Blocking: send through exactly one Apprise URL. (accepted, reason when not)."""
    apobj = pool.take(url)
    if apobj is None:
        return False, "Apprise could not load this URL"
    try:
        result = apobj.notify(body=body, title=title, body_format=body_format)
    finally:
        pool.give_back(url, apobj)
    if result:
        return True, ""
    return False, failure_reason(result) or "not accepted"


def direct_sender(template: str, status_callbacks: dict[str, str], timeout_s: float):
    """The sender of a provider Vigie speaks to itself (Twilio, Vonage, Octopush), or None for Apprise's."""
    if (twilio := sms_twilio.account_of(template)) is not None:
        return sms_twilio.TwilioSender(twilio, status_callback=status_callbacks.get("twilio"), timeout_s=timeout_s)
    if (vonage := sms_vonage.account_of(template)) is not None:
        return sms_vonage.VonageSender(vonage, status_callback=status_callbacks.get("vonage"), timeout_s=timeout_s)
    if (octopush := sms_octopush.account_of(template)) is not None:
        # Its receipts go where its interface says (« Callbacks »): nothing to ask per message.
        return sms_octopush.OctopushSender(octopush, timeout_s=timeout_s)
    return None


class SmsChannel:
    """SMS to one E.164 number, through the first provider that accepts it.

    One message has one deadline (`deadline_s`) for all its providers: each provider gets its
    share of what is left (at most `timeout_s`), so a provider that hangs is cut off with time
    left for the next one. A provider that failed or hung is tried last for `cooldown_s`: the
    messages after it go straight to the next provider instead of waiting for it again; then one
    message tries it again (the others wait for that one's outcome).
    """

    kind = ChannelKind.SMS

    def __init__(self, provider_urls: list[str], timeout_s: float = 8.0, *, deadline_s: float = 20.0,
                 cooldown_s: float = 60.0, threads: int = 32, clock=time.monotonic,
                 status_callbacks: dict[str, str] | None = None) -> None:
        if isinstance(provider_urls, str):
            provider_urls = [provider_urls]
        if not provider_urls:
            raise ValueError("SmsChannel needs at least one provider URL")
        if timeout_s <= 0 or deadline_s <= 0:
            raise ValueError("timeout_s and deadline_s must be positive")
        self.timeout_s = float(timeout_s)
        self.deadline_s = float(deadline_s)
        self.cooldown_s = float(cooldown_s)
        self._clock = clock
        self._pool = ApprisePool(make_asset())
        # Our own threads: a hung provider holds one until its read timeout, never the loop's pool.
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="vigie-sms")
        self._cooling_until: dict[int, float] = {}
        self._probing: set[int] = set()  # cooled-down providers being tried again by one message
        self._templates: list[str] = []
        self.provider_names: list[str] = []
        # Providers spoken directly (their message id kept for the delivery receipt): index -> sender.
        self._direct: dict[int, sms_twilio.TwilioSender | sms_vonage.VonageSender | sms_octopush.OctopushSender] = {}
        callbacks = status_callbacks or {}
        for index, template in enumerate(provider_urls, start=1):
            name = provider_name(index, template)
            direct = direct_sender(template, callbacks, self.timeout_s)
            if direct is not None:
                self._direct[index - 1] = direct
                self._templates.append(template)
                self.provider_names.append(name)
                continue
            if PLACEHOLDER not in template:
                raise ValueError(f"SMS provider {name}: the URL needs a {PLACEHOLDER} placeholder "
                                 f"for the recipient: {redact(template)}")
            if "{message}" in template:
                raise ValueError(f"SMS provider {name}: Apprise places the message itself (field "
                                 f"'message'; rename it with ':message=<field>'), remove '{{message}}': "
                                 f"{redact(template)}")
            url = with_timeouts(template, self.timeout_s)
            if apprise.Apprise.instantiate(self._expand(url, _SAMPLE_NUMBER), asset=self._pool.asset) is None:
                raise ValueError(f"SMS provider {name}: not a URL Apprise can load: {redact(template)}")
            self._templates.append(url)
            self.provider_names.append(name)

    @staticmethod
    def _expand(template: str, number: str) -> str:
        return template.replace(PLACEHOLDER, quote(number, safe=""))

    def order(self) -> list[int]:
        """Provider indexes in the order to try now: healthy ones first, each group in configured order.

        Once its cool-down is over, a provider that failed is tried again by one message only; the
        others keep to the next provider until that one went through.
        """
        now = self._clock()
        healthy = []
        for index in range(len(self._templates)):
            until = self._cooling_until.get(index)
            if until is None:
                healthy.append(index)
            elif until <= now and index not in self._probing:
                self._probing.add(index)
                healthy.append(index)
        return healthy + [i for i in range(len(self._templates)) if i not in healthy]

    def _call(self, index: int, number: str, text: str, budget: float) -> tuple[bool, str, str | None]:
        """Blocking, on our threads: (accepted, reason when not, the provider's message id if it gives one)."""
        direct = self._direct.get(index)
        if direct is not None:
            return direct.send(number, text, budget)
        ok, reason = notify_one(self._pool, self._expand(self._templates[index], number), body=text)
        return ok, reason, None

    async def _attempt(self, index: int, number: str, text: str, budget: float) -> tuple[bool, str, str | None]:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(
                self._threads, functools.partial(self._call, index, number, text, budget)), budget)
        except TimeoutError:
            return False, f"no answer within {budget:.1f} s", None
        except Exception as exc:  # noqa: BLE001 - a channel never raises for a delivery problem
            return False, f"{type(exc).__name__}: {exc}"[:300], None

    async def send(self, message: OutboundMessage) -> SendResult:
        number = message.address.strip()
        if not E164.match(number):
            return SendResult.failed(f"not an E.164 phone number: {message.address!r}")
        if not message.text:
            return SendResult.failed("empty SMS text")
        deadline = self._clock() + self.deadline_s
        order = self.order()
        failures: list[str] = []
        for position, index in enumerate(order):
            name = self.provider_names[index]
            remaining = deadline - self._clock()
            if remaining < 0.5:
                failures.append(f"no time left for provider {name}")
                break
            budget = min(self.timeout_s, remaining / (len(order) - position))
            ok, reason, message_id = await self._attempt(index, number, message.text, budget)
            self._probing.discard(index)
            if ok:
                self._cooling_until.pop(index, None)
                detail = f"accepted by SMS provider {name}"
                if failures:
                    detail += " after " + "; ".join(failures)
                log.info("notification %s: %s", message.notification_id, detail)
                return SendResult.sent(detail[:1000], provider_ref=name, provider_message_id=message_id)
            self._cooling_until[index] = self._clock() + self.cooldown_s
            failure = f"provider {name} failed ({reason})"
            log.warning("notification %s: SMS %s", message.notification_id, failure)
            failures.append(failure)
        return SendResult.retry(("every SMS provider failed: " + "; ".join(failures))[:1000])
