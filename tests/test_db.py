"""The database layer, on both databases: a statement past the timeout is cut off, and rows
passed as a recordset come back as they went in."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
import psycopg
import pytest
from sqlalchemy import Date, Integer, Numeric, column, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.db import Database, timed_out, unavailable
from app.recordset import recordset
from app.sqltypes import JSONType, UTCDateTime

SLOW = {
    # An endless recursive count: only the timeout ends it.
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
    "postgresql": "SELECT pg_sleep(10)",
}


async def test_a_statement_past_the_timeout_is_cut_off_and_the_connection_survives(
    database_url: str, backend: str
) -> None:
    db = Database(database_url, statement_timeout_ms=300)
    try:
        started = time.monotonic()
        async with db.read() as session:
            with pytest.raises(DBAPIError) as failure:
                await session.execute(text(SLOW[backend]))
        assert time.monotonic() - started < 5
        assert timed_out(failure.value)
        assert not unavailable(failure.value)
        async with db.read() as session:
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await db.dispose()


async def test_an_unreachable_database_is_reported_as_unavailable() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:9/none", statement_timeout_ms=300)
    try:
        with pytest.raises(DBAPIError) as failure:
            async with db.read() as session:
                await session.execute(text("SELECT 1"))
        assert unavailable(failure.value)
        assert not timed_out(failure.value)
    finally:
        await db.dispose()


async def test_a_connection_the_postgresql_server_ends_is_reported_as_unavailable(
    new_database_url: Any,
) -> None:
    db = Database(new_database_url("postgresql", "terminated_connection"))
    try:
        async with db.read() as session:
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            async with db.read() as other:
                assert await other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(DBAPIError) as failure:
                await session.execute(text("SELECT 1"))
        assert unavailable(failure.value)
        async with db.read() as session:  # the pool replaced the dead connection
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await db.dispose()


async def test_a_server_that_never_answers_is_unavailable_after_the_connect_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        db = Database(f"postgresql://nobody@127.0.0.1:{port}/none", connect_timeout=0.5)
        started = time.monotonic()
        try:
            with pytest.raises(DBAPIError) as failure:
                async with db.read() as session:
                    await session.execute(text("SELECT 1"))
        finally:
            await db.dispose()
    assert 0.5 <= time.monotonic() - started < 5
    assert unavailable(failure.value)
    assert "TimeoutError" in str(failure.value)


async def test_waiting_too_long_for_a_pooled_connection_is_unavailable(
    new_database_url: Any,
) -> None:
    db = Database(new_database_url("postgresql", "saturated_pool"), pool_size=1, pool_timeout=0.2)
    try:
        async with db.read() as holder:
            await holder.execute(text("SELECT 1"))  # holds the pool's only connection
            with pytest.raises(PoolTimeout) as failure:
                async with db.read() as session:
                    await session.execute(text("SELECT 1"))
        assert unavailable(failure.value)
        async with db.read() as session:  # free again
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    ("failure", "retryable"),
    [
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), True),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
    ],
)
def test_asyncpg_failures_are_unavailable_by_their_sqlstate(
    failure: Exception, retryable: bool
) -> None:
    # As the asyncpg dialect raises them: a server starting up refuses connections with
    # 57P03, which is neither an OperationalError nor an invalidated connection.
    dbapi = postgresql.asyncpg.dialect.import_dbapi()
    raised = DBAPIError("SELECT 1", None, dbapi.Error(str(failure), failure))
    assert unavailable(raised) is retryable


@pytest.fixture
def local_time_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's clock in New York, so a naive time taken as local would show."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_time_in_new_york")
async def test_a_recordset_gives_back_what_went_in_on_both_databases(db: Database) -> None:
    columns = [
        column("n", Integer),
        column("day", Date),
        column("at", UTCDateTime()),
        column("amount", Numeric(14, 2)),
        column("doc", JSONType),
    ]
    shanghai = timezone(timedelta(hours=8))
    rows = [
        # A naive time is UTC, as everywhere in the schema; an aware one is converted.
        {
            "n": 1,
            "day": date(2026, 3, 1),
            "at": datetime(2026, 3, 1, 8, 30),
            "amount": Decimal("9.50"),
            "doc": "just a string",
        },
        {
            "n": 2,
            "day": date(2026, 3, 2),
            "at": datetime(2026, 3, 2, 8, 30, tzinfo=shanghai),
            "amount": None,
            "doc": {"k": [1, "二"]},
        },
    ]
    async with db.read() as session:
        found = (await session.execute(recordset(columns, rows).order_by("n"))).all()
    assert [tuple(row) for row in found] == [
        (
            1,
            date(2026, 3, 1),
            datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
            Decimal("9.50"),
            "just a string",
        ),
        (2, date(2026, 3, 2), datetime(2026, 3, 2, 0, 30, tzinfo=UTC), None, {"k": [1, "二"]}),
    ]


async def test_postgresql_sessions_read_naive_times_as_utc_whatever_the_server_default(
    new_database_url: Any,
) -> None:
    url = new_database_url("postgresql", "shanghai_default")
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute("ALTER DATABASE shanghai_default SET timezone TO 'Asia/Shanghai'")
    db = Database(url)
    try:
        at = column("at", UTCDateTime())
        async with db.read() as session:
            found = await session.scalar(recordset([at], [{"at": datetime(2026, 3, 1, 8, 30)}]))
        assert found == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    finally:
        await db.dispose()
