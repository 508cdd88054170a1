"""The database layer: a statement past the timeout is cut off, on both databases."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.db import Database, timed_out, unavailable

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
