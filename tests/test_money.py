"""Money rounds to the cent half up, whatever type the database summed it in."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.db import Database
from app.events.models import Event
from app.metrics import revenue
from app.money import to_cents
from app.users.models import User
from tests.metrics.test_revenue import LATER, at


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        (Decimal("84.225"), "84.23"),  # half to even would give 84.22
        (Decimal("0.125"), "0.13"),
        (Decimal("-0.125"), "-0.13"),  # half away from zero, as PostgreSQL's round()
        (Decimal("2.675"), "2.68"),
        (0.1 + 0.2, "0.30"),  # a float sum, as SQLite returns it
        (None, "0.00"),
        (10, "10.00"),
    ],
)
def test_amounts_round_to_the_cent_half_up(amount: object, cents: str) -> None:
    assert to_cents(amount) == Decimal(cents)
    assert str(to_cents(amount)) == cents


async def test_ltv_of_a_half_cent_rounds_up(db: Database) -> None:
    # 168.45 over 2 users is 84.225 a user: 84.23, as costPerParticipant would round it.
    async with db.unit_of_work() as session:
        payer = User(external_id="p", name="p", signed_up_at=at(3, 1, 10))
        session.add_all([payer, User(external_id="q", name="q", signed_up_at=at(3, 1, 11))])
        await session.flush()
        session.add(
            Event(user_id=payer.id, name="payment", revenue=Decimal("168.45"), occurred_at=at(3, 2))
        )
    async with db.read() as session:
        found = await revenue.ltv(
            session,
            None,
            tz=ZoneInfo("UTC"),
            cohort_from=date(2026, 3, 1),
            cohort_to=date(2026, 3, 1),
            horizon_days=30,
            now=LATER,
        )
    assert (found.revenue, found.ltv) == (Decimal("168.45"), Decimal("84.23"))
