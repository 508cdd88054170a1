"""Engines, sessions and the metadata naming convention shared by models and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import create_engine

from app.recordset import recordset

SessionFactory = async_sessionmaker[AsyncSession]

# The primary keys are 32-bit: a larger id (or one below 1) names no row, and must not
# reach a driver, which would fail on it (SQLite overflows, asyncpg refuses an int4).
MAX_ID = 2**31 - 1


def can_name_a_row(row_id: int) -> bool:
    return 0 < row_id <= MAX_ID


def sync_url(database_url: str) -> URL:
    """The URL for blocking tools (alembic, seeding): plain sqlite or psycopg."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite")
    return url.set(drivername="postgresql+psycopg")


def async_url(database_url: str) -> URL:
    """The URL for the server: aiosqlite, or asyncpg, whichever PostgreSQL driver the
    configured URL names. asyncpg, measured against psycopg's async mode under the same
    requests, took 15 % less of the server's CPU (a third less per small statement)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    return url.set(drivername="postgresql+asyncpg")


def _ensure_sqlite_dir(url: URL) -> None:
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    # WAL lets readers proceed during a write; busy_timeout makes writers queue instead of failing.
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def make_sync_engine(database_url: str) -> Engine:
    url = sync_url(database_url)
    _ensure_sqlite_dir(url)
    engine = create_engine(url)
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


def _begin_immediate(engine: Engine) -> None:
    # A deferred SQLite transaction that reads and then writes fails at once with
    # SQLITE_BUSY_SNAPSHOT when another writer committed meanwhile; BEGIN IMMEDIATE
    # takes the write lock up front, so concurrent writers wait (busy_timeout) instead.
    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _interrupt_slow_statements(engine: Engine, seconds: float) -> None:
    """SQLite has no statement timeout: a progress handler interrupts a statement that
    runs past its deadline, which each statement sets as it starts."""

    @event.listens_for(engine, "connect")
    def _install(dbapi_connection, record):  # type: ignore[no-untyped-def]
        deadline = record.info["deadline"] = [math.inf]

        def past_deadline() -> int:
            return int(time.monotonic() > deadline[0])

        dbapi_connection.run_async(lambda conn: conn.set_progress_handler(past_deadline, 10_000))

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, *_args):  # type: ignore[no-untyped-def]
        conn.connection.info["deadline"][0] = time.monotonic() + seconds


def timed_out(exc: BaseException) -> bool:
    """Whether a database error is a statement cut off by the statement timeout."""
    text_of = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, DBAPIError) and (
        "statement timeout" in text_of or text_of.strip() == "interrupted"
    )


def write_conflict(exc: BaseException) -> bool:
    """Whether the database aborted the transaction for a concurrent one (deadlock or
    serialization failure): nothing was written, and the same request may simply retry."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in {"40P01", "40001"}


# Connection exceptions, no connection slot free, a server shutting down or starting up.
_UNAVAILABLE_STATE = re.compile(r"08...|53300|57P0[123]")


# What a database that is down, unreachable or saturated raises: see `unavailable`.
DATABASE_FAILURES = (DBAPIError, PoolTimeout)


def unavailable(exc: BaseException) -> bool:
    """Whether the database could not be reached, or no pooled connection came free in
    time (worth retrying shortly)."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError) or timed_out(exc) or write_conflict(exc):
        return False
    return (
        exc.connection_invalidated
        or isinstance(exc, OperationalError | InterfaceError)
        or _UNAVAILABLE_STATE.fullmatch(getattr(exc.orig, "sqlstate", None) or "") is not None
    )


def _wrap_connect_failures(engine: Engine) -> None:
    """asyncpg fails to connect with a bare OSError, which SQLAlchemy passes on unwrapped:
    raised as the driver's OperationalError it becomes a DBAPIError, like every other
    database failure."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, _record, cargs, cparams):  # type: ignore[no-untyped-def]
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as error:
            reason = str(error) or f"cannot connect ({type(error).__name__})"
            raise dialect.loaded_dbapi.OperationalError(reason, error) from error


