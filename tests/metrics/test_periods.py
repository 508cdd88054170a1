"""Calendar periods and day bounds in the reporting timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.errors import ValidationFailed
from app.metrics.periods import (
    Period,
    check_range,
    day_start,
    period_bounds,
    period_starts,
    shift,
)

NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("period", "day", "bounds"),
    [
        (Period.DAY, date(2026, 3, 4), (date(2026, 3, 4), date(2026, 3, 4))),
        (Period.WEEK, date(2026, 3, 1), (date(2026, 2, 23), date(2026, 3, 1))),  # a Sunday
        (Period.WEEK, date(2026, 3, 2), (date(2026, 3, 2), date(2026, 3, 8))),  # a Monday
        (Period.MONTH, date(2024, 2, 10), (date(2024, 2, 1), date(2024, 2, 29))),
        (Period.QUARTER, date(2026, 12, 31), (date(2026, 10, 1), date(2026, 12, 31))),
        (Period.QUARTER, date(2026, 5, 5), (date(2026, 4, 1), date(2026, 6, 30))),
    ],
)
def test_the_period_containing_a_day(period: Period, day: date, bounds: tuple[date, date]) -> None:
    assert period_bounds(period, day) == bounds


def test_shifting_crosses_years() -> None:
    assert shift(Period.QUARTER, date(2026, 1, 1), -1) == date(2025, 10, 1)
    assert shift(Period.MONTH, date(2026, 12, 1), 1) == date(2027, 1, 1)


def test_period_starts_cover_the_range_with_whole_periods() -> None:
    assert period_starts(Period.MONTH, date(2026, 1, 31), date(2026, 3, 1)) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]


def test_days_start_at_local_midnight_across_dst() -> None:
    assert day_start(date(2026, 3, 8), NEW_YORK) == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert day_start(date(2026, 3, 9), NEW_YORK) == datetime(2026, 3, 9, 4, tzinfo=UTC)
    assert day_start(date(2026, 3, 2), ZoneInfo("Asia/Shanghai")) == datetime(
        2026, 3, 1, 16, tzinfo=UTC
    )


def test_a_reversed_range_names_its_first_end() -> None:
    with pytest.raises(ValidationFailed) as error:
        check_range(date(2026, 3, 2), date(2026, 3, 1), names=("cohortFrom", "cohortTo"))
    assert error.value.problems[0].field == "cohortFrom"


def test_a_long_range_names_its_last_end() -> None:
    with pytest.raises(ValidationFailed) as error:
        check_range(date(2026, 1, 1), date(2026, 12, 31), max_days=364)
    assert error.value.problems[0].field == "to"
    check_range(date(2026, 1, 1), date(2026, 12, 31), max_days=365)
