"""The application factory: everything is built in the lifespan, nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from backend import exception_handlers, log_redaction
from backend.alerttests.router import router as alerttests_router
from backend.archive.router import router as archive_router
from backend.attachments.router import router as attachments_router
from backend.auth import service as auth_service
from backend.auth.renewals import TokenRenewals
from backend.auth.router import router as auth_router
from backend.backpressure import PendingLimit
from backend.calendars.router import router as calendars_router
from backend.calls.router import router as calls_router
from backend.cap.router import router as cap_router
from backend.config import Settings, get_settings
from backend.coverage.router import router as coverage_router
from backend.db import transaction
from backend.devices.router import router as devices_router
from backend.directory.router import router as directory_router
from backend.directory.upload_limit import DirectoryUploadLimit
from backend.enrolment.router import router as enrolment_router
from backend.errors import ERROR_RESPONSES
from backend.events.router import router as events_router
from backend.groups.router import router as groups_router
from backend.inbound.octopush import router as octopush_router
from backend.inbound.router import router as inbound_router
from backend.inbound.smseagle import router as smseagle_router
from backend.inbound.together import TakenTogether
from backend.inbound.twilio import router as twilio_router
from backend.inbound.vonage import router as vonage_router
from backend.integrations.body_limit import IngestBodyLimit
from backend.integrations.router import router as integrations_router
from backend.kpis.router import router as kpis_router
from backend.links.router import router as links_router
from backend.live.access import AccessWatch
from backend.live.hub import Hub
from backend.live.router import router as live_router
from backend.oncall.router import router as oncall_router
from backend.ops.router import router as ops_router
from backend.orgs.router import router as orgs_router
from backend.payroll.router import router as payroll_router
from backend.people.router import router as people_router
from backend.privacy.router import router as privacy_router
from backend.procedures.router import router as procedures_router
from backend.ratelimit import RateLimits
from backend.reports.router import router as reports_router
from backend.runtime import Runtime
from backend.schedule.router import router as schedule_router
from backend.security_headers import SecurityHeaders
from backend.users.router import router as users_router
from backend.voice.router import router as voice_router
from backend.watch.router import router as watch_router
from backend.webhooks.router import router as webhooks_router
from notifications.registry import ChannelRegistry

log = logging.getLogger("vigie")

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
ROUTERS = (
    auth_router, oncall_router, attachments_router, events_router, live_router, ops_router, orgs_router,
    people_router, groups_router, procedures_router, users_router, devices_router, enrolment_router,
    inbound_router, twilio_router, vonage_router, octopush_router, smseagle_router, links_router, schedule_router,
    coverage_router, watch_router, calendars_router,
    calls_router, kpis_router, reports_router, archive_router, payroll_router, privacy_router,
    directory_router, alerttests_router, webhooks_router, integrations_router, voice_router, cap_router,
)


def create_app(settings: Settings | None = None, *, channels: ChannelRegistry | None = None,
               run_worker: bool | None = None, on_started: Callable[[], None] | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        log_redaction.install()
        runtime = Runtime.build(settings, channels)
        app.state.runtime = runtime
        runtime.rate_limits = RateLimits(settings.rate_limit_storage, settings.rate_limits)
        with transaction(runtime.session_factory) as session:
            if auth_service.ensure_first_admin(db_session=session, email=settings.admin_email,
                                               password=settings.admin_password):
                log.info("first admin %s created", settings.admin_email)
        # Requests doing database work at once: the engine's pool has a connection for each.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        runtime.hub = Hub(runtime.read_factory, tail=settings.is_sqlite)
        await runtime.hub.start()
        runtime.signals.on_trace(runtime.hub.notify_threadsafe)
        runtime.signals.on_changed(runtime.hub.notify_changed_threadsafe)
        runtime.access = AccessWatch(runtime.read_factory, every_s=settings.live_recheck_s)
        await runtime.access.start()
        runtime.renewals = TokenRenewals(runtime.session_factory, lifetime=timedelta(days=settings.device_token_days))
        await runtime.renewals.start()
        runtime.callbacks = TakenTogether(runtime.session_factory)
        runtime.callbacks.start()
        runtime.signals.on_changed(runtime.access.on_changed)
        runtime.start_listener()
        if settings.run_worker if run_worker is None else run_worker:
            runtime.start_worker().start()
        if on_started is not None:
            on_started()
        try:
            yield
        finally:
            await runtime.access.stop()
            await runtime.renewals.stop()
            await anyio.to_thread.run_sync(runtime.callbacks.stop)
            await runtime.hub.stop()
            runtime.close()

    app = FastAPI(title="Vigie", version="0.1.0", lifespan=lifespan,
                  description="Astreinte: alertes, acquittements et escalade automatique.")
    exception_handlers.install(app)
    for router in ROUTERS:  # in any order: no route answers for another's path
        app.include_router(router, responses=ERROR_RESPONSES)
    app.add_middleware(GZipMiddleware, minimum_size=512)
    app.add_middleware(PendingLimit, limit=settings.max_pending_requests)
    app.add_middleware(DirectoryUploadLimit)
    app.add_middleware(IngestBodyLimit)
    # Outermost: the 503s of back-pressure carry the headers too.
    app.add_middleware(SecurityHeaders, hsts=settings.public_url.startswith("https://"))

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/console/")

    for face in ("app", "console"):
        folder = PWA_DIR / face
        if folder.is_dir():
            app.add_api_route(f"/{face}", _slash(face), include_in_schema=False)
            app.mount(f"/{face}", StaticFiles(directory=folder, html=True), name=face)

    return app


def _slash(face: str):
    def redirect():
        return RedirectResponse(f"/{face}/")

    return redirect
