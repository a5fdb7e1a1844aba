"""Hands the heap memory the bot has freed back to the operating system, once a minute."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import time
from collections.abc import Callable

from knowrithm_bots.core.clock import Clock

log = logging.getLogger(__name__)

# Often enough that a bot's RSS follows what it holds within a minute; rare enough that the
# trim (a millisecond or so for a bot's heap of tens of MB, off the event loop) costs nothing.
TRIM_INTERVAL = 60.0


@functools.cache
def malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, looked up once; None where the C library has none (musl,
    macOS), which keep no freed memory the same way."""
    try:
        # The symbols already loaded into this process, libc's among them: unlike
        # ``ctypes.util.find_library``, no ``ldconfig`` child process.
        loaded = ctypes.CDLL(None)
    except (OSError, TypeError):  # Windows has no such handle
        return None
    function = getattr(loaded, "malloc_trim", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


def trim_heap() -> bool:
    """Give the free pages of every malloc arena back to the OS; whether any were given.

    Why a bot needs it: glibc keeps freed memory for reuse, and a bot's allocations are
    many and small (JSON bodies, stream buffers, sqlite's pages in its own thread's arena),
    so the freed pages are scattered between live ones and never sit at the top of a heap,
    the only place glibc trims on its own. The freed-but-kept bytes then climbed by about
    0.3 MB a minute for 25 minutes in a soak at 5 new threads a second, while the bytes in
    use stayed flat (``benchmarks/results/soak_30min``). To an operator that looks like a
    leak, and it counts against a container's memory limit.
    """
    trim = malloc_trim()
    if trim is None:
        return False
    return bool(trim(0))


class HeapTrimmer:
    """Trims the heap every ``interval`` seconds until cancelled.

    ``BotRunner.run`` runs one for the life of the bot. The trim runs in a thread (ctypes
    lets go of the GIL): it takes a millisecond or so at a bot's heap sizes, which the event
    loop would otherwise spend not reading anyone's answer.
    """

    def __init__(self, *, clock: Clock, interval: float = TRIM_INTERVAL) -> None:
        if interval <= 0:
            raise ValueError("HeapTrimmer interval must be positive.")
        self._clock = clock
        self._interval = interval
        self.trims = 0

    @property
    def available(self) -> bool:
        """Whether this C library can trim at all (glibc)."""
        return malloc_trim() is not None

    async def run(self) -> None:
        """Trim once per interval, forever; returns at once where trimming is unavailable."""
        if not self.available:
            log.debug("the C library has no malloc_trim: freed memory stays with the process")
            return
        while True:
            await self._clock.sleep(self._interval)
            started = time.perf_counter()
            await asyncio.to_thread(trim_heap)
            self.trims += 1
            log.debug("heap trimmed in %.2f ms", (time.perf_counter() - started) * 1e3)
