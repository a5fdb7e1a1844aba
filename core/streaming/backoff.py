"""How long a reply waits after the platform refused a call: 429s and outages alike."""

from __future__ import annotations

MAX_UNAVAILABLE_RETRIES = 5
# A 429 saying "retry after 0" must not turn into a retry loop at network speed.
MIN_RATE_LIMIT_WAIT = 0.5
_FIRST_OUTAGE_WAIT = 0.5
_LONGEST_OUTAGE_WAIT = 8.0


def rate_limit_wait(retry_after: float, *, paced: bool) -> float:
    """Seconds to wait after a 429 that asked for ``retry_after``. A ``paced`` call's
    budget bucket already slows down after each 429, which spaces the retries; an unpaced
    one waits at least ``MIN_RATE_LIMIT_WAIT``."""
    return max(retry_after, 0.0) if paced else max(retry_after, MIN_RATE_LIMIT_WAIT)


class Outages:
    """Consecutive failures of a platform that is down; the wait grows with each one."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def failed(self) -> float | None:
        """Count a failure: the seconds to wait before retrying, or None when it is time to
        give up (more than ``MAX_UNAVAILABLE_RETRIES`` in a row)."""
        self.count += 1
        if self.count > MAX_UNAVAILABLE_RETRIES:
            return None
        return min(2.0 ** (self.count - 1) * _FIRST_OUTAGE_WAIT, _LONGEST_OUTAGE_WAIT)

    def recovered(self) -> None:
        self.count = 0
