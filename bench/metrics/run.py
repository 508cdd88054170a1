"""Times the activity metrics on 1M events (20,000 users, 180 days) on SQLite, optionally
PostgreSQL, beside DuckDB answering the same questions from the raw events in Parquet.

    python -m bench.metrics [--events N] [--postgres URL | --postgres-server] [--runs 5]

Events go in through the events service in batches, so the rollup is kept by the real
ingestion path (late events included). Each figure is the median of --runs runs after one
warm-up; every engine's answers are checked against the others before anything is timed.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

import app.models  # noqa: F401  (every table, for foreign keys across domains)
from app.__main__ import migrate
from app.db import Database
from app.events.models import Event
from app.events.service import track_events
from app.metrics import activity, retention, rollup
from app.metrics.periods import Period, Window, today
from app.settings import Settings
from app.users.models import User
from bench.metrics import duck
from bench.metrics.data import BATCH, Plan, batches, user_rows
from tests.postgres_server import start_postgres

Question = Callable[[AsyncSession], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    name: str
    ask: Question  # through the metrics services
    answer: Callable[[Any], Any]  # the service result as DuckDB's question shapes it
    duck: duck.Question | None = None  # the same question for DuckDB, if it has one


def cases(plan: Plan, now: date) -> list[Case]:
    last, tz = now - timedelta(days=1), plan.tz
    month_start, series_start = last - timedelta(days=29), last - timedelta(days=89)
    cohort_from, cohort_to = last - timedelta(days=59), last - timedelta(days=30)
    found = [
        Case(
            "DAU (one day)",
            lambda s: activity.active_users(s, None, day=last, window=Window.DAY, today=now),
            lambda a: a.users,
            duck.active_users(last, last),
        ),
        Case(
            "MAU (30 days)",
            lambda s: activity.active_users(s, None, day=last, window=Window.MONTH, today=now),
            lambda a: a.users,
            duck.active_users(month_start, last),
        ),
        Case(
            "MAU series, 90 daily points",
            lambda s: activity.active_users_series(
                s,
                None,
                first=series_start,
                last=last,
                window=Window.MONTH,
                granularity=Period.DAY,
                today=now,
            ),
            lambda a: [p.users for p in a],
            duck.rolling_active(series_start, last, 30),
        ),
        Case(
            "retention, 30 cohorts x D1/D7/D30",
            lambda s: retention.retention(
                s,
                None,
                cohort_from=cohort_from,
                cohort_to=cohort_to,
                retention_days=[1, 7, 30],
                tz=tz,
                today=now,
            ),
            lambda a: sorted(
                (c.cohort_date, c.day, c.retained) for r in a.cohorts for c in r.cells if c.retained
            ),
            duck.retention(cohort_from, cohort_to, [1, 7, 30]),
        ),
        Case(
            "churn, 30 days after 30",
            lambda s: retention.churn(s, None, first=month_start, last=last, today=now),
            lambda a: (a.start_users, a.churned),
            duck.churn(month_start, last, 30),
        ),
        Case(
            "stickiness distribution, 30 days",
            lambda s: activity.stickiness_distribution(s, None, first=month_start, last=last),
            lambda a: a.active_users,
        ),
        Case(
            "lifecycle, 12 weeks",
            lambda s: activity.lifecycle(
                s,
                None,
                first=last - timedelta(weeks=11),
                last=last,
                granularity=Period.WEEK,
                tz=tz,
                today=now,
            ),
            lambda a: [i.active for i in a],
        ),
    ]
    if importlib.util.find_spec("app.metrics.report") is None:  # the customer metrics' report
        return found
    from app.metrics import report

    found.append(
        Case(
            "monthly report (and the month before)",
            lambda s: report.report(s, None, period=Period.MONTH, day=last, tz=tz, today=now),
            lambda a: a.lines["active_users"].value,
        )
    )
    return found


async def load(database_url: str, plan: Plan, label: str) -> None:
    """Migrates a fresh database and fills it: users directly, events through ingestion."""
    migrate(Settings(database_url=database_url))
    db = Database(database_url)
    try:
        await rollup.ensure_rollup(db, plan.tz.key)  # so ingestion keeps it from the start
        users = user_rows(plan)
        async with db.unit_of_work() as session:
            for start in range(0, len(users), 5000):
                await session.execute(insert(User), users[start : start + 5000])
        with tqdm(total=plan.events, desc=f"{label} events", unit=" ev", unit_scale=True) as bar:
            for batch in batches(plan):
                async with db.unit_of_work() as session:
                    result = await track_events(
                        session,
                        events=batch,
                        idempotency_key=None,
                        api_key_id=None,
                        max_batch=BATCH,
                    )
                assert not result.rejected, result.rejected[:3]
                bar.update(len(batch))
        # Statistics, and on PostgreSQL the visibility map that index-only scans need, as
        # autovacuum would have them on a live database.
        async with db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            vacuum = "VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE"
            await autocommit.execute(text(vacuum))
    finally:
        await db.dispose()


async def export(database_url: str, directory: Path, tz: ZoneInfo) -> None:
    """The raw users and events as Parquet files, through CSV and DuckDB."""
    db = Database(database_url)
    tables = {
        "users": select(User.id, User.tier, User.signed_up_at),
        "events": select(
            Event.user_id, Event.name, Event.occurred_at, Event.duration_seconds, Event.revenue
        ),
    }
    try:
        for name, stmt in tables.items():
            path = directory / f"{name}.csv"
            async with db.read() as session:
                rows = await session.stream(stmt.execution_options(yield_per=50_000))
                with path.open("w", newline="") as out:
                    writer = csv.writer(out)
                    writer.writerow(stmt.selected_columns.keys())
                    async for partition in rows.partitions():
                        writer.writerows(partition)
            duck.to_parquet(path, directory / f"{name}.parquet", tz)
            path.unlink()
    finally:
        await db.dispose()


async def time_cases(database_url: str, plan: Plan, now: date, runs: int) -> dict[str, Any]:
    """Per case: (median ms, comparable answer)."""
    db = Database(database_url)
    timings: dict[str, Any] = {}
    try:
        for case in tqdm(cases(plan, now), desc="timing", leave=False):
            samples, answer = [], None
            for _ in range(runs + 1):
                async with db.read() as session:
                    started = time.perf_counter()
                    answer = await case.ask(session)
                    samples.append(time.perf_counter() - started)
            timings[case.name] = (statistics.median(samples[1:]) * 1000, case.answer(answer))
    finally:
        await db.dispose()
    return timings


@contextmanager
def postgres_server() -> Iterator[str]:
    executor, base = start_postgres()
    try:
        with psycopg.connect(
            host=executor.host,
            port=executor.port,
            user=executor.user,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute('CREATE DATABASE "bench"')
        yield f"postgresql+psycopg://{executor.user}@{executor.host}:{executor.port}/bench"
    finally:
        executor.stop()
        shutil.rmtree(base, ignore_errors=True)


def run(args: argparse.Namespace, directory: Path, postgres_url: str | None) -> None:
    tz = ZoneInfo(args.timezone)
    now = today(tz)
    plan = Plan(
        users=args.users,
        events=args.events,
        days=args.days,
        first_day=now - timedelta(days=args.days),
        tz=tz,
    )
    sqlite_url = f"sqlite:///{directory / 'bench.db'}"
    asyncio.run(load(sqlite_url, plan, "sqlite"))
    results = {"SQLite": asyncio.run(time_cases(sqlite_url, plan, now, args.runs))}
    if postgres_url:
        asyncio.run(load(postgres_url, plan, "postgresql"))
        results["PostgreSQL"] = asyncio.run(time_cases(postgres_url, plan, now, args.runs))
    asyncio.run(export(sqlite_url, directory, tz))
    results["DuckDB"] = duck.time_questions(
        directory, {c.name: c.duck for c in cases(plan, now)}, args.runs
    )
    print_table(results, args)


def print_table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    engines = list(results)
    print(
        f"\n{args.events:,} events, {args.users:,} users, {args.days} days, timezone "
        f"{args.timezone}; milliseconds, median of {args.runs} runs\n"
    )
    header = ["metric", *(f"{e} ms" for e in engines), "SQLite / DuckDB", "answers"]
    rows = []
    for name, (sqlite_ms, answer) in results["SQLite"].items():
        figures = [results[e].get(name) for e in engines]
        duck_ms = results["DuckDB"].get(name)
        same = all(f is None or f[1] == answer for f in figures)
        rows.append(
            [
                name,
                *(f"{f[0]:.1f}" if f else "—" for f in figures),
                f"{sqlite_ms / duck_ms[0]:.1f}×" if duck_ms else "—",
                "same" if same else "DIFFER",
            ]
        )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print(
            " | ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--timezone", default="Asia/Shanghai")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per metric (median)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--postgres", metavar="URL", help="also load and time this database")
    target.add_argument(
        "--postgres-server", action="store_true", help="also time a throwaway local PostgreSQL"
    )
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="opsgraph-metrics-bench-"))
    try:
        if args.postgres_server:
            with postgres_server() as url:
                run(args, directory, url)
        else:
            run(args, directory, args.postgres)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
