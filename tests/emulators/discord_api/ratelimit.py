"""Per-channel message rate limits, answered the way Discord shapes them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimitRule:
    """At most `limit` message creates/edits per `per` seconds in one channel."""

    limit: int = 5
    per: float = 5.0


@dataclass(frozen=True)
class RateLimitVerdict:
    """The outcome of one request against its bucket."""

    allowed: bool
    limit: int
    remaining: int
    reset_after: float
    bucket: str

    def headers(self) -> dict[str, str]:
        """The X-RateLimit-* headers Discord attaches to a limited route's answers."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": f"{time.time() + self.reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{self.reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket,
        }


def too_many_requests_headers(*, retry_after: float, is_global: bool) -> dict[str, str]:
    """Headers of a 429; discord.py only retries when `Via` is present."""
    headers = {
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "Via": "1.1 google",
        "X-RateLimit-Scope": "global" if is_global else "user",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    return headers


def too_many_requests_body(*, retry_after: float, is_global: bool) -> dict[str, object]:
    return {
        "message": "You are being rate limited.",
        # Rounded up, so a client sleeping exactly this long never retries inside the window.
        "retry_after": math.ceil(retry_after * 1000) / 1000,
        "global": is_global,
    }


class ChannelRateLimiter:
    """Fixed-window counters per channel; the window opens with the first request."""

    def __init__(self, *, default: RateLimitRule, clock: Callable[[], float]) -> None:
        self.default = default
        self.enabled = True
        self._clock = clock
        self._rules: dict[int, RateLimitRule] = {}
        self._windows: dict[int, tuple[float, int]] = {}

    def set_rule(self, *, channel_id: int | None, rule: RateLimitRule) -> None:
        """Set the rule of one channel, or the default rule when `channel_id` is None."""
        if channel_id is None:
            self.default = rule
        else:
            self._rules[channel_id] = rule
        self._windows.clear()

    def reset(self) -> None:
        self._windows.clear()

    def hit(self, *, channel_id: int) -> RateLimitVerdict:
        """Count one request; the verdict says whether it passes."""
        rule = self._rules.get(channel_id, self.default)
        bucket = "emulator-channel-messages"
        now = self._clock()
        start, count = self._windows.get(channel_id, (now, 0))
        if now - start >= rule.per:
            start, count = now, 0
        reset_after = max(0.0, start + rule.per - now)
        if count >= rule.limit:
            self._windows[channel_id] = (start, count)
            return RateLimitVerdict(False, rule.limit, 0, reset_after, bucket)
        count += 1
        self._windows[channel_id] = (start, count)
        return RateLimitVerdict(True, rule.limit, rule.limit - count, reset_after, bucket)
