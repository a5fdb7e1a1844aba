"""Slack rate limits as data, enforced with token buckets keyed by method and scope."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from .clock import Clock

Scope = Literal["workspace", "channel"]


@dataclass(frozen=True)
class RateLimit:
    """A sustained rate with a bucket that allows short bursts above it."""

    per_minute: float
    burst: int
    scope: Scope = "workspace"

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")


# Slack publishes tiers as "N+ per minute"; the bursts are starting values, not published figures.
TIER_1 = RateLimit(per_minute=1, burst=3)
TIER_2 = RateLimit(per_minute=20, burst=5)
TIER_3 = RateLimit(per_minute=50, burst=10)
TIER_4 = RateLimit(per_minute=100, burst=20)

DEFAULT_RATE_LIMITS: Mapping[str, RateLimit] = MappingProxyType(
    {
        # "Special" tier: about one message per second per channel.
        "chat.postMessage": RateLimit(per_minute=60, burst=3, scope="channel"),
        "chat.update": TIER_3,
        "chat.delete": TIER_3,
        "chat.startStream": RateLimit(per_minute=60, burst=3, scope="channel"),
        # PLATFORMS.md ("Slack chat streams") and Slack's method pages: appendStream is
        # Tier 4, stopStream Tier 2.
        "chat.appendStream": TIER_4,
        "chat.stopStream": TIER_2,
        "reactions.add": TIER_3,
        "reactions.remove": TIER_2,
        "reactions.get": TIER_3,
        "users.info": TIER_4,
        "conversations.info": TIER_3,
        "assistant.threads.setStatus": TIER_3,
        "apps.connections.open": TIER_1,
    }
)


class RateLimiter:
    """Token buckets per (method, scope key); answers how long to wait when a call is over."""

    def __init__(self, *, limits: Mapping[str, RateLimit], clock: Clock) -> None:
        self.limits: dict[str, RateLimit] = dict(limits)
        self.enabled = True
        self._clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def reset(self) -> None:
        self._buckets.clear()

    def acquire(self, *, method: str, channel: str) -> int | None:
        """Take one call from the bucket; return None if allowed, else Retry-After seconds."""
        limit = self.limits.get(method)
        if not self.enabled or limit is None:
            return None
        key = (method, channel if limit.scope == "channel" else "")
        now = self._clock()
        rate = limit.per_minute / 60.0
        tokens, last = self._buckets.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        # Slack sends whole seconds and never 0 for a real limit.
        return max(1, math.ceil((1.0 - tokens) / rate))
