"""Flood control modelled on Telegram's unpublished limits: per chat, per group, per bot."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# Chat actions count too: bots meet "Flood control exceeded" on sendChatAction
# (altryne/chatGPT-telegram-bot#52, a bot renewing "typing" while it edits a long answer).
LIMITED_METHODS = frozenset(
    {"sendMessage", "editMessageText", "sendMessageDraft", "sendChatAction"}
)


@dataclass(frozen=True)
class FloodLimits:
    """How fast the bot may send or edit. `FloodLimits.off()` disables every limit."""

    enabled: bool = True
    chat_per_second: float = 1.0
    chat_burst: int = 3
    group_per_minute: int = 20
    bot_per_second: int = 30
    methods: frozenset[str] = LIMITED_METHODS

    @classmethod
    def off(cls) -> FloodLimits:
        return cls(enabled=False)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class FloodGate:
    """Decides whether one more send or edit is allowed now, and if not, for how long to wait."""

    def __init__(self, *, limits: FloodLimits, clock: Callable[[], float]) -> None:
        self._limits = limits
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._bot_sends: deque[float] = deque()

    def applies_to(self, method: str) -> bool:
        return self._limits.enabled and method in self._limits.methods

    def admit(self, *, chat_id: int) -> int | None:
        """Consume one unit and return None, or return retry_after seconds without consuming."""
        limits = self._limits
        now = self._clock()
        bucket = self._buckets.setdefault(chat_id, _Bucket(limits.chat_burst, now))
        refill = (now - bucket.updated) * limits.chat_per_second
        bucket.tokens = min(float(limits.chat_burst), bucket.tokens + refill)
        bucket.updated = now
        waits = [0.0]
        if bucket.tokens < 1.0:
            waits.append((1.0 - bucket.tokens) / limits.chat_per_second)
        group = self._group_sends.setdefault(chat_id, deque())
        _forget_before(group, now - 60.0)
        if chat_id < 0 and len(group) >= limits.group_per_minute:
            waits.append(group[0] + 60.0 - now)
        _forget_before(self._bot_sends, now - 1.0)
        if len(self._bot_sends) >= limits.bot_per_second:
            waits.append(self._bot_sends[0] + 1.0 - now)
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        bucket.tokens -= 1.0
        group.append(now)
        self._bot_sends.append(now)
        return None


def _forget_before(times: deque[float], cutoff: float) -> None:
    while times and times[0] <= cutoff:
        times.popleft()
