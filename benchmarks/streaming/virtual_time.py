"""An asyncio event loop whose clock jumps ahead whenever every task is waiting on a timer.

Simulated hours pass in the CPU time the work itself needs, and the CPU spent is still real.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Mapping
from typing import Any


class _IdleSelector(selectors.BaseSelector):
    """Nothing ever becomes readable: a wait of ``timeout`` seconds just moves time on."""

    def __init__(self) -> None:
        self.now = 0.0
        self._keys: dict[int, selectors.SelectorKey] = {}

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        return self._keys.pop(fd)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise RuntimeError("every task waits for something that no timer will bring")
        self.now += max(0.0, timeout)
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._keys

    def close(self) -> None:
        self._keys.clear()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``loop.time()`` is simulated seconds since the loop was made."""

    def __init__(self) -> None:
        self._idle = _IdleSelector()
        super().__init__(selector=self._idle)

    def time(self) -> float:
        return self._idle.now


class LoopClock:
    """The core's ``Clock`` on top of the running loop's (virtual) time."""

    def now(self) -> float:
        return 1_700_000_000.0 + asyncio.get_running_loop().time()

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
