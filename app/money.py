"""Money: every amount the API returns is a Decimal to the cent, rounded half up (84.225
→ 84.23), as PostgreSQL's round(), spreadsheets and dashboards that recompute it do."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def to_cents(amount: Any) -> Decimal:
    """An amount to the cent; None (nothing summed) is 0. Floats, as SQLite returns sums,
    are read by their shortest repr so 0.1 + 0.2 is 0.30, not its binary expansion."""
    exact = amount if isinstance(amount, Decimal) else Decimal(str(amount or 0))
    return exact.quantize(CENT, ROUND_HALF_UP)
