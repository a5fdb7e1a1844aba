"""Injectable time source so sessions, pacing and expiry can be tested without waiting.

Tests use ``knowrithm_bots.core.testing.ManualClock``, which moves only when told.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """What the core asks of time. ``now`` is wall-clock seconds since the epoch."""

    def now(self) -> float: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
