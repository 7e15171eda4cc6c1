"""Retry budget with exponential backoff and jitter (pure; the caller sleeps)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most `max_attempts` tries and `max_elapsed_s` seconds per event.

    Delay before retry n (n = 1 after the first failure) is "equal jitter":
    d = min(cap_s, base_s * 2**(n-1)); sleep uniform in [d/2, d]. Half the delay is guaranteed
    (no hammering a sick endpoint), the other half spreads retries of many senders apart.
    """

    max_attempts: int = 8
    base_s: float = 0.5
    cap_s: float = 30.0
    max_elapsed_s: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_s < 0 or self.cap_s < self.base_s:
            raise ValueError("need 0 <= base_s <= cap_s")

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        d = min(self.cap_s, self.base_s * (2 ** max(failures - 1, 0)))
        r = (rng or random).random()
        return d / 2 + r * d / 2

    def next_delay(
        self,
        failures: int,
        elapsed_s: float,
        *,
        retry_after_s: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when the budget is spent.

        `failures` counts failed attempts so far; a server's Retry-After is honoured but capped.
        """
        if failures >= self.max_attempts:
            return None
        wait = self.delay(failures, rng)
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, self.cap_s))
        if elapsed_s + wait > self.max_elapsed_s:
            return None
        return wait
