"""The benchmark's questions for DuckDB, answered from the raw events in Parquet (no rollup):
the speed of light for this data on one machine."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

COLUMNS = {
    "users": {"id": "BIGINT", "tier": "VARCHAR", "signed_up_at": "TIMESTAMPTZ"},
    "events": {
        "user_id": "BIGINT",
        "name": "VARCHAR",
        "occurred_at": "TIMESTAMPTZ",
        "duration_seconds": "BIGINT",
        "revenue": "DECIMAL(14, 2)",
    },
}


@dataclass(frozen=True)
class Question:
    sql: str
    shape: Callable[[list[tuple[Any, ...]]], Any]  # rows → the answer the services give


def _d(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def active_users(first: date, last: date) -> Question:
    return Question(
        f"SELECT count(DISTINCT user_id) FROM events WHERE day BETWEEN {_d(first)} AND {_d(last)}",
        lambda rows: rows[0][0],
    )


def rolling_active(first: date, last: date, window: int) -> Question:
    """The fastest form found for DuckDB (a range join with count(DISTINCT) takes ~10× as
    long): each user's first day in a window enters it, as the rollup's gap_days does."""
    start = first - timedelta(days=window - 1)
    return Question(
        f"""
        WITH active AS (
            SELECT DISTINCT user_id, day FROM events WHERE day BETWEEN {_d(start)} AND {_d(last)}
        ), gaps AS (
            SELECT day, day - lag(day) OVER (PARTITION BY user_id ORDER BY day) AS gap
            FROM active
        ), changes AS (
            SELECT day + CAST({window} - least(coalesce(gap, {window}), {window}) AS INTEGER)
                AS step_day, 1 AS change
            FROM gaps
            UNION ALL
            SELECT day + {window}, -1 FROM gaps
        ), steps AS (
            SELECT step_day, sum(change) AS change FROM changes GROUP BY step_day
        ), points AS (
            SELECT CAST(range AS DATE) AS point
            FROM range({_d(start)}, {_d(last + timedelta(days=1))}, INTERVAL 1 DAY)
        ), running AS (
            SELECT point, sum(coalesce(change, 0)) OVER (ORDER BY point) AS users
            FROM points LEFT JOIN steps ON steps.step_day = points.point
        )
        SELECT point, users FROM running WHERE point >= {_d(first)} ORDER BY point
        """,
        lambda rows: [int(users) for _, users in rows],
    )


def retention(cohort_from: date, cohort_to: date, days: list[int]) -> Question:
    return Question(
        f"""
        WITH cohort AS (
            SELECT id AS user_id, signup_day FROM users
            WHERE signup_day BETWEEN {_d(cohort_from)} AND {_d(cohort_to)}
        ), active AS (
            SELECT DISTINCT user_id, day FROM events
            WHERE day BETWEEN {_d(cohort_from)} AND {_d(cohort_to + timedelta(days=max(days)))}
        ), n AS (SELECT unnest({days}) AS n)
        SELECT c.signup_day, n.n, count(*) FROM cohort c CROSS JOIN n
        JOIN active a ON a.user_id = c.user_id AND a.day = c.signup_day + n.n
        GROUP BY 1, 2
        """,
        lambda rows: sorted(rows),
    )


def churn(first: date, last: date, inactivity_days: int) -> Question:
    return Question(
        f"""
        WITH start AS (
            SELECT DISTINCT user_id FROM events
            WHERE day BETWEEN {_d(first - timedelta(days=inactivity_days))} AND {_d(first - timedelta(days=1))}
        ), back AS (
            SELECT DISTINCT user_id FROM events WHERE day BETWEEN {_d(first)} AND {_d(last)}
        )
        SELECT count(*), count(*) FILTER (WHERE back.user_id IS NULL)
        FROM start LEFT JOIN back USING (user_id)
        """,
        lambda rows: tuple(rows[0]),
    )


# The local day of each timestamp, computed once at export as the rollup does at ingestion,
# so DuckDB's timings are its aggregations alone.
LOCAL_DAYS = {"users": ("signed_up_at", "signup_day"), "events": ("occurred_at", "day")}


def to_parquet(csv_path: Path, parquet_path: Path, tz: ZoneInfo) -> None:
    columns = COLUMNS[csv_path.stem]
    timestamp, day = LOCAL_DAYS[csv_path.stem]
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            f"COPY (SELECT *, CAST(timezone('{tz.key}', {timestamp}) AS DATE) AS {day} "
            f"FROM read_csv('{csv_path}', header = true, columns = {columns})) "
            f"TO '{parquet_path}' (FORMAT parquet)"
        )


def time_questions(
    directory: Path, questions: dict[str, Question | None], runs: int
) -> dict[str, tuple[float, Any]]:
    """Per question that DuckDB has: (median ms, answer)."""
    timings = {}
    with duckdb.connect() as connection:
        for table in ("users", "events"):
            connection.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{directory / table}.parquet')"
            )
        for name, question in questions.items():
            if question is None:
                continue
            samples, rows = [], []
            for _ in range(runs + 1):
                started = time.perf_counter()
                rows = connection.execute(question.sql).fetchall()
                samples.append(time.perf_counter() - started)
            timings[name] = (statistics.median(samples[1:]) * 1000, question.shape(rows))
    return timings
