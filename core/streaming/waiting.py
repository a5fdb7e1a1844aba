"""How long a user waits for an answer: a notice when the first words are slow, then a limit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from knowrithm_bots.core.clock import Clock
from knowrithm_bots.core.errors import AnswerTimeout

T = TypeVar("T")


async def watched(
    work: Awaitable[T],
    *,
    clock: Clock,
    grew_at: Callable[[], float | None],
    notify: Callable[[], Awaitable[object]],
    notice_after: float | None,
    give_up_after: float,
) -> T:
    """What ``work`` (getting one answer) returns, unless the user waits too long.

    ``grew_at`` is when the answer last grew (``clock.monotonic()``; None before its first
    words). While there are none ``notice_after`` seconds in, ``notify`` runs once (a "still
    working" notice; None: never). When the answer has not grown for ``give_up_after``
    seconds (no first words, or no next ones), ``work`` is cancelled and AnswerTimeout
    raised: the caller ends the reply with a sentence. A notice still being posted is
    waited for, so it is never cut off.
    """
    task = asyncio.ensure_future(work)
    notices: list[asyncio.Task[object]] = []
    watch = asyncio.create_task(
        _silence(
            clock=clock,
            grew_at=grew_at,
            notice=lambda: notices.append(asyncio.ensure_future(notify())),
            notice_after=notice_after,
            give_up_after=give_up_after,
        )
    )
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        for pending in (task, watch, *notices):
            pending.cancel()
        await asyncio.wait({task, watch, *notices})
        raise
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
    gave_up = not task.done()
    if gave_up:
        task.cancel()
        await asyncio.wait({task})
    if notices:
        await asyncio.wait(notices)
    # An answer that made it just as the limit struck is still the answer.
    if gave_up and (task.cancelled() or task.exception() is not None):
        raise AnswerTimeout(f"Knowrithm sent no new words for {give_up_after:g} s; gave up")
    return task.result()


async def _silence(
    *,
    clock: Clock,
    grew_at: Callable[[], float | None],
    notice: Callable[[], None],
    notice_after: float | None,
    give_up_after: float,
) -> None:
    """Return once the answer has not grown for ``give_up_after`` seconds; call ``notice``
    once if it has not begun ``notice_after`` seconds in."""
    start = now = clock.monotonic()
    noticed = notice_after is None
    while True:
        grew = grew_at()
        since = start if grew is None else max(grew, start)
        notice_due = None if noticed or grew is not None else start + (notice_after or 0.0)
        if notice_due is not None and now >= notice_due:
            noticed, notice_due = True, None
            notice()
        wake = since + give_up_after
        if now >= wake:
            return
        if notice_due is not None:
            wake = min(wake, notice_due)
        await clock.sleep(wake - now)
        # A sleep ends once its time has come: rounding must not make it come a hair later.
        now = max(clock.monotonic(), wake)
