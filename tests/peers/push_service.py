"""A Web Push service on 127.0.0.1, doing what Mozilla's or Google's does with a push message.

For each `POST /push/<id>` it checks the VAPID authorization (RFC 8292: `vapid t=<ES256 JWT>,k=<key>`,
`aud` = this service's origin, `exp` in the future and at most 24 h away, `sub` present), the
`TTL` header, then decrypts the aes128gcm body (RFC 8291) with the subscription's private key and
auth secret, records it and answers 201 — unless a status was scripted for that endpoint.

    with PushService() as service:
        address, private_key, auth = make_subscription(service, "alice")
        ...  # send to `address`
        service.received[0].payload  # the decrypted JSON
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_VAPID_LIFETIME_S = 24 * 3600
CLOCK_SKEW_S = 60


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class VapidError(Exception):
    pass


def verify_vapid(authorization: str | None, audience: str, now: float | None = None) -> tuple[dict, str]:
    """Check a `vapid t=…,k=…` header; return (JWT claims, k). Raise VapidError when it does not hold."""
    if not authorization:
        raise VapidError("no Authorization header")
    scheme, _, params = authorization.partition(" ")
    if scheme.lower() != "vapid":
        raise VapidError(f"scheme {scheme!r}, expected vapid")
    parts = {}
    for item in params.split(","):
        name, sep, value = item.strip().partition("=")
        if sep:
            parts[name.strip()] = value.strip()
    if "t" not in parts or "k" not in parts:
        raise VapidError("t= and k= are required")
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(parts["k"]))
        header_b64, claims_b64, signature_b64 = parts["t"].split(".")
        header = json.loads(b64url_decode(header_b64))
        claims = json.loads(b64url_decode(claims_b64))
        signature = b64url_decode(signature_b64)
    except (ValueError, TypeError) as exc:
        raise VapidError(f"unreadable token or key: {exc}") from None
    if header.get("alg") != "ES256":
        raise VapidError(f"alg {header.get('alg')!r}, expected ES256")
    if len(signature) != 64:
        raise VapidError("an ES256 JWS signature is r||s, 64 bytes")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, f"{header_b64}.{claims_b64}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise VapidError("bad signature") from None
    if not isinstance(claims, dict):
        raise VapidError("claims are not an object")
    if claims.get("aud") != audience:
        raise VapidError(f"aud {claims.get('aud')!r}, expected {audience!r}")
    now = time.time() if now is None else now
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= now:
        raise VapidError(f"exp {exp!r} is missing or past")
    if exp > now + MAX_VAPID_LIFETIME_S + CLOCK_SKEW_S:
        raise VapidError(f"exp {exp} is more than 24 h away")
    if not claims.get("sub"):
        raise VapidError("sub is missing")
    return claims, parts["k"]


@dataclass
class Subscription:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    application_server_key: str | None = None  # when set, only this VAPID key may push here


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    times: int | None = None  # None: every time


@dataclass(frozen=True)
class Received:
    endpoint_id: str
    headers: dict[str, str]  # lower-case names
    payload: object  # the decrypted body, parsed as JSON (raw bytes when not JSON)
    claims: dict
    vapid_key: str
    status: int  # what the service answered


@dataclass(frozen=True)
class Rejected:
    endpoint_id: str
    reason: str
    status: int
    headers: dict[str, str]


class PushService:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: dict[str, Subscription] = {}
        self._scripts: dict[str, list[Reply]] = {}
        self._received: list[Received] = []
        self._rejected: list[Rejected] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="push-service", daemon=True)
        self._thread.start()

    # -- set-up ---------------------------------------------------------------------------------
    def endpoint(self, endpoint_id: str) -> str:
        return f"{self.origin}/push/{endpoint_id}"

    def subscribe(self, endpoint_id: str, private_key: ec.EllipticCurvePrivateKey, auth: bytes,
                  application_server_key: str | None = None) -> None:
        with self._lock:
            self._subscriptions[endpoint_id] = Subscription(private_key, auth, application_server_key)

    def script(self, endpoint_id: str, status: int, *, headers: dict[str, str] | None = None,
               delay_s: float = 0.0, times: int | None = None) -> None:
        """Answer `status` (with `headers`, after `delay_s`) to the next `times` pushes (all if None)."""
        with self._lock:
            self._scripts.setdefault(endpoint_id, []).append(Reply(status, dict(headers or {}), delay_s, times))

    # -- what happened --------------------------------------------------------------------------
    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def rejected(self) -> list[Rejected]:
        with self._lock:
            return list(self._rejected)

    def to(self, endpoint_id: str) -> list[Received]:
        return [r for r in self.received if r.endpoint_id == endpoint_id]

    # -- life -----------------------------------------------------------------------------------
    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> PushService:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the push service proper ----------------------------------------------------------------
    def _next_reply(self, endpoint_id: str) -> Reply | None:
        with self._lock:
            replies = self._scripts.get(endpoint_id) or []
            while replies:
                reply = replies[0]
                if reply.times is None:
                    return reply
                if reply.times > 0:
                    reply.times -= 1
                    if reply.times == 0:
                        replies.pop(0)
                    return reply
                replies.pop(0)
        return None

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], float]:
        prefix = "/push/"
        if not path.startswith(prefix):
            return self._reject("?", f"no such path {path}", 404, headers)
        endpoint_id = path[len(prefix):]
        with self._lock:
            subscription = self._subscriptions.get(endpoint_id)
        if subscription is None:
            return self._reject(endpoint_id, "unknown subscription", 404, headers)
        try:
            claims, key = verify_vapid(headers.get("authorization"), self.origin)
        except VapidError as exc:
            return self._reject(endpoint_id, f"VAPID: {exc}", 401, headers)
        if subscription.application_server_key and key != subscription.application_server_key:
            return self._reject(endpoint_id, "VAPID key differs from the subscription's applicationServerKey",
                                403, headers)
        ttl = headers.get("ttl", "")
        if not ttl.isdigit():
            return self._reject(endpoint_id, f"TTL header missing or invalid: {ttl!r}", 400, headers)
        reply = self._next_reply(endpoint_id)
        payload: object = None
        if body:
            if headers.get("content-encoding") != "aes128gcm":
                return self._reject(endpoint_id, f"content-encoding {headers.get('content-encoding')!r}", 415, headers)
            try:
                plain = http_ece.decrypt(body, private_key=subscription.private_key, auth_secret=subscription.auth,
                                         version="aes128gcm")
            except Exception as exc:  # noqa: BLE001 - any decryption failure is the sender's fault
                return self._reject(endpoint_id, f"cannot decrypt: {type(exc).__name__}: {exc}", 400, headers)
            try:
                payload = json.loads(plain)
            except ValueError:
                payload = plain
        status = reply.status if reply else 201
        with self._lock:
            self._received.append(Received(endpoint_id, dict(headers), payload, claims, key, status))
        if reply is None:
            return 201, {"Location": f"{self.origin}/message/{os.urandom(8).hex()}"}, 0.0
        return reply.status, reply.headers, reply.delay_s

    def _reject(self, endpoint_id: str, reason: str, status: int, headers: dict[str, str]):
        with self._lock:
            self._rejected.append(Rejected(endpoint_id, reason, status, dict(headers)))
        return status, {}, 0.0

    def _handler_class(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, reply_headers, delay_s = service._handle(self.path, headers, body)
                if delay_s:
                    time.sleep(delay_s)
                self.send_response(status)
                for name, value in reply_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args) -> None:  # quiet
                pass

        return Handler


def make_subscription(service: PushService, endpoint_id: str, *,
                      application_server_key: str | None = None) -> tuple[str, ec.EllipticCurvePrivateKey, bytes]:
    """What `pushManager.subscribe()` gives a page: (subscription JSON, p256dh private key, auth secret).

    The service learns the keys so it can decrypt. With `application_server_key`, the service
    accepts only pushes signed with that VAPID key (a browser binds the subscription to it).
    """
    private_key = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    point = private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                  serialization.PublicFormat.UncompressedPoint)
    service.subscribe(endpoint_id, private_key, auth, application_server_key)
    subscription = {"endpoint": service.endpoint(endpoint_id), "keys": {"p256dh": b64url(point), "auth": b64url(auth)}}
    return json.dumps(subscription, separators=(",", ":")), private_key, auth


def unused_port() -> int:
    """A local port nothing listens on (for "push service unreachable")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
