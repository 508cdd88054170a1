"""The campaign statistics against values computed elsewhere.

Reference values (none computed with this code):
- R, `prop.test(matrix(c(94, 39, 120, 89), ncol = 2), correct = FALSE)`, as printed in
  the influentialpoints.com notes on two-sample tests of proportions:
  X-squared = 6.1026, p-value = 0.01350. Without continuity correction Pearson's
  X-squared of a 2×2 table is exactly z², so |z| = √6.1026.
- A textbook exercise, 56 % of 300 vs 48 % of 200 voters: z = 1.755, two-tailed
  p = 0.0792.
- Standard normal tables: the two-sided critical values 1.959964 (α = 0.05) and
  2.575829 (α = 0.01), and Φ(1) = 0.8413447, so P(|Z| ≥ 1) = 0.3173105.
"""

from __future__ import annotations

import math

import pytest

from app.metrics.stats import change_percent, percent, two_proportion_z_test, two_sided_p_value


def test_r_prop_test_reference() -> None:
    test = two_proportion_z_test(94, 214, 39, 128)
    assert test is not None
    assert test.z**2 == pytest.approx(6.1026, abs=5e-5)
    assert test.p_value == pytest.approx(0.01350, abs=5e-6)
    assert test.significant


def test_textbook_reference_is_not_significant_at_five_percent() -> None:
    test = two_proportion_z_test(168, 300, 96, 200)
    assert test is not None
    assert test.z == pytest.approx(1.755, abs=5e-4)
    assert test.p_value == pytest.approx(0.0792, abs=5e-5)
    assert not test.significant


def test_z_is_signed_by_which_group_is_larger_and_p_is_symmetric() -> None:
    ahead = two_proportion_z_test(168, 300, 96, 200)
    behind = two_proportion_z_test(96, 200, 168, 300)
    assert ahead is not None and behind is not None
    assert behind.z == pytest.approx(-ahead.z)
    assert behind.p_value == pytest.approx(ahead.p_value)


@pytest.mark.parametrize(
    ("z", "p"),
    [(0.0, 1.0), (1.0, 0.3173105), (1.959964, 0.05), (2.575829, 0.01), (-1.959964, 0.05)],
)
def test_two_sided_p_value_matches_normal_tables(z: float, p: float) -> None:
    assert two_sided_p_value(z) == pytest.approx(p, abs=5e-7)


def test_p_value_keeps_precision_far_in_the_tail() -> None:
    # 1 − Φ(10) ≈ 7.62e-24 rounds to 0 in double precision; erfc does not.
    assert two_sided_p_value(10) == pytest.approx(1.5239706e-23, rel=1e-6)


@pytest.mark.parametrize(
    "counts",
    [(0, 0, 5, 10), (5, 10, 0, 0), (0, 10, 0, 20), (10, 10, 20, 20)],
    ids=["no-trials-a", "no-trials-b", "all-failures", "all-successes"],
)
def test_undefined_test_is_none(counts: tuple[int, int, int, int]) -> None:
    assert two_proportion_z_test(*counts) is None


def test_more_successes_than_trials_is_an_error() -> None:
    with pytest.raises(ValueError, match="between 0 and the number of trials"):
        two_proportion_z_test(11, 10, 1, 10)


def test_percent_and_change_are_none_over_zero() -> None:
    assert percent(1, 4) == 25.0
    assert percent(3, 0) is None
    assert change_percent(15, 10) == 50.0
    assert change_percent(0, 10) == -100.0
    assert change_percent(5, 0) is None
    assert math.isclose(percent(1, 3) or 0, 33.333333, rel_tol=1e-6)
