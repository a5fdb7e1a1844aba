"""Which user message an answer quotes in a group.

The core hands ``post`` only a thread key, so the adapter remembers, per thread, the
messages it delivered in order; the bridge answers a thread's messages one at a time in that
order and calls ``reply_done`` after each, which moves on to the next.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# A delivery the bridge silently dropped (a redelivery after a restart) never gets its
# reply_done; entries older than this are stale and skipped rather than quoted.
STALE_AFTER = 600.0


@dataclass
class _Pending:
    message_id: int
    since: float
    quoted: bool = False


class ReplyTargets:
    """Per-thread queue of user messages awaiting an answer."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pending: dict[str, deque[_Pending]] = {}

    def delivered(self, *, thread: str, message_id: int) -> None:
        self._pending.setdefault(thread, deque()).append(
            _Pending(message_id=message_id, since=self._clock())
        )

    def _head(self, thread: str) -> _Pending | None:
        queue = self._pending.get(thread)
        while queue and self._clock() - queue[0].since > STALE_AFTER and len(queue) > 1:
            queue.popleft()
        return queue[0] if queue else None

    def quote_for_post(self, *, thread: str) -> int | None:
        """The message the next post should reply to: only the first post of each answer."""
        head = self._head(thread)
        if head is None or head.quoted:
            return None
        head.quoted = True
        return head.message_id

    def done(self, *, thread: str) -> None:
        queue = self._pending.get(thread)
        if queue:
            queue.popleft()
        if not queue:
            self._pending.pop(thread, None)
