"""Clocks for the emulator: wall time by default, a hand-driven one for rate-limit tests."""

import time
from collections.abc import Callable

Clock = Callable[[], float]


def wall_clock() -> float:
    """Seconds since the epoch, as Slack's own timestamps use."""
    return time.time()


class ManualClock:
    """A clock that only moves when told to, so rate-limit windows are deterministic."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
