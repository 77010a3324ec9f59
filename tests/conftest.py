"""Shared fixtures: a real database built from the migrations (SQLite, or PostgreSQL when
VIGIE_TEST_DATABASE_URL points at one), emptied before each test, and an app on top."""

from __future__ import annotations

import os
import shutil

import pytest
from sqlalchemy import create_engine, text

from backend.config import Settings
from backend.migrate import upgrade

PG_URL = os.environ.get("VIGIE_TEST_DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith("postgres")


def _pg_url() -> str:
    url = PG_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> str:
    """Migrate once per session: a SQLite template file, or the PostgreSQL schema."""
    if ON_POSTGRES:
        engine = create_engine(_pg_url())
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade(_pg_url())
        return _pg_url()
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(migrated_template, tmp_path) -> str:
    if ON_POSTGRES:
        engine = create_engine(migrated_template)
        with engine.begin() as conn:
            tables = [r[0] for r in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return migrated_template
    path = tmp_path / "vigie.db"
    shutil.copy(migrated_template, path)
    return f"sqlite:///{path}"


INBOUND_SECRET = "test-inbound-secret-0123456789"


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(DATABASE_URL=database_url, var_dir=tmp_path / "var", run_worker=False,
                    max_sleep_seconds=5.0, lease_seconds=5.0, sms_inbound_secret=INBOUND_SECRET)


@pytest.fixture
def recording_channels():
    from notifications.base import ChannelKind
    from notifications.recording import RecordingChannel
    from notifications.registry import ChannelRegistry

    registry = ChannelRegistry()
    for kind in ChannelKind:
        registry.register(RecordingChannel(kind))
    return registry


@pytest.fixture
def make_client(settings, recording_channels):
    """Start the app (lifespan included); `worker=True` runs the in-process worker."""
    from fastapi.testclient import TestClient

    from backend.app import create_app

    clients = []

    def _make(*, worker: bool = False, channels=None):
        app = create_app(settings, channels=channels or recording_channels, run_worker=worker)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def runtime(client):
    return client.app.state.runtime


@pytest.fixture
def world(runtime):
    """A métropole serving two communes, a second métropole (another tenant), people, groups, users."""
    from tests.factories import build_world

    return build_world(runtime.session_factory)


@pytest.fixture
def h(client, world):
    """Bearer headers by role of the world (`h("operator")`), one login each."""
    from tests.factories import login

    cache = {}

    def headers(role: str) -> dict:
        if role not in cache:
            cache[role] = login(client, world.users[role])
        return cache[role]

    return headers


def pytest_report_header(config):
    return f"vigie test database: {'PostgreSQL ' + PG_URL if ON_POSTGRES else 'SQLite (file per test)'}"
