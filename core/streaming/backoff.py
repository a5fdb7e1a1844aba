"""How long a reply waits after the platform refused a call: 429s and outages alike."""

from __future__ import annotations

import math

from knowrithm_bots.core.retry_after import MAX_RETRY_AFTER

MAX_UNAVAILABLE_RETRIES = 5
# A 429 saying "retry after 0" must not turn into a retry loop at network speed.
MIN_RATE_LIMIT_WAIT = 0.5
# A 429 whose wait is no number (inf, nan: a header an adapter could not make sense of)
# waits as long as the adapters wait when the platform names no wait at all.
UNKNOWN_RATE_LIMIT_WAIT = 1.0
# No 429 blocks a scope for longer: a platform asking for more misreports, and a reply
# must not hang for ever on one answer.
LONGEST_RATE_LIMIT_WAIT = MAX_RETRY_AFTER
_FIRST_OUTAGE_WAIT = 0.5
_LONGEST_OUTAGE_WAIT = 8.0


def rate_limit_wait(retry_after: float, *, paced: bool) -> float:
    """Seconds to wait after a 429 that asked for ``retry_after``. A ``paced`` call's
    budget bucket already slows down after each 429, which spaces the retries; an unpaced
    one waits at least ``MIN_RATE_LIMIT_WAIT``."""
    if not math.isfinite(retry_after):
        retry_after = UNKNOWN_RATE_LIMIT_WAIT
    shortest = 0.0 if paced else MIN_RATE_LIMIT_WAIT
    return min(max(retry_after, shortest), LONGEST_RATE_LIMIT_WAIT)


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
