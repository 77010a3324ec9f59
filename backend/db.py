"""Engine, sessions and the column types shared by every domain."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from backend.sqlite_writer import WriteGate, gate_for

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """This host's clock: for what no other process compares (metrics, logs). Deadlines and the
    trace use `db_now`."""
    return datetime.now(UTC)


_NOW_SQL = {"postgresql": "SELECT clock_timestamp()", "sqlite": "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"}


class db_clock(FunctionElement):
    """The database's clock inside a statement (`expires_at > db_clock()`), saving a round trip."""

    type = DateTime(timezone=True)
    inherit_cache = True


@compiles(db_clock, "postgresql")
def _db_clock_postgresql(_element, _compiler, **_kw) -> str:
    return "clock_timestamp()"


@compiles(db_clock, "sqlite")
def _db_clock_sqlite(_element, _compiler, **_kw) -> str:
    # Compares as text with the stored "YYYY-MM-DD HH:MM:SS.ffffff" (UTC).
    return "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def db_now(session: Session) -> datetime:
    """The database's clock, read once per transaction: what is due, and when things happened.

    Every process compares due times and stamps the trace with the same clock, so a host whose
    clock drifts (one bad NTP client among several workers) fires nothing early and nothing late.
    """
    cached = session.info.get("db_now")
    if cached is not None:
        return cached
    return keep_clock(session, session.scalar(text(_NOW_SQL[session.get_bind().dialect.name])))


def keep_clock(session: Session, value: datetime | str) -> datetime:
    """`db_clock()`'s value read beside something else (`type_coerce(db_clock(), String)`), kept as
    this transaction's `db_now`: one round trip fewer."""
    if isinstance(value, str):  # SQLite: "YYYY-MM-DD HH:MM:SS.SSS", in UTC
        value = datetime.fromisoformat(value)
    now = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    session.info["db_now"] = now
    return now


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (naive storage) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, pool_size: int = 10, max_overflow: int = 10,
                pool_timeout_s: float = 30.0, write_wait_s: float = 30.0) -> Engine:
    """An engine whose sessions read unless bound through `writer(engine)`.

    The pool is sized by the caller to the threads that use it, so a thread never waits for a
    connection in normal running; `pool_timeout_s` bounds the wait when it does (then `Busy`).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        memory = not path or path == ":memory:"
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
                               pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout_s)
        _tune_sqlite(engine, busy_timeout_ms, WriteGate() if memory else gate_for(path), write_wait_s)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout_s)
    _ping_when_idle(engine)
    return engine


PING_IDLE_S = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle for PING_IDLE_S or more.

    `pool_pre_ping` pings at every checkout: under a storm, a round trip more per request and per
    worker cycle (~7 % of the API's and the worker's time). A connection used a moment ago is
    alive; one that breaks in that moment (the server restarted) fails its statement, SQLAlchemy
    then discards the whole pool, and that one request is answered 503 (tried again by the phone).
    """
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _fresh(_dbapi_connection, record) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("checked_in_at", float("-inf")) < PING_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool drops this connection and takes another (or a new one)
            raise DisconnectionError() from exc


def writer(engine: Engine, *, worker: bool = False) -> Engine:
    """The same engine and pool, for transactions that write (on SQLite: the gate, then BEGIN IMMEDIATE)."""
    return engine.execution_options(vigie_write=True, vigie_worker=worker)


def _tune_sqlite(engine: Engine, busy_timeout_ms: int, gate: WriteGate, write_wait_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # A writer takes its turn at the gate, then the write lock up front (BEGIN IMMEDIATE): a
    # deferred transaction that upgrades to a writer can fail at once with "database is locked",
    # whatever the busy timeout. A reader begins a deferred transaction: in WAL mode it takes
    # no lock and never waits for a writer.
    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        options = conn.get_execution_options()
        if not options.get("vigie_write"):
            conn.exec_driver_sql("BEGIN")
            return
        holder = id(conn.connection.dbapi_connection)
        if not gate.held_by(holder):
            gate.acquire(holder, worker=bool(options.get("vigie_worker")), timeout=write_wait_s)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            gate.release(holder)
            raise

    # The turn ends when the connection goes back to the pool (after the COMMIT or ROLLBACK has
    # run), or when it is thrown away.
    def _release(dbapi_connection, *_args):
        gate.release(id(dbapi_connection))

    for name in ("checkin", "reset", "invalidate", "soft_invalidate", "close", "detach"):
        event.listen(engine, name, _release)


def make_session_factory(engine: Engine, *, worker: bool = False) -> sessionmaker[Session]:
    """Sessions that write (the default everywhere but request reads); `worker`: the worker's turn at the gate."""
    return sessionmaker(writer(engine, worker=worker), expire_on_commit=False, autoflush=True)


def make_read_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read: never the write lock on SQLite; a flush or a DML statement raises."""
    return sessionmaker(engine, expire_on_commit=False, autoflush=True, info={"read_only": True})


class ReadOnlySession(Exception):
    """A session opened to read tried to write: the caller must take a writing session."""


@event.listens_for(Session, "before_flush")
def _refuse_flush_when_reading(session: Session, _context, _instances) -> None:
    if session.info.get("read_only") and (session.new or session.dirty or session.deleted):
        raise ReadOnlySession("a read-only session tried to write")


@event.listens_for(Session, "do_orm_execute")
def _refuse_dml_when_reading(state) -> None:
    if state.session.info.get("read_only") and (state.is_insert or state.is_update or state.is_delete):
        raise ReadOnlySession("a read-only session tried to write")


_Row = TypeVar("_Row")


def get_held(session: Session, model: type[_Row], ident, *, options=()) -> _Row | None:
    """`session.get`, and the row kept until the transaction ends.

    The identity map holds rows weakly: a commune or a person read by each step of a group was
    gone, and read again, by the next step's turn. Kept for this transaction only (another process
    may change them between two).
    """
    row = held_row(session, model, ident)
    if row is None:
        row = session.get(model, ident, options=options)
        if row is not None:
            hold(session, row)
    return row


def hold(session: Session, row, *, key: str = "held_rows") -> None:
    """Keep `row` for `held_row` until this transaction ends."""
    session.info.setdefault(key, {})[(type(row), inspect(row).identity[0])] = row


def held_row(session: Session, model: type[_Row], ident, *, key: str = "held_rows", take: bool = False) -> _Row | None:
    """A row `hold` kept in this transaction, if it is still there (`take`: and no longer keep it)."""
    held = session.info.get(key)
    if not held:
        return None
    row = held.pop((model, ident), None) if take else held.get((model, ident))
    if row is None or not inspect(row).persistent or inspect(row).session is not session:
        return None
    return row


# Dropped with the transaction: what another process changes counts from the next one.
_HELD = ("held_rows", "locked_rows")


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's current transaction has committed (never on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


def after_rollback(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` if the session's current transaction is rolled back (never on commit)."""
    session.info.setdefault("after_rollback", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    session.info.pop("db_now", None)
    for key in _HELD:
        session.info.pop(key, None)
    session.info.pop("after_rollback", None)
    callbacks = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a live-update hiccup must never undo a committed change
            import logging

            logging.getLogger("vigie.db").exception("after-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop("db_now", None)
    for key in _HELD:
        session.info.pop(key, None)
    session.info.pop("after_commit", None)
    for callback in session.info.pop("after_rollback", []):
        callback()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work outside HTTP (worker, CLI): commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
