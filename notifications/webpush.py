"""Web Push (RFC 8030 / 8291 / 8292): VAPID keys and a channel that pushes to a browser subscription.

The address of a PUSH message is the browser's subscription, as JSON:
`{"endpoint": "https://…", "keys": {"p256dh": "<b64url P-256 point>", "auth": "<b64url 16 bytes>"}}`.
The payload is encrypted (aes128gcm) for that browser and signed with our VAPID key; the push
service answers 201 when it has taken the message (it then delivers it as soon as the browser is
reachable, within the TTL).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import json
import logging
import os
import re
import stat
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02, VapidException
from pywebpush import WebPushException, webpush_async

from escalation.severity import severity as severity_table
from notifications.base import ChannelKind, OutboundMessage, SendResult

log = logging.getLogger("vigie.webpush")

KEY_FILE_MODE = 0o600

# Largest plaintext that fits one aes128gcm record of a 4096-byte push message:
# 4096 - 86 (header: salt 16, rs 4, idlen 1, key id 65) - 16 (tag) - 1 (padding delimiter).
MAX_PLAINTEXT_BYTES = 3993


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class VapidKeys:
    """Our VAPID identity: one P-256 key pair, kept as a PEM file readable by its owner only.

    `public_key` is what the PWA passes as `applicationServerKey` to `pushManager.subscribe()`;
    `vapid` is the signer given to pywebpush (a `py_vapid.Vapid02` object: pywebpush does not take
    a PEM string). Changing the key pair orphans every existing subscription, so the file is kept.
    """

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, path: Path | None = None) -> None:
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
                private_key.curve, ec.SECP256R1):
            raise ValueError("a VAPID key is a P-256 (secp256r1) EC private key")
        self._private_key = private_key
        self.path = path
        self.vapid = Vapid02(private_key)
        point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.public_key: str = b64url(point)  # 65-byte uncompressed point, base64url without padding

    @classmethod
    def generate(cls) -> VapidKeys:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: bytes, path: Path | None = None) -> VapidKeys:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path or 'PEM'}: not an EC private key")
        return cls(key, path)

    @classmethod
    def load_or_create(cls, path: Path | str) -> VapidKeys:
        """Load the key pair stored at `path`; on the very first call, generate and store it (0600).

        Creation is exclusive (written aside, then hard-linked into place): two processes starting
        together end up with the same key instead of overwriting each other's.
        """
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            created = cls.generate()
            if cls._store_exclusively(path, created.private_pem()):
                log.info("generated a new VAPID key pair at %s", path)
                return cls(created._private_key, path)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("VAPID private key %s was readable by others (mode %o): set to 0600", path, mode)
            os.chmod(path, KEY_FILE_MODE)
        return cls.from_pem(path.read_bytes(), path)

    @staticmethod
    def _store_exclusively(path: Path, pem: bytes) -> bool:
        """Write `pem` at `path` unless it exists already. True when this call created it."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as file:
                os.fchmod(file.fileno(), KEY_FILE_MODE)  # whatever the umask
                file.write(pem)
                file.flush()
                os.fsync(file.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False  # another process was first: use its key
            except OSError:  # a file system without hard links
                if path.exists():
                    return False
                os.replace(tmp, path)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def private_pem(self) -> bytes:
        return self._private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption())

    def __repr__(self) -> str:  # never the private part
        return f"VapidKeys(public_key={self.public_key!r}, path={str(self.path) if self.path else None!r})"


def push_policy(severity: int) -> tuple[str, int]:
    """(Urgency header, TTL seconds) for an event severity.

    An alert must wake the phone (Urgency high) and is worth keeping a while for a phone that is
    offline, but an hour-old severe alert has been escalated elsewhere: a shorter TTL. Information
    can wait a day and need not wake anyone ("normal"; "low" would wait for Wi-Fi and power).
    """
    rule = severity_table(severity)
    return ("high" if rule.solicits else "normal"), rule.push_ttl_s


