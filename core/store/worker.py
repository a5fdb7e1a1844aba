"""One daemon thread running a store's blocking calls in order, each awaited a bounded time."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class WorkerTimeout(Exception):
    """A call did not finish within the worker's timeout, or the worker is stuck in another."""


@dataclass(frozen=True)
class _Job(Generic[T]):
    fn: Callable[[float], T]
    future: Future[T]
    deadline: float


class Worker:
    """Runs blocking calls one at a time on its own thread; callers wait ``timeout`` at most.

    Each call gets its deadline (``time.monotonic()`` seconds) so it can give up before
    committing what its caller was already told had failed. A call that times out before it
    started never runs. One that is running when it times out finishes in the background;
    while it stays stuck (a hung disk), every new call fails at once instead of queueing
    behind it. The thread is a daemon and ``close`` waits a bounded time, so a stuck call
    never keeps the process from exiting.
    """

    def __init__(self, *, name: str, timeout: float) -> None:
        if timeout <= 0:
            raise ValueError("the store timeout must be positive")
        self.timeout = timeout
        self._name = name
        self._jobs: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # Written by the thread, read by callers: a float or None, swapped atomically.
        self._busy_since: float | None = None

    def stuck_for(self) -> float:
        """How long the call now running has been running past the timeout (0: not stuck)."""
        since = self._busy_since
        if since is None:
            return 0.0
        return max(0.0, time.monotonic() - since - self.timeout)

    async def run(self, fn: Callable[[float], T]) -> T:
        """``fn(deadline)`` on the worker thread; raises what it raised, or WorkerTimeout."""
        if self.stuck_for() > 0:
            raise WorkerTimeout("busy")
        future: Future[T] = Future()
        self._jobs.put(_Job(fn=fn, future=future, deadline=time.monotonic() + self.timeout))
        self._ensure_thread()
        try:
            # wrap_future cancels ``future`` when the wait is given up: unstarted, it never runs.
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            raise WorkerTimeout("timeout") from None

    async def close(self, *, last: Callable[[float], object]) -> bool:
        """Run ``last`` after every call queued so far, then end the thread; False when that
        did not happen within the timeout (the thread is then left to end on its own)."""
        if self._thread is None:
            return True
        try:
            await self.run(last)
        except WorkerTimeout:
            return False
        finally:
            self._jobs.put(None)
        return True

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            if not job.future.set_running_or_notify_cancel():
                continue  # its caller gave up before it started
            if time.monotonic() >= job.deadline:
                job.future.set_exception(WorkerTimeout("timeout"))
                continue
            self._busy_since = time.monotonic()
            try:
                result = job.fn(job.deadline)
            except BaseException as exc:
                job.future.set_exception(exc)
            else:
                job.future.set_result(result)
            finally:
                self._busy_since = None
