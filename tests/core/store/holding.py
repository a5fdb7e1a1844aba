"""Keeping a store's thread busy on purpose, so that the calls made meanwhile queue up."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any


async def held(
    submit: Callable[[Callable[[Any], bool]], Awaitable[Any]],
) -> tuple[threading.Event, asyncio.Future[Any]]:
    """Give the thread, through ``submit`` (a worker's ``run``, a store's ``_read``), a call
    that blocks until the returned event is set; returns once the thread has taken it."""
    taken, release = threading.Event(), threading.Event()

    def hold(_argument: Any) -> bool:
        taken.set()
        return release.wait(10)

    busy = asyncio.ensure_future(submit(hold))
    assert await asyncio.to_thread(taken.wait, 10)
    return release, busy
