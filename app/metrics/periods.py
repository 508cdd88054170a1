"""Days, weeks, months and quarters in the reporting timezone, and their bounds as UTC instants.

Python's zoneinfo decides where each day starts; SQL only compares stored UTC instants with
those bounds, so both databases answer the same and the timestamp indexes are used.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, and_, column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import CTE

from app.errors import ValidationFailed
from app.recordset import recordset, rows_of
from app.sqltypes import UTCDateTime, utcnow

# The longest day range a metric with one value per day (or per cohort) accepts.
MAX_DAYS = 366


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"  # Monday to Sunday
    MONTH = "month"
    QUARTER = "quarter"


class Window(StrEnum):
    """The days ending on a date that count for an active-user figure (DAU, WAU, MAU)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @property
    def days(self) -> int:
        return {Window.DAY: 1, Window.WEEK: 7, Window.MONTH: 30}[self]

    def first_day(self, day: date) -> date:
        return day - timedelta(days=self.days - 1)


def today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant where `day` begins in `tz` (after a DST gap at midnight, its first
    instant)."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def instants(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The days first..last (inclusive) as the half-open UTC interval [start, end)."""
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


def period_start(period: Period, day: date) -> date:
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def shift(period: Period, start: date, count: int) -> date:
    """The start of the period `count` periods after (or before) the one starting at `start`."""
    if period is Period.DAY:
        return start + timedelta(days=count)
    if period is Period.WEEK:
        return start + timedelta(weeks=count)
    months = start.year * 12 + start.month - 1 + count * (3 if period is Period.QUARTER else 1)
    return date(months // 12, months % 12 + 1, 1)


def period_bounds(period: Period, day: date) -> tuple[date, date]:
    """The first and last day of the period containing `day`."""
    start = period_start(period, day)
    return start, shift(period, start, 1) - timedelta(days=1)


def period_starts(period: Period, first: date, last: date) -> list[date]:
    """The starts of the periods that overlap first..last, in order (whole periods)."""
    starts, start = [], period_start(period, first)
    while start <= last:
        starts.append(start)
        start = shift(period, start, 1)
    return starts


# Dates a metric accepts: arithmetic around them stays within what Python and SQL represent.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def check_day(day: date, *, field: str) -> None:
    if not EARLIEST <= day <= LATEST:
        raise ValidationFailed(f"{field} must be between {EARLIEST} and {LATEST}", field=field)


def check_range(
    first: date,
    last: date,
    *,
    names: tuple[str, str] = ("from", "to"),
    max_days: int | None = None,
) -> None:
    """Days out of bounds, `first` after `last`, or a range over `max_days` days, are the
    client's errors."""
    check_day(first, field=names[0])
    check_day(last, field=names[1])
    if first > last:
        raise ValidationFailed(f"{names[0]} ({first}) is after {names[1]} ({last})", field=names[0])
    if max_days is not None and (last - first).days + 1 > max_days:
        raise ValidationFailed(
            f"{names[0]}..{names[1]} spans {(last - first).days + 1} days; at most {max_days}",
            field=names[1],
        )


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def constant_table(name: str, columns: dict[str, Any], rows: list[tuple[Any, ...]]) -> CTE:
    """A CTE of literal rows (at least one), for joining computed calendars into SQL."""
    typed = [column(c, t) for c, t in columns.items()]
    # Materialized: read from the JSON once. Inlined, SQLite re-extracted each value from
    # the JSON text on every row of a join (retention took 160 ms instead of 24).
    return recordset(typed, rows_of(typed, rows)).cte(name).prefix_with("MATERIALIZED")


def day_table(first: date, last: date, tz: ZoneInfo, *, name: str = "days") -> CTE:
    """A CTE (day, starts_at, ends_at) with one row per day first..last: its UTC interval.

    Joining timestamps to it on `starts_at <= ts < ends_at` buckets them into local days.
    """
    return constant_table(
        name,
        {"day": Date, "starts_at": UTCDateTime, "ends_at": UTCDateTime},
        [(day, *instants(day, day, tz)) for day in days(first, last)],
    )


def during(column: Any, table: Any, first: date, last: date, tz: ZoneInfo) -> Any:
    """`table.starts_at <= column < table.ends_at` for a calendar CTE of the days first..last,
    with those days' bounds repeated as constants: a planner cannot estimate the join alone
    (PostgreSQL then expects a ninth of the table and picks scans), but it can these."""
    start, end = instants(first, last, tz)
    return and_(
        column >= table.c.starts_at, column < table.c.ends_at, column >= start, column < end
    )


class days_between(FunctionElement[int]):
    """SQL for `(later - earlier).days` of two DATE expressions."""

    type = Integer()
    name = "days_between"
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"({later} - {earlier})"
