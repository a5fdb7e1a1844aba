"""A plain token bucket for judging calls, kept apart from the engine's own on purpose.

The fake platform decides its 429s with it and the benchmark its budget-bound schedules, so
a bug in the engine's ``TokenBucket`` cannot hide by being shared with the judge: this one
has no backoff, no jitter reserve and no recovery, only a declared rate and burst.
"""

from __future__ import annotations

# Floating-point slack, so a call arriving exactly when a token is due is let through.
_SLACK = 1e-9


class PlainBucket:
    """At most ``burst`` calls back to back, refilled at ``rate`` calls per second; full at
    first. Times passed in must not go backwards."""

    __slots__ = ("_at", "_tokens", "burst", "rate")

    def __init__(self, *, rate: float, burst: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a budget needs a positive rate and a burst of at least 1 ({rate=})")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = 0.0

    def _tokens_at(self, now: float) -> float:
        return min(self.burst, self._tokens + (now - self._at) * self.rate)

    def ready_at(self, now: float) -> float:
        """The earliest time (``>= now``) at which one call may go."""
        now = max(now, self._at)
        tokens = self._tokens_at(now)
        return now if tokens >= 1 - _SLACK else now + (1 - tokens) / self.rate

    def take(self, now: float) -> None:
        """Spend one call at ``now`` (the caller checked ``ready_at``)."""
        self._tokens = self._tokens_at(now) - 1
        self._at = now
