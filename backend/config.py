"""Typed settings from the environment (`VIGIE_…`, plus `DATABASE_URL`); they fail fast."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "admin"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIE_", extra="ignore")

    database_url: str = Field(default="sqlite:///./var/vigie.db", validation_alias="DATABASE_URL")
    var_dir: Path = Path("./var")
    public_url: str = "http://127.0.0.1:8000"

    admin_email: str | None = None
    admin_password: str | None = None

    token_ttl_hours: float = 12.0
    # A phone's token lives this long after its last renewal; each use renews it (at most daily).
    device_token_days: float = 90.0
    rate_limit_storage: str = "memory://"  # redis://host:6379 to count across several `vigie serve`
    rate_limits: dict[str, str] = {}  # windows by rule name, replacing backend/ratelimit.py's defaults
    # /metrics answers a bearer token equal to this, or a request from these addresses (through a
    # local reverse proxy, uvicorn reads the real address from X-Forwarded-For).
    metrics_token: str | None = None
    metrics_allow_from: list[str] = ["127.0.0.1", "::1"]
    delivery_retention_months: int = 12  # messages sent and SMS received, unless the commune sets its own
    live_recheck_s: float = 5.0  # open live sockets re-check their credential this often
    run_worker: bool = True  # `vigie serve` runs a worker unless told otherwise
    # ... as a child process (`vigie worker`, a core of its own: the API's requests and the
    # escalation do not share one interpreter lock), or, when False, as threads of the API process.
    worker_process: bool = True
    lease_seconds: float = 30.0  # a claim older than this is taken over by another worker
    max_sleep_seconds: float = 30.0  # safety net only: the worker is woken by due times and commits
    claim_batch: int = 200
    notification_retry_max: int = 5
    sqlite_busy_timeout_ms: int = 30_000

    # Back-pressure: what a process takes on at once, and how long a request may wait its turn
    # before it is answered 503 + Retry-After (the phone and the console try again).
    request_threads: int = 16  # requests doing database work at once; the pool is sized from it
    request_queue_timeout_s: float = 10.0  # waited this long for a thread: 503
    write_wait_s: float = 10.0  # SQLite: waited this long for the write turn: 503
    db_pool_timeout_s: float = 10.0  # waited this long for a connection: 503
    max_pending_requests: int = 2000  # more API requests in flight than this: 503 at once
    # `vigie serve --no-worker` lowers its own CPU priority by this much (os.nice), so that on a
    # host it shares with `vigie worker`, an overload slows the requests (then 503s) and never
    # the steps and messages already accepted. 0 keeps the priority.
    api_nice: int = 5

    # Signing one-tap links and sealing the secrets kept in the database; generated once under
    # var_dir when not given. After changing it, the former keys here still open what they sealed.
    secret_key: str | None = None
    previous_secret_keys: list[str] = []
    link_ttl_hours: float = 24.0

    # Channels. Nothing configured: every kind prints on the console (`make run` works offline).
    sms_providers: list[str] = []  # Apprise URLs with a {to} placeholder, tried in order (failover)
    sms_sender_number: str | None = None  # the number the PC's SMS come from (replies go to it)
    sms_inbound_secret: str | None = None  # HMAC-SHA256 key shared with the SMS provider's callback
    sms_inbound_tolerance_s: int = 300  # a signed callback older (or further ahead) than this is refused
    # The `apikey` an SMSEagle gateway sends with each incoming SMS (its « Callback URL » setting).
    smseagle_callback_key: str | None = None
    # Octopush signs nothing: its callback URLs, set in its interface, carry this key (`?key=`).
    octopush_callback_key: str | None = None
    smtp_url: str | None = None  # Apprise mailto:// or mailtos:// URL without recipient
    fcm_credentials: Path | None = None  # service-account JSON
    webpush_enabled: bool = True  # VAPID keys are generated under var_dir on first start
    vapid_subject: str = "mailto:pc-astreinte@example.org"
    # Messages in flight at once per channel kind and worker (a provider's own rate limit, say);
    # unnamed kinds keep their default (push 16, fcm 16, sms 8, email 4).
    send_limits: dict[str, int] = {}
    push_fallback_seconds: float = 120.0  # severity 2: SMS too when push is not acknowledged by then
    sms_flood_limit: int = 8  # SMS per person per quarter hour; beyond, one merged message
    # Webhooks out: one request's deadline, and http:// to any host (otherwise https, or http to this machine).
    webhook_timeout_s: float = 10.0
    webhook_allow_http: bool = False
    # Internal networks (CIDR) receivers may be in; any other private, loopback or link-local address is refused.
    webhook_internal_networks: list[str] = []
    # twilio:// URLs (the SMS's form) placing calls read aloud, tried in order; none: nobody is called.
    voice_providers: list[str] = []
    # Twilio's `Timeout`: how long a call rings before it is « sans réponse ». A call's whole length
    # (this, the answering machine detection, then the readings) is what another page waits for.
    voice_ring_s: int = Field(default=30, ge=5, le=120)

    @field_validator("admin_password")
    @classmethod
    def _refuse_placeholder(cls, value: str | None) -> str | None:
        if value is not None and (value.lower() in PLACEHOLDER_SECRETS or len(value) < 10):
            raise ValueError("VIGIE_ADMIN_PASSWORD must be at least 10 characters and not a placeholder")
        return value

    @field_validator("octopush_callback_key")
    @classmethod
    def _long_random_key(cls, value: str | None) -> str | None:
        # The key is all that tells Octopush's callbacks from a stranger's: a guessable one is refused.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{32,}", value):
            raise ValueError("VIGIE_OCTOPUSH_CALLBACK_KEY must be at least 32 letters, digits, '-' or '_' "
                             "(python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        return value

    @property
    def send_deadline_s(self) -> float:
        """One message's time to reach a provider (all SMS providers included), well within the lease."""
        return max(min(20.0, self.lease_seconds * 0.6), 0.5)

    @property
    def console_channels_only(self) -> bool:
        return not (self.sms_providers or self.smtp_url or self.fcm_credentials)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_file(self) -> str | None:
        """The database file, for SQLite on disk (None in memory or on PostgreSQL)."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[-1]
        return None if not path or path == ":memory:" else path

    @property
    def sqlalchemy_url(self) -> str:
        url = self.database_url
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
