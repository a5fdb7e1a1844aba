"""How stale a reply is: when the oldest text not yet visible on the platform arrived."""

from __future__ import annotations

import bisect

from knowrithm_bots.core.clock import Clock


class Progress:
    """Arrival times of the answer's text, and how much of it the platform shows.

    ``changed`` on every delta (O(1): one entry per instant the text grew), ``shown`` after
    every call with how far into the answer the platform now shows it in order; ``since``
    is when the first character past that arrived. Text that arrived while a call was in
    flight, or that a roll-over moved into a message not posted yet, stays pending with
    its own arrival time, so the reply is ranked by its oldest text actually waiting.
    """

    __slots__ = ("_clock", "_ends", "_shown", "_times")

    # How many recent growths ``arrival_gap`` averages over.
    GAP_WINDOW = 8

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._ends: list[int] = []  # the text's length after each growth...
        self._times: list[float] = []  # ...and when that growth arrived
        self._shown = 0

    def changed(self, *, length: int) -> None:
        """The answer is now ``length`` characters long (it only grows this way)."""
        if self._ends and length <= self._ends[-1]:
            return
        now = self._clock.monotonic()
        if self._times and self._times[-1] == now:
            self._ends[-1] = length
        else:
            self._ends.append(length)
            self._times.append(now)

    def revise(self, *, length: int) -> None:
        """The authoritative text replaced the deltas: all of it is pending from the oldest
        text that was waiting (or from now when nothing was)."""
        since = self.since
        self._ends = [length]
        self._times = [self._clock.monotonic() if since is None else since]
        self._shown = 0

    def shown(self, *, upto: int) -> None:
        """The platform shows the answer's first ``upto`` characters."""
        self._shown = upto

    @property
    def since(self) -> float | None:
        """When the oldest text not yet shown arrived; None when all of it is shown."""
        index = bisect.bisect_right(self._ends, self._shown)
        return self._times[index] if index < len(self._times) else None

    @property
    def last_growth(self) -> float | None:
        """When the text last grew; None before it first did."""
        return self._times[-1] if self._times else None

    def since_or_now(self) -> float:
        since = self.since
        return self._clock.monotonic() if since is None else since

    def arrival_gap(self) -> float | None:
        """The recent mean time between growths; None before the text grew twice."""
        times = self._times
        count = min(len(times), self.GAP_WINDOW)
        if count < 2:
            return None
        return (times[-1] - times[-count]) / (count - 1)
