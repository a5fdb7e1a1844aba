"""One daemon thread running a store's blocking calls in order, each awaited a bounded time,
handing the calls that queued up meanwhile to the store together."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeAlias, TypeVar

T = TypeVar("T")

# One call's outcome: its result, or the exception it raised (the result is then None).
Outcome: TypeAlias = tuple[Any, BaseException | None]
# Runs calls that were waiting at the same time, in order (each with its deadline), and
# returns one outcome per call: a call's failure is that call's outcome. Should it raise (or
# return another number of outcomes), every call it was given fails with that error.
Together: TypeAlias = Callable[[Sequence[tuple[Callable[[float], Any], float]]], list[Outcome]]

# How many waiting calls are handed over at once: enough that under load most of a call's
# fixed cost is shared, few enough that the first of them is not held back long (64 sqlite
# store calls issued at once take about 1 ms of CPU: benchmarks/store_calls.py).
GROUP_LIMIT = 64

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

    With ``together``, the calls that queued up while the thread was busy (up to
    ``GROUP_LIMIT``) are handed to it at once, so that the store can do them in one
    transaction; their callers get their outcomes only once ``together`` has returned, and
    each of them counts as started when the group did. Without it, each call runs on its own.
    """

    def __init__(self, *, name: str, timeout: float, together: Together | None = None) -> None:
        if timeout <= 0:
            raise ValueError("the store timeout must be positive")
        self.timeout = timeout
        self._name = name
        self._together = together
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
        # Without ``together`` one at a time: a call not yet run can still be given up.
        limit = GROUP_LIMIT if self._together is not None else 1
        ending = False
        while not ending and (first := self._jobs.get()) is not None:
            jobs = [first]
            # Whatever else is waiting now goes with it, up to the limit.
            while len(jobs) < limit:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    ending = True
                    break
                jobs.append(job)
            started = self._start(jobs)
            if started:
                self._busy_since = time.monotonic()
                try:
                    self._perform(started)
                finally:
                    self._busy_since = None
            self._hand_back(jobs)

    def _start(self, jobs: list[_Job[Any]]) -> list[_Job[Any]]:
        """Mark ``jobs`` running (those whose callers gave up are left out) and fail those
        past their deadline; the ones left to run."""
        now = time.monotonic()
        started = []
        with self._lock:
            for job in jobs:
                if job.state == _DROPPED:
                    continue  # its caller gave up before it started
                job.state = _RUNNING
                if now >= job.deadline:
                    job.error = WorkerTimeout("timeout")
                else:
                    started.append(job)
        return started

    def _perform(self, jobs: list[_Job[Any]]) -> None:
        if self._together is None or len(jobs) == 1:
            (job,) = jobs
            try:
                job.result = job.fn(job.deadline)
            except BaseException as exc:
                job.error = exc
            return
        try:
            outcomes = self._together([(job.fn, job.deadline) for job in jobs])
            if len(outcomes) != len(jobs):
                raise RuntimeError(f"{len(jobs)} calls got {len(outcomes)} outcomes")
            for job, (result, error) in zip(jobs, outcomes, strict=True):
                job.result, job.error = result, error
        except BaseException as exc:
            # A broken ``together``: every caller hears of it rather than waiting out its
            # time, and the thread lives on to serve the next calls.
            for job in jobs:
                job.result, job.error = None, exc

    def _hand_back(self, jobs: list[_Job[Any]]) -> None:
        """Queue the outcomes of ``jobs`` (those run) for their loops, waking each loop unless
        a wake is pending."""
        woken: list[asyncio.AbstractEventLoop] = []
        with self._lock:
            for job in jobs:
                if job.state != _RUNNING:
                    continue
                # A loop with results already waiting has been woken for them and takes
                # these too.
                if job.loop not in self._finished:
                    woken.append(job.loop)
                self._finished.setdefault(job.loop, deque()).append(job)
        for loop in woken:
            try:
                loop.call_soon_threadsafe(self._deliver, loop)
            except RuntimeError:
                # The loop has closed: nobody waits for these results any more.
                with self._lock:
                    self._finished.pop(loop, None)

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
