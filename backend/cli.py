"""The `vigie` command: serve, worker, demo, db upgrade, openapi."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from backend.config import get_settings

log = logging.getLogger("vigie")

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vigie", description="Vigie — astreinte et escalade")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (and, by default, the worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-worker", action="store_true", help="API only; run `vigie worker` elsewhere")
    worker = sub.add_parser("worker", help="run a worker alone (any number of them)")
    worker.add_argument("--parent", type=int, help=argparse.SUPPRESS)  # leave when this process is gone
    demo = sub.add_parser("demo", help="load the demo commune")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when a commune already exists")
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    openapi = sub.add_parser("openapi", help="write openapi/openapi.json")
    openapi.add_argument("--output", type=Path, default=OPENAPI_PATH)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return {"serve": _serve, "worker": _worker, "demo": _demo, "db": _db, "openapi": _openapi}[args.command](args)


def _db(args) -> int:
    from backend.migrate import upgrade

    settings = get_settings()
    upgrade(settings.sqlalchemy_url)
    print(f"database up to date ({_safe_url(settings.database_url)})")
    sealed = _seal_clear_secrets(settings)
    if sealed:
        print(f"{sealed} webhook secret(s) sealed")
    return 0


def _seal_clear_secrets(settings) -> int:
    from backend.db import make_engine, make_session_factory, transaction
    from backend.runtime import session_info
    from backend.webhooks.service import seal_clear_secrets

    engine = make_engine(settings.sqlalchemy_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return seal_clear_secrets(db_session=session, sealer=session_info(settings)["sealer"])
    finally:
        engine.dispose()


def _demo(args) -> int:
    from backend import demo
    from backend.auth import service as auth_service
    from backend.db import make_engine, make_session_factory, transaction

    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url)
    with transaction(make_session_factory(engine)) as session:
        if demo.has_data(session):
            print("demo data: the database already has a commune, nothing loaded")
            return 0 if args.if_empty else 1
        # The demo's users would otherwise make the database look "already set up" and
        # VIGIE_ADMIN_EMAIL / VIGIE_ADMIN_PASSWORD would be ignored by `vigie serve`.
        auth_service.ensure_first_admin(db_session=session, email=settings.admin_email,
                                        password=settings.admin_password)
        info = demo.load(session)
    engine.dispose()
    print(f"demo data loaded: {info['commune']}")
    for role, email in info["logins"].items():
        print(f"  {role:9} {email} / {info['password']}")
    return 0


def _serve(args) -> int:
    import uvicorn

    from backend.app import create_app
    from backend.heap import freeze_startup_objects
    from backend.worker.supervisor import WorkerSupervisor

    settings = get_settings()
    if args.no_worker and settings.api_nice > 0:
        os.nice(settings.api_nice)  # the workers beside this process go first when the CPU is short
    run_worker = settings.run_worker and not args.no_worker
    supervisor = WorkerSupervisor() if run_worker and settings.worker_process else None

    def started() -> None:
        freeze_startup_objects()
        if supervisor is not None:  # once the schema is up to date
            supervisor.start()

    app = create_app(settings, run_worker=run_worker and supervisor is None, on_started=started)
    print(f"Vigie: http://{args.host}:{args.port}/  (API docs: http://{args.host}:{args.port}/docs)", flush=True)
    try:
        # Each live message is encoded once and sent to every console: compressing it again per
        # socket (permessage-deflate) cost more CPU than all the consoles' JSON on a storm night.
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", ws_per_message_deflate=False)
    finally:
        if supervisor is not None:
            supervisor.stop()
    return 0


def _worker(args) -> int:
    from backend.heap import freeze_startup_objects
    from backend.runtime import Runtime

    runtime = Runtime.build(get_settings())
    runtime.start_listener()
    worker = runtime.start_worker(standalone=True)
    freeze_startup_objects()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    print(f"worker {worker.worker_id} running", flush=True)
    while not stop.wait(1.0):
        if args.parent is not None and os.getppid() != args.parent:
            log.warning("the process that started this worker is gone: stopping")
            break
    runtime.close()
    return 0


def _openapi(args) -> int:
    from backend.app import create_app

    document = create_app().openapi()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {args.output}")
    return 0


def _safe_url(url: str) -> str:
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    sys.exit(main())