class Database:
    """The async engines of one process: reads and writes share one engine except on
    SQLite, where writes go through an engine that begins transactions IMMEDIATE."""

    def __init__(
        self,
        database_url: str,
        *,
        statement_timeout_ms: int | None = None,
        pool_size: int = 10,
        pool_timeout: float = 30,
        # An unreachable host fails a request after this, not after asyncpg's 60 s.
        connect_timeout: float = 10,
    ) -> None:
        url = async_url(database_url)
        _ensure_sqlite_dir(url)
        self.dialect = url.get_backend_name()
        if self.dialect == "sqlite":
            self.engine = create_async_engine(url, connect_args={"timeout": 10})
            self.write_engine = create_async_engine(url, connect_args={"timeout": 10})
            for engine in (self.engine, self.write_engine):
                _configure_sqlite(engine.sync_engine)
                if statement_timeout_ms:
                    _interrupt_slow_statements(engine.sync_engine, statement_timeout_ms / 1000)
            _begin_immediate(self.write_engine.sync_engine)
        else:
            # JIT compiling pays off only for queries far longer than ours: measured, it
            # added 0.1–0.5 s to metric queries planned right after bulk loads. Sessions
            # run in UTC, whatever the server's default: a naive timestamp in a recordset
            # (app/recordset.py) is UTC, as everywhere in the schema.
            settings = {"jit": "off", "timezone": "UTC"} | (
                {"statement_timeout": str(statement_timeout_ms)} if statement_timeout_ms else {}
            )
            self.engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size // 2,
                pool_timeout=pool_timeout,
                # No ping per checkout (a quarter of a small request's CPU): a connection
                # found dead invalidates the pool, and that request is retryable.
                connect_args={"server_settings": settings, "timeout": connect_timeout},
            )
            _wrap_connect_failures(self.engine.sync_engine)
            self.write_engine = self.engine
        # PostgreSQL gives each statement of a READ COMMITTED transaction its own snapshot
        # anyway, so reads run in autocommit: no BEGIN and ROLLBACK round trips around them.
        reads = (
            self.engine
            if self.dialect == "sqlite"
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._reads: SessionFactory = async_sessionmaker(reads, expire_on_commit=False)
        self._writes: SessionFactory = async_sessionmaker(self.write_engine, expire_on_commit=False)
        # SQLite has one writer at a time, and a writer waiting for the lock polls it with
        # growing sleeps: under load, each process's writers queued there were overtaken
        # for over 10 s and failed. Queued here instead, in order, one per process polls.
        self._one_writer: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock() if self.dialect == "sqlite" else contextlib.nullcontext()
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short-lived session for queries; each resolver and loader gets its own."""
        async with self._reads() as session:
            yield session

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        async with self._one_writer, self._writes() as session, session.begin():
            yield session

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        return (
            (self.engine,)
            if self.write_engine is self.engine
            else (
                self.engine,
                self.write_engine,
            )
        )

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()


async def upsert(
    session: AsyncSession,
    table: Any,
    rows: list[dict[str, Any]],
    *,
    keys: list[str],
    update: list[str],
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE, in the dialect's own syntax."""
    if not rows:
        return
    stmt, parameters = bulk_insert(session, table, rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=keys, set_={column: stmt.excluded[column] for column in update}
        ),
        parameters,
    )


def bulk_insert(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> tuple[Any, Any]:
    """An INSERT of `rows` (all with the same keys) and its parameters, to execute, or to
    extend with ON CONFLICT first: on PostgreSQL one INSERT … SELECT from a recordset; on
    SQLite an executemany, which is a loop in C there."""
    if session.bind.dialect.name == "sqlite":
        return sqlite_insert(table), rows
    names = list(rows[0])
    return postgresql_insert(table).from_select(
        names, recordset([table.c[name] for name in names], rows)
    ), None


async def replace_tags(
    session: AsyncSession, owner: Any, owner_id: int, tags: Sequence[str]
) -> None:
    """Makes `owner` (a tag column's foreign key, e.g. UserTag.user_id) carry exactly `tags`."""
    table = owner.class_
    await session.execute(delete(table).where(owner == owner_id))
    unique = list(dict.fromkeys(tags))
    if unique:
        await session.execute(insert(table), [{owner.key: owner_id, "tag": tag} for tag in unique])


async def tags_by_owner(
    session: AsyncSession, owner: Any, owner_ids: Sequence[int]
) -> dict[int, list[str]]:
    """The tags of each owner in one query, sorted (`owner` as in `replace_tags`)."""
    table = owner.class_
    rows = await session.execute(
        select(owner, table.tag).where(owner.in_(owner_ids)).order_by(owner, table.tag)
    )
    tags: dict[int, list[str]] = defaultdict(list)
    for owner_id, tag in rows:
        tags[owner_id].append(tag)
    return tags