def encode_document(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def push_document(message: OutboundMessage, max_bytes: int = MAX_PLAINTEXT_BYTES) -> dict:
    """The document a phone receives (Web Push payload; FCM mirrors it):
    `{"title": subject, "body": text, "notification_id", "urgent", "data": message.data}`.

    A push message carries about 4 KB: a body too long is shortened (with "…") to fit `max_bytes`
    once encoded; if the rest alone is too large, the document is returned as is (the caller checks).
    """
    body = message.text
    while True:
        doc = {"title": message.subject, "body": body, "notification_id": message.notification_id,
               "urgent": message.urgent, "data": dict(message.data)}
        size = len(encode_document(doc))
        if size <= max_bytes or not body:
            return doc
        keep = max(len(body) - (size - max_bytes) - 3, 0)  # a character is at least one byte: converges
        body = body[:keep].rstrip() + "…" if keep else ""


def severity_of(message: OutboundMessage) -> int:
    """The event severity carried in the message data (3, "grave", when absent or unreadable)."""
    try:
        return int(message.data.get("severity", 3))
    except (TypeError, ValueError):
        return 3


class BadSubscription(ValueError):
    pass


def parse_subscription(address: str) -> dict:
    """The subscription as pywebpush wants it, or BadSubscription when nothing can ever reach it."""
    try:
        sub = json.loads(address)
    except (TypeError, ValueError) as exc:
        raise BadSubscription(f"not JSON: {exc}") from None
    if not isinstance(sub, dict):
        raise BadSubscription("not a JSON object")
    endpoint, keys = sub.get("endpoint"), sub.get("keys")
    if not isinstance(endpoint, str):
        raise BadSubscription("no endpoint")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadSubscription("the endpoint is not an http(s) URL")
    if not isinstance(keys, dict) or not isinstance(keys.get("p256dh"), str) or not isinstance(keys.get("auth"), str):
        raise BadSubscription("keys.p256dh and keys.auth are required")
    try:
        point = b64url_decode(keys["p256dh"])
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        auth = b64url_decode(keys["auth"])
    except (ValueError, binascii.Error) as exc:
        raise BadSubscription(f"unusable keys: {exc}") from None
    if len(point) != 65 or not auth:
        raise BadSubscription("p256dh must be an uncompressed P-256 point and auth non-empty")
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"].strip(), "auth": keys["auth"].strip()}}


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date turned into a delay; None otherwise."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(when.timestamp() - time.time(), 0.0)


class WebPushChannel:
    kind = ChannelKind.PUSH

    def __init__(self, vapid: VapidKeys, subject: str, timeout_s: float = 10.0) -> None:
        try:  # py_vapid checks `sub` at each signature: a bad one must fail here, not at every send
            vapid.vapid.sign({"sub": subject, "aud": "https://push.example.com"})
        except VapidException:
            raise ValueError(f"VAPID subject must be a mailto: address or an https: URL, not {subject!r}") from None
        self.vapid = vapid
        self.subject = subject
        self.timeout_s = timeout_s
        self._http: aiohttp.ClientSession | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    def _session(self) -> aiohttp.ClientSession:
        """One HTTP client per loop: connections (and TLS sessions) to the push services are kept."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._http.closed or self._http_loop is not loop:
            self._http, self._http_loop = aiohttp.ClientSession(), loop
        return self._http

    def payload(self, message: OutboundMessage) -> bytes:
        """What the service worker receives: the push document as UTF-8 JSON."""
        return encode_document(push_document(message, MAX_PLAINTEXT_BYTES))

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            subscription = parse_subscription(message.address)
        except BadSubscription as exc:
            return SendResult.failed(f"malformed push subscription: {exc}", gone=True)
        payload = self.payload(message)
        if len(payload) > MAX_PLAINTEXT_BYTES:
            return SendResult.failed(f"push payload too large ({len(payload)} bytes) even without its body")
        urgency, ttl = push_policy(severity_of(message))
        origin = urlsplit(subscription["endpoint"])
        # webpush_async rather than asyncio.to_thread(webpush): the worker sends many messages at
        # once; on the loop every send runs concurrently and a cancellation (the
        # dispatcher's wait_for) really stops it, whereas threads would queue behind the small
        # default pool and a timed-out thread would still post later: a late duplicate alert.
        # aiohttp's per-request timeout is a total one. The encryption and the ES256 signature it
        # does on the loop take well under a millisecond.
        try:
            response = await webpush_async(
                subscription,
                data=payload,
                vapid_private_key=self.vapid.vapid,
                vapid_claims={"sub": self.subject},  # fresh per send: pywebpush writes aud and exp into it
                content_encoding="aes128gcm",
                headers={"Urgency": urgency},
                ttl=ttl,
                timeout=self.timeout_s,
                aiohttp_session=self._session(),
            )
        except WebPushException as exc:
            return self._from_status(exc.status_code, exc.retry_after, str(exc.message))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return SendResult.retry(f"push service {origin.hostname} unreachable: {type(exc).__name__}: {exc}")
        status = getattr(response, "status", None)
        location = response.headers.get("Location") if hasattr(response, "headers") else None
        if hasattr(response, "release"):
            response.release()  # the connection goes back to the session's pool
        return SendResult.delivered(f"push service {origin.hostname} answered {status}", provider_ref=location)

    @staticmethod
    def _from_status(status: int | None, retry_after: str | None, detail: str) -> SendResult:
        detail = detail.strip()[:300]
        if status is None:
            return SendResult.retry(detail)
        if 200 <= status < 300:
            return SendResult.delivered(f"push service answered {status}")
        if status in (404, 410):
            return SendResult.failed(f"subscription gone ({status})", gone=True)
        if status == 429 or status >= 500:
            return SendResult.retry(detail, retry_after=retry_after_seconds(retry_after))
        return SendResult.failed(detail)
