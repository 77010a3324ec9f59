"""Health and metrics for the people who run Vigie."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import func, select, text

from backend.config import Settings
from backend.db import db_now
from backend.deps import SettingsDep
from backend.errors import Unauthorized
from backend.outbox.models import Notification, NotificationStatus
from backend.pages.models import Page
from backend.ratelimit import client_address
from backend.routing import OneHopRoute
from backend.worker.engine import last_cycle_age
from escalation.planner import PageStatus

router = APIRouter(route_class=OneHopRoute, tags=["ops"])

QUEUE_DEPTH = Gauge("vigie_queue_depth", "Due items waiting", ["kind"])
OLDEST_DUE_LAG = Gauge("vigie_oldest_due_lag_seconds", "How late the oldest due item is", ["kind"])
WORKER_AGE = Gauge("vigie_worker_last_cycle_age_seconds", "Seconds since any worker last completed a cycle")

WORKER_STALE_S = 60.0


def _snapshot(session) -> dict:
    now = db_now(session)
    out = {}
    for kind, model, pending in (("pages", Page, Page.status == PageStatus.ACTIVE),
                                 ("notifications", Notification, Notification.status == NotificationStatus.QUEUED)):
        depth, oldest = session.execute(
            select(func.count(model.id), func.min(model.due_at)).where(pending, model.due_at <= now)).one()
        out[kind] = {"due": depth, "lag_s": max((now - oldest).total_seconds(), 0.0) if oldest else 0.0}
    out["worker_last_cycle_age_s"] = last_cycle_age(session, now)
    return out


@router.get("/healthz")
def healthz(request: Request):
    factory = request.app.state.runtime.read_factory
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
            snapshot = _snapshot(session)
            session.rollback()
    except Exception as exc:  # the point of a health check is to say so, not to crash
        return JSONResponse({"status": "error", "database": "unreachable", "detail": type(exc).__name__},
                            status_code=503)
    age = snapshot["worker_last_cycle_age_s"]
    healthy = age is not None and age < WORKER_STALE_S
    return JSONResponse({"status": "ok" if healthy else "degraded", "database": "ok", **snapshot},
                        status_code=200 if healthy else 503)


@router.get("/metrics", response_class=Response, responses={
    200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
    401: {"description": "no metrics token, and not from an allowed address"}})
def metrics(request: Request, settings: SettingsDep):
    _may_read_metrics(request, settings)
    factory = request.app.state.runtime.read_factory
    with factory() as session:
        snapshot = _snapshot(session)
        session.rollback()
    for kind in ("pages", "notifications"):
        QUEUE_DEPTH.labels(kind).set(snapshot[kind]["due"])
        OLDEST_DUE_LAG.labels(kind).set(snapshot[kind]["lag_s"])
    age = snapshot["worker_last_cycle_age_s"]
    WORKER_AGE.set(-1 if age is None else age)  # -1: no worker has ever cycled
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _may_read_metrics(request: Request, settings: Settings) -> None:
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if settings.metrics_token and hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
        return
    if client_address(request) in settings.metrics_allow_from:
        return
    raise Unauthorized("the metrics need the bearer token VIGIE_METRICS_TOKEN, or a request from an allowed address",
                       code="metrics_unauthorized")
