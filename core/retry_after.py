"""Reads the wait a server asks for (Retry-After and the like) as bounded seconds."""

from __future__ import annotations

import email.utils
import math
import time

# A longer wait is a broken header, not advice anyone can follow.
MAX_RETRY_AFTER = 86_400.0


def parse_retry_after(*, value: str | float | None, now: float | None = None) -> float | None:
    """Read a wait given in seconds (text or number) or as an HTTP date; None if absent or bad.

    The result is between 0 and ``MAX_RETRY_AFTER``; ``inf`` or ``nan`` count as bad, since
    obeying them would pause whatever waits for ever. ``now`` (epoch seconds) is for dates.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond any float
            return None
    else:
        text = value.strip()
        if not text:
            return None
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError, OverflowError):
                return None
            current = time.time() if now is None else now
            seconds = when.timestamp() - current
    if not math.isfinite(seconds):
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))
