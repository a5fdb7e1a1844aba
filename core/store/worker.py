"""One daemon thread running a store's blocking calls in order, each awaited a bounded time."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# A job's life: queued until the thread takes it (running) or its caller gives up (dropped).
_QUEUED, _RUNNING, _DROPPED = 0, 1, 2


class WorkerTimeout(Exception):
    """A call did not finish within the worker's timeout, or the worker is stuck in another."""


class _Job(Generic[T]):
    __slots__ = ("deadline", "error", "fn", "loop", "result", "state", "waiter")

    def __init__(
        self,
        *,
        fn: Callable[[float], T],
        deadline: float,
        loop: asyncio.AbstractEventLoop,
        waiter: asyncio.Future[T],
    ) -> None:
        self.fn = fn
        self.deadline = deadline
        self.loop = loop
        self.waiter = waiter
        self.state = _QUEUED
        self.result: T | None = None
        self.error: BaseException | None = None


class Worker:
    """Runs blocking calls one at a time on its own thread; callers wait ``timeout`` at most.

    Each call gets its deadline (``time.monotonic()`` seconds) so it can give up before
    committing what its caller was already told had failed. A call that times out before it
    started never runs. One that is running when it times out finishes in the background;
    while it stays stuck (a hung disk), every new call fails at once instead of queueing
    behind it. The thread is a daemon and ``close`` waits a bounded time, so a stuck call
    never keeps the process from exiting.

    Results go back to the event loop in batches: the thread wakes the loop once for every
    result it finishes while the loop has not yet taken the last ones, not once per result.
    A store call costs little beside that wake-up, so under load (a thousand questions at
    once, each a few store calls) this is most of what the store costs.
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
        # Guards each job's state and the finished jobs waiting for their loop.
        self._lock = threading.Lock()
        self._finished: dict[asyncio.AbstractEventLoop, deque[_Job[Any]]] = {}

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
        loop = asyncio.get_running_loop()
        job: _Job[T] = _Job(
            fn=fn,
            deadline=time.monotonic() + self.timeout,
            loop=loop,
            waiter=loop.create_future(),
        )
        self._jobs.put(job)
        self._ensure_thread()
        timer = loop.call_later(self.timeout, self._time_out, job)
        try:
            return await job.waiter
        except asyncio.CancelledError:
            self._drop(job)  # unstarted, it never runs
            raise
        finally:
            timer.cancel()

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

    def _time_out(self, job: _Job[Any]) -> None:
        if not job.waiter.done():
            self._drop(job)
            job.waiter.set_exception(WorkerTimeout("timeout"))

    def _drop(self, job: _Job[Any]) -> None:
        with self._lock:
            if job.state == _QUEUED:
                job.state = _DROPPED

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            with self._lock:
                if job.state == _DROPPED:
                    continue  # its caller gave up before it started
                job.state = _RUNNING
            if time.monotonic() >= job.deadline:
                job.error = WorkerTimeout("timeout")
            else:
                self._busy_since = time.monotonic()
                try:
                    job.result = job.fn(job.deadline)
                except BaseException as exc:
                    job.error = exc
                finally:
                    self._busy_since = None
            self._hand_back(job)

    def _hand_back(self, job: _Job[Any]) -> None:
        """Queue ``job``'s outcome for its loop, waking the loop unless a wake is pending."""
        with self._lock:
            # A loop with results already waiting has been woken for them and takes these too.
            wake = job.loop not in self._finished
            self._finished.setdefault(job.loop, deque()).append(job)
        if wake:
            try:
                job.loop.call_soon_threadsafe(self._deliver, job.loop)
            except RuntimeError:
                # The loop has closed: nobody waits for these results any more.
                with self._lock:
                    self._finished.pop(job.loop, None)

    def _deliver(self, loop: asyncio.AbstractEventLoop) -> None:
        """On ``loop``: give every finished job's caller its outcome."""
        with self._lock:
            finished = self._finished.pop(loop, ())
        for job in finished:
            if job.waiter.done():
                continue  # timed out or cancelled meanwhile
            if job.error is not None:
                job.waiter.set_exception(job.error)
            else:
                job.waiter.set_result(job.result)
            job.error = job.result = None  # a traceback must not outlive the call
