"""Rate budgets that several bot instances spend together: the contract a shared store keeps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from knowrithm_bots.core.limits import Budget


def budget_name(budget: Budget) -> str:
    """A name for ``budget`` that every instance running the same adapter derives alike.

    Scope, charged kinds and pace all count: an adapter may declare two budgets of one scope
    (Slack's ``chat.update`` and ``chat.delete`` tiers), and an instance still running an
    older declaration must not spend a bucket sized for another one."""
    kinds = "+".join(budget.kinds) or "all"
    return f"{budget.scope}:{kinds}:{budget.rate:g}/{budget.per:g}"


def shared_key(*, adapter: str, budget: Budget, scope_key: str) -> str:
    """The key of one adapter's ``budget`` applied to one scope (a chat, a workspace)."""
    return f"{adapter}:{budget_name(budget)}:{scope_key}"


@dataclass(frozen=True, kw_only=True)
class SharedBucket:
    """One bucket's part in a shared take: the declared ``rate`` in calls per second (the
    store keeps the slowdown after 429s, common to all instances), at most ``burst`` back
    to back, and ``need`` tokens it must hold for the call to go (one, plus the reserve for
    arrival jitter, or nearly the whole burst for a call that must not spend it)."""

    key: str
    rate: float
    burst: float
    need: float


@dataclass(frozen=True, kw_only=True)
class SharedLevel:
    """A shared bucket as the take left it: ``tokens`` held, the seconds it stays
    ``blocked_for`` after a 429 that some instance saw, and the ``scale`` of the declared
    rate in force (below 1 after 429s, until earned back)."""

    tokens: float
    blocked_for: float = 0.0
    scale: float = 1.0


@dataclass(frozen=True, kw_only=True)
class SharedGrant:
    """What a take answered: ``wait`` is 0 when one token was taken from every bucket, else
    the seconds until all of them could give one (nothing was taken)."""

    wait: float
    levels: tuple[SharedLevel, ...] = ()

    @property
    def granted(self) -> bool:
        return self.wait <= 0.0


class SharedBudgets(Protocol):
    """Token buckets kept where every instance of the bot spends them (Redis).

    The pacer calls ``take`` before a call charged to budgets whose scope several
    instances serve, and ``block`` after a 429 on one. Both are atomic over all the buckets
    given; a bucket nobody used for as long as it takes to refill may vanish (it would be
    full anyway). Both raise ``StoreError`` (one sentence, no credentials) when the store
    cannot be reached or used; the pacer then paces by its own buckets alone. ``where``
    names the store for logs, without credentials.
    """

    @property
    def where(self) -> str: ...

    async def take(self, *, buckets: Sequence[SharedBucket]) -> SharedGrant:
        """Take one token from every bucket if each holds its ``need``, else none."""
        ...

    async def block(self, *, buckets: Sequence[SharedBucket], retry_after: float) -> None:
        """The platform answered 429: no bucket gives a token for ``retry_after`` seconds,
        then exactly one (the platform forgave one call, not a burst)."""
        ...

    async def close(self) -> None: ...


class SharedState:
    """A local bucket's twin in the shared store: its key, and its level as last seen
    (for the headroom gauge; the store stays the authority)."""

    __slots__ = ("blocked_until", "key", "scale", "seen", "tokens")

    def __init__(self, *, key: str) -> None:
        self.key = key
        self.tokens = 0.0
        self.scale = 1.0
        self.seen = -math.inf
        self.blocked_until = -math.inf

    def saw(self, level: SharedLevel, *, now: float) -> None:
        self.tokens = level.tokens
        self.scale = level.scale
        self.seen = now
        self.blocked_until = now + level.blocked_for

    def headroom(self, *, now: float, rate: float, burst: float) -> float | None:
        """The share of the burst the shared bucket holds at ``now`` as projected from what
        was last seen (refilled since at the declared ``rate`` times the scale seen); None
        before anything was seen."""
        if self.seen == -math.inf:
            return None
        if now < self.blocked_until:
            return 0.0
        since = max(self.seen, self.blocked_until)
        tokens = self.tokens + max(0.0, now - since) * rate * self.scale
        return max(0.0, min(burst, tokens)) / burst
