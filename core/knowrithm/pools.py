"""The two connection pools to Knowrithm, one for reply streams and one for calls, sized from
the number of replies that may run at once, so neither can starve the other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

TransportWrapper = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]

# Calls that are not part of a reply (the idle sweep ending conversations, ratings, health
# probes, lead look-ups) get this many connections beyond one per reply in progress.
EXTRA_CALLS = 8


@dataclass(frozen=True, kw_only=True)
class PoolSizes:
    """How many connections each pool may open for ``concurrency`` replies at once.

    A reply holds its stream for the whole answer and, meanwhile, makes one call at a time
    (the chat POST, then perhaps a task poll or a history read). Streams and calls therefore
    live in separate pools: a call never waits for a stream to end, and a call connection is
    held only for one request, so a reply waiting for a call always gets one. Each pool has
    one connection per reply (the call pool ``EXTRA_CALLS`` more), and every connection may
    stay open between requests, so a steady load does not reconnect.
    """

    streams: int
    calls: int

    @classmethod
    def for_concurrency(cls, concurrency: int) -> PoolSizes:
        if concurrency < 1:
            raise ValueError("The Knowrithm client needs a concurrency of at least 1.")
        return cls(streams=concurrency, calls=concurrency + EXTRA_CALLS)
