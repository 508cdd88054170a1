"""Variant assignment as a pure function: proportional to the weights and stable."""

from __future__ import annotations

from collections import Counter

from app.campaigns.service import assign_variant

USERS = range(1, 2001)


def test_assignment_is_roughly_proportional_to_the_weights() -> None:
    weights = [1, 1, 2]
    buckets = Counter(assign_variant(7, user_id, weights) for user_id in USERS)
    for index, weight in enumerate(weights):
        expected = len(USERS) * weight / sum(weights)
        assert abs(buckets[index] - expected) < 0.1 * expected, buckets


def test_a_user_always_lands_in_the_same_variant() -> None:
    first = [assign_variant(7, user_id, [1, 1]) for user_id in USERS]
    assert [assign_variant(7, user_id, [1, 1]) for user_id in USERS] == first


def test_each_campaign_splits_users_independently() -> None:
    one = [assign_variant(7, user_id, [1, 1]) for user_id in USERS]
    other = [assign_variant(8, user_id, [1, 1]) for user_id in USERS]
    assert one != other


def test_zero_weight_variants_are_never_assigned() -> None:
    assert {assign_variant(7, user_id, [0, 3, 0, 1]) for user_id in USERS} == {1, 3}
