"""Runs jobs in order within each thread and concurrently across threads, with a bound."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class ThreadQueue:
    """One worker task per busy thread; at most ``concurrency`` jobs run at once (None: no
    bound beyond one job per thread).

    A job that raises is logged and the thread's next job runs: one broken thread never
    stops another.
    """

    def __init__(self, *, concurrency: int | None) -> None:
        self._slots: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Semaphore(concurrency) if concurrency is not None else contextlib.nullcontext()
        )
        self._pending: dict[str, deque[Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._waiting = 0  # jobs taken from their thread's line, waiting for a slot
        self._closed = False

    @property
    def queued(self) -> int:
        """Jobs submitted and not started yet (behind their thread's earlier jobs, or
        waiting for a free slot); for metrics."""
        return sum(len(jobs) for jobs in self._pending.values()) + self._waiting

    @property
    def closed(self) -> bool:
        """True once ``close`` or ``cancel`` was called: nothing more is accepted."""
        return self._closed

    def submit(self, *, thread: str, job: Job) -> None:
        if self._closed:
            raise RuntimeError("the thread queue is closed")
        self._pending.setdefault(thread, deque()).append(job)
        if thread not in self._workers:
            self._workers[thread] = asyncio.create_task(self._work(thread), name=f"thread {thread}")

    async def _work(self, thread: str) -> None:
        try:
            while True:
                jobs = self._pending.get(thread)
                if not jobs:
                    self._pending.pop(thread, None)
                    return
                job = jobs.popleft()
                self._waiting += 1
                waiting = True
                try:
                    async with self._slots:
                        self._waiting -= 1
                        waiting = False
                        try:
                            await job()
                        except asyncio.CancelledError:
                            raise
                        except Exception:
                            log.exception("a job in thread %s failed", thread)
                finally:
                    if waiting:  # cancelled while waiting for a slot
                        self._waiting -= 1
        finally:
            self._workers.pop(thread, None)

    async def drain(self) -> None:
        """Wait until every submitted job, including ones submitted meanwhile, has run."""
        while self._workers:
            await asyncio.gather(*self._workers.values(), return_exceptions=True)

    def close(self) -> None:
        """Accept nothing more; jobs already submitted still run (``drain`` waits for them)."""
        self._closed = True

    async def cancel(self) -> None:
        """Stop every worker now and accept nothing more; queued jobs are dropped."""
        self._closed = True
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pending.clear()
