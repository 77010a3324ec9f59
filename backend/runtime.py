"""Everything a process holds: engine, sessions, signals, live hub, worker, listener."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import backend.models  # noqa: F401  (every mapper registered before the first flush)
from backend.auth.renewals import TokenRenewals
from backend.bus import LocalBus, bus_directory
from backend.channels import build_registry, vapid_keys
from backend.config import Settings
from backend.db import make_engine, make_read_factory, make_session_factory
from backend.inbound.together import TakenTogether
from backend.keys import load_or_create_secret
from backend.links.signing import LinkSigner
from backend.live.access import AccessWatch
from backend.live.hub import Hub
from backend.live.pg_listener import PgListener, libpq_dsn
from backend.outbox.service import OutboxPolicy
from backend.ratelimit import RateLimits
from backend.sealing import Sealer
from backend.signals import MESSAGES, WEBHOOKS, Signals
from backend.worker.dispatcher import DEFAULT_LIMITS
from backend.worker.engine import Worker
from notifications.base import ChannelKind
from notifications.registry import ChannelRegistry

log = logging.getLogger("vigie")


def session_info(settings: Settings, signals: Signals | None = None) -> dict:
    """What every session of an installation carries: where its files are kept, the signer of one-tap links,
    the outbox's policy and, in a running process, the signals its commits raise."""
    secret = settings.secret_key or load_or_create_secret(settings.var_dir / "secret.key")
    return {"signals": signals, "var_dir": settings.var_dir,
            "links": LinkSigner(secret, settings.public_url, timedelta(hours=settings.link_ttl_hours)),
            "sealer": Sealer(secret, settings.previous_secret_keys),
            "outbox_policy": OutboxPolicy(push_fallback_seconds=settings.push_fallback_seconds,
                                          sms_flood_limit=settings.sms_flood_limit,
                                          voice=bool(settings.voice_providers),
                                          voice_ring_s=settings.voice_ring_s)}


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]  # transactions that write (requests other than GET, start-up)
    read_factory: sessionmaker[Session]  # transactions that only read (GET, authentication, live feed)
    signals: Signals
    channels: ChannelRegistry
    hub: Hub | None = None
    access: AccessWatch | None = None
    renewals: TokenRenewals | None = None  # phones' device tokens, renewed together
    callbacks: TakenTogether | None = None  # the SMS providers' callbacks, written together
    rate_limits: RateLimits | None = None  # the API's: login, inbound callbacks, links, enrolment
    worker: Worker | None = None
    listener: PgListener | LocalBus | None = None  # signals from the other processes
    links: LinkSigner | None = None
    vapid: object | None = None  # notifications.webpush.VapidKeys when Web Push is on
    worker_engine: Engine | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, channels: ChannelRegistry | None = None) -> Runtime:
        # Every request thread may hold one connection, plus the live feed's and the health
        # checks' reads: sized so, no request thread ever waits for a connection.
        engine = make_engine(settings.sqlalchemy_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                             pool_size=settings.request_threads + 8, max_overflow=4,
                             pool_timeout_s=settings.db_pool_timeout_s, write_wait_s=settings.write_wait_s)
        signals = Signals(use_pg_notify=not settings.is_sqlite)
        signals.install()
        info = session_info(settings, signals)
        links = info["links"]
        factory = make_session_factory(engine)
        factory.configure(info={**info, "read_bind": engine})
        read_factory = make_read_factory(engine)
        read_factory.configure(info={**info, "read_only": True})
        return cls(settings=settings, engine=engine, session_factory=factory, read_factory=read_factory,
                   signals=signals, channels=channels or build_registry(settings), links=links,
                   vapid=vapid_keys(settings) if settings.webpush_enabled else None)

    def worker_session_factories(self) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
        """The worker's own pool (writing, reading), so a burst of requests never leaves it without a
        connection; on SQLite it takes the write turn in alternation with the requests."""
        if self.worker_engine is None:
            self.worker_engine = make_engine(self.settings.sqlalchemy_url,
                                             busy_timeout_ms=self.settings.sqlite_busy_timeout_ms,
                                             pool_size=6, max_overflow=4,
                                             write_wait_s=self.settings.sqlite_busy_timeout_ms / 1000)
        factory = make_session_factory(self.worker_engine, worker=True)
        factory.configure(info=dict(self.session_factory.kw["info"], read_bind=None))
        return factory, make_read_factory(self.worker_engine)

    def start_worker(self, *, standalone: bool = False) -> Worker:
        max_sleep = self.settings.max_sleep_seconds
        if standalone and self.settings.is_sqlite:
            max_sleep = min(max_sleep, 1.0)  # a lost datagram of the local bus costs a second at most
        factory, read_factory = self.worker_session_factories()
        self.worker = Worker(session_factory=factory, read_factory=read_factory, channels=self.channels,
                             lease_seconds=self.settings.lease_seconds, max_sleep_seconds=max_sleep,
                             batch=self.settings.claim_batch, max_attempts=self.settings.notification_retry_max,
                             sms_flood_limit=self.settings.sms_flood_limit,
                             send_deadline_s=self.settings.send_deadline_s,
                             retention_months=self.settings.delivery_retention_months,
                             webhook_deadline_s=self.settings.webhook_timeout_s,
                             webhook_networks=self.settings.webhook_internal_networks,
                             send_limits={**DEFAULT_LIMITS, **{ChannelKind(k): v for k, v in
                                                               self.settings.send_limits.items()}})
        self.signals.on_wake(self.worker.dispatcher.wake, MESSAGES)
        self.signals.on_wake(self.worker.webhooks.wake, WEBHOOKS)
        self.signals.on_steps_due(self.worker.wake_steps_before)
        return self.worker

    def start_listener(self) -> None:
        """Hear what the other processes on the database commit (none for SQLite in memory)."""
        if self.listener is not None:
            return
        if not self.settings.is_sqlite:
            self.listener = PgListener(libpq_dsn(self.settings.sqlalchemy_url), self.signals)
        elif self.settings.sqlite_file is not None:
            self.listener = LocalBus(bus_directory(self.settings.sqlite_file), self.signals)
        else:
            return
        self.listener.start()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.listener is not None:
            self.listener.stop()
        self.engine.dispose()
        if self.worker_engine is not None:
            self.worker_engine.dispose()
