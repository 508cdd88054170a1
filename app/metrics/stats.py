"""Small statistics for campaign evaluation: rates, lift and the two-proportion z-test.

Pure functions on counts, no I/O; the normal distribution comes from math.erfc.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SIGNIFICANCE_LEVEL = 0.05


@dataclass(frozen=True)
class ZTest:
    z: float  # positive when the first proportion is the larger
    p_value: float  # two-sided

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANCE_LEVEL


def percent(part: float, whole: float) -> float | None:
    """part / whole × 100; None when whole is 0 (a rate of nothing is unknown, not 0)."""
    return None if whole == 0 else part / whole * 100


def change_percent(now: float, before: float) -> float | None:
    """(now − before) / before × 100; None when before is 0."""
    return percent(now - before, before)


def two_sided_p_value(z: float) -> float:
    """P(|Z| ≥ |z|) for a standard normal Z: 2 × (1 − Φ(|z|)) = erfc(|z| / √2), which keeps
    its precision far into the tail where 1 − Φ would round to 0."""
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportion_z_test(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int
) -> ZTest | None:
    """Whether the proportions a and b differ: z = (p_a − p_b) / SE with the pooled
    standard error SE = √(p(1 − p)(1/n_a + 1/n_b)), p = (x_a + x_b) / (n_a + n_b).

    None when the test is undefined: a group without trials, or SE = 0 (both groups all
    successes or all failures, so there is no variation to judge a difference by).
    """
    if trials_a <= 0 or trials_b <= 0:
        return None
    if not (0 <= successes_a <= trials_a and 0 <= successes_b <= trials_b):
        raise ValueError("successes must be between 0 and the number of trials")
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance <= 0:
        return None
    z = (successes_a / trials_a - successes_b / trials_b) / math.sqrt(variance)
    return ZTest(z=z, p_value=two_sided_p_value(z))
