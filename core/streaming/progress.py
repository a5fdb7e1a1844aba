"""How stale a reply is: when the oldest text not yet visible on the platform arrived."""

from __future__ import annotations

from core.clock import Clock


class Progress:
    """Arrival time of the oldest unshown text, kept up to date at O(1) per delta.

    ``changed`` on every delta; ``snapshot`` right before a call carries everything that
    has arrived; ``shown(complete=True)`` after a call that left nothing of that snapshot
    unshown. Text that arrived while the call was in flight stays pending.
    """

    __slots__ = ("_clock", "_fresh", "since")

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self.since: float | None = None
        self._fresh: float | None = None

    def changed(self) -> None:
        if self._fresh is None:
            self._fresh = self._clock.monotonic()
            if self.since is None:
                self.since = self._fresh

    def snapshot(self) -> None:
        self._fresh = None

    def shown(self, *, complete: bool) -> None:
        if complete:
            self.since = self._fresh

    def since_or_now(self) -> float:
        return self._clock.monotonic() if self.since is None else self.since
