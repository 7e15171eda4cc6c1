import random

import pytest

from pipeline.erp.backoff import RetryPolicy


def test_delays_grow_exponentially_with_bounded_jitter() -> None:
    p = RetryPolicy(max_attempts=20, base_s=0.5, cap_s=8.0, max_elapsed_s=10_000)
    rng = random.Random(1)
    for failures in range(1, 12):
        full = min(8.0, 0.5 * 2 ** (failures - 1))
        for _ in range(50):
            d = p.delay(failures, rng)
            assert full / 2 <= d <= full


def test_jitter_spreads_senders_apart() -> None:
    p = RetryPolicy()
    rng = random.Random(2)
    assert len({round(p.delay(3, rng), 6) for _ in range(20)}) > 15


def test_budget_by_attempts_and_elapsed_time() -> None:
    p = RetryPolicy(max_attempts=3, base_s=1, cap_s=4, max_elapsed_s=100)
    assert p.next_delay(1, 0) is not None and p.next_delay(2, 0) is not None
    assert p.next_delay(3, 0) is None
    q = RetryPolicy(max_attempts=100, base_s=1, cap_s=4, max_elapsed_s=10)
    assert q.next_delay(5, 9.5) is None  # the wait would cross the budget
    assert q.next_delay(1, 0) is not None


def test_retry_after_is_honoured_but_capped() -> None:
    p = RetryPolicy(base_s=0.1, cap_s=5, max_elapsed_s=100)
    assert p.next_delay(1, 0, retry_after_s=3) == pytest.approx(3)
    assert p.next_delay(1, 0, retry_after_s=3600) == pytest.approx(5)


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_s": -1}, {"base_s": 5, "cap_s": 1}])
def test_invalid_policies_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
