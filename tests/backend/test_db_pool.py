"""PostgreSQL's pool: a connection is checked before use only when it sat idle, and one the server
dropped meanwhile is replaced without the request seeing it."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from backend import db
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="the pool's ping is PostgreSQL's")


@pytest.fixture
def engine(database_url):
    engine = db.make_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine, monkeypatch):
    seen = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection):
        seen.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return seen


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT pg_backend_pid()"))


def test_a_connection_used_a_moment_ago_is_not_pinged_again(engine, pings):
    first = backend_pid(engine)
    assert [backend_pid(engine) for _ in range(5)] == [first] * 5
    assert pings == []


def test_a_connection_the_server_dropped_while_idle_is_replaced_unseen(engine, pings, database_url, monkeypatch):
    dropped = backend_pid(engine)
    killer = create_engine(database_url)
    with killer.connect() as connection:  # as a restart of the server would
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    killer.dispose()
    monkeypatch.setattr(db, "PING_IDLE_S", 0.0)  # it has been idle long enough to be checked

    again = backend_pid(engine)

    assert again != dropped
    assert len(pings) >= 1
