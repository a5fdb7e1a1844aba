"""Run streaming scenarios on a ManualClock, jumping straight to the next sleeper's deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from knowrithm_bots.core.streaming import ReplyStream
from knowrithm_bots.core.testing import ManualClock

T = TypeVar("T")

SETTLE_ROUNDS = 60


async def settle() -> None:
    """Let every task that can run without time passing do so."""
    for _ in range(SETTLE_ROUNDS):
        await asyncio.sleep(0)


async def drive(clock: ManualClock, work: Awaitable[T], *, limit: float = 600.0) -> T:
    """Await ``work`` while moving the clock from one pending deadline to the next."""
    task = asyncio.ensure_future(work)
    start = clock.monotonic()
    try:
        while True:
            await settle()
            if task.done():
                return task.result()
            deadlines = [at for at, future in clock._waiters if not future.done()]
            assert deadlines, "nothing left to wake: the scenario is stuck"
            clock.advance(max(0.0, min(deadlines) - clock.monotonic()))
            assert clock.monotonic() - start <= limit, "scenario ran past its time limit"
    finally:
        if not task.done():
            task.cancel()


async def agent(
    clock: ManualClock,
    reply: ReplyStream,
    pieces: Sequence[str],
    *,
    first: float = 0.5,
    every: float = 0.02,
) -> list[str]:
    """Feed ``pieces`` like an agent (first after ``first`` s, then one per ``every`` s)."""
    reply.start()
    await clock.sleep(first)
    for index, piece in enumerate(pieces):
        if index:
            await clock.sleep(every)
        reply.feed(piece)
    return await reply.finish(text="".join(pieces))


def words(count: int, *, word: str = "word") -> list[str]:
    """``count`` deltas of one word each, with a sentence end every tenth word."""
    return [f"{word}{i}{'.' if i % 10 == 9 else ''} " for i in range(count)]
