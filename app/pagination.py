"""Keyset (cursor) pagination: pages stay stable while rows are added, unlike offsets."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Integer, Select, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import ValidationFailed
from app.sqltypes import UTCDateTime

Row = TypeVar("Row")


@dataclass(frozen=True)
class Ordering:
    """Sort columns, all non-null, the last one unique (a primary key) to break ties."""

    columns: tuple[InstrumentedAttribute[Any], ...]
    descending: bool = False


@dataclass
class Page(Generic[Row]):
    items: list[tuple[Row, str]]  # each row with its cursor
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]  # total over all pages, run only when asked for


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode()


def decode_cursor(cursor: str, ordering: Ordering) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(ordering.columns):
            raise ValueError("wrong length")
        return [_typed(column, v) for column, v in zip(ordering.columns, values, strict=True)]
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, NotImplementedError):
        raise ValidationFailed("invalid cursor", field="after") from None


def _typed(column: InstrumentedAttribute[Any], value: Any) -> Any:
    # A forged cursor must fail here, as a client error, not as a type error in the database.
    if isinstance(column.type, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Integer):
        if type(value) is not int:
            raise TypeError("integer expected")
    elif not isinstance(value, str | int | float) or isinstance(value, bool):
        raise TypeError("scalar expected")
    return value


async def paginate(
    session: AsyncSession,
    stmt: Select[tuple[Row]],
    *,
    ordering: Ordering,
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
) -> Page[Row]:
    """One page of `stmt` after the cursor; `count_session` opens a session for the total."""
    columns = ordering.columns
    page_stmt = stmt
    if after is not None:
        key = tuple_(*columns)
        # Bind each value with its column's type, so timestamps compare in stored form.
        values = tuple_(
            *(
                literal(value, type_=column.type)
                for column, value in zip(columns, decode_cursor(after, ordering), strict=True)
            )
        )
        page_stmt = page_stmt.where(key < values if ordering.descending else key > values)
    page_stmt = page_stmt.order_by(
        *(c.desc() if ordering.descending else c.asc() for c in columns)
    ).limit(first + 1)
    rows = list((await session.scalars(page_stmt)).all())

    async def count() -> int:
        count_stmt = select(func.count()).select_from(stmt.order_by(None).subquery())
        async with count_session() as counting:
            return int((await counting.scalar(count_stmt)) or 0)

    return Page(
        items=[
            (row, encode_cursor([getattr(row, c.key) for c in columns])) for row in rows[:first]
        ],
        has_next_page=len(rows) > first,
        has_previous_page=after is not None,
        count=count,
    )
