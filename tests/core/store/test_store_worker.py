"""The store's worker thread: every wait is bounded, a stuck call blocks neither the callers
nor the process's exit, a call given up before it started never runs, and calls waiting at
once are handed to the store together."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from knowrithm_bots.core.store.worker import GROUP_LIMIT, Outcome, Worker, WorkerTimeout
from tests.core.store.holding import held


async def test_calls_run_in_order_on_another_thread() -> None:
    worker = Worker(name="t", timeout=5)
    seen: list[tuple[int, str]] = []

    def record(n: int) -> int:
        seen.append((n, threading.current_thread().name))
        return n

    results = await asyncio.gather(*(worker.run(lambda _d, n=n: record(n)) for n in range(20)))
    assert results == list(range(20))
    assert [n for n, _ in seen] == list(range(20))
    assert {name for _, name in seen} == {"t"}
    assert await worker.close(last=lambda _d: None)


async def test_an_error_reaches_the_caller() -> None:
    worker = Worker(name="t", timeout=5)

    def boom(_deadline: float) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await worker.run(boom)
    assert await worker.run(lambda _d: "still serving") == "still serving"


async def test_a_stuck_call_times_out_and_later_calls_fail_at_once() -> None:
    worker = Worker(name="t", timeout=0.3)
    release = threading.Event()
    ran: list[str] = []
    try:
        started = time.monotonic()
        with pytest.raises(WorkerTimeout):
            await worker.run(lambda _d: release.wait())
        assert 0.25 <= time.monotonic() - started < 2
        # Queued behind the stuck call, this one is given up before it starts...
        with pytest.raises(WorkerTimeout):
            await worker.run(lambda _d: ran.append("late"))
        # ...and once the call is stuck past the timeout, new ones fail without waiting.
        await asyncio.sleep(0.1)
        assert worker.stuck_for() > 0
        started = time.monotonic()
        with pytest.raises(WorkerTimeout):
            await worker.run(lambda _d: ran.append("later"))
        assert time.monotonic() - started < 0.1
        assert not await worker.close(last=lambda _d: None)  # bounded, though stuck
    finally:
        release.set()
    await asyncio.sleep(0.2)
    assert ran == []  # calls their callers gave up on never ran


async def test_a_call_sees_its_deadline() -> None:
    worker = Worker(name="t", timeout=1.5)
    before = time.monotonic()
    deadline = await worker.run(lambda d: d)
    assert before + 1.4 <= deadline <= time.monotonic() + 1.5
    await worker.close(last=lambda _d: None)


def test_a_call_stuck_for_good_does_not_keep_the_process_from_exiting() -> None:
    program = textwrap.dedent(
        """
        import asyncio, threading
        from knowrithm_bots.core.store.worker import Worker, WorkerTimeout

        async def main():
            worker = Worker(name="store", timeout=0.2)
            try:
                await worker.run(lambda _d: threading.Event().wait())
            except WorkerTimeout:
                print("timed out", flush=True)
            print("closed" if await worker.close(last=lambda _d: None) else "left", flush=True)

        asyncio.run(main())
        """
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["timed", "out", "left"]
    assert time.monotonic() - started < 10


async def test_results_finished_while_the_loop_is_busy_come_back_in_one_wake_up() -> None:
    """The thread wakes the loop once for every result it finishes while the loop has not
    taken the earlier ones: under load, one wake-up carries many results, not one each."""
    worker = Worker(name="t", timeout=5)
    await worker.run(lambda _d: None)  # the thread is running
    loop = asyncio.get_running_loop()
    wakes = 0
    wake = loop.call_soon_threadsafe

    def counted(callback: object, *args: object) -> asyncio.Handle:
        nonlocal wakes
        wakes += 1
        return wake(callback, *args)  # type: ignore[arg-type]

    loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
    try:
        calls = [asyncio.ensure_future(worker.run(lambda _d, n=n: n)) for n in range(200)]
        await asyncio.sleep(0)  # every call is queued
        # Blocking on purpose: the loop is busy while the thread answers all 200.
        time.sleep(0.3)  # noqa: ASYNC251
        assert await asyncio.gather(*calls) == list(range(200))
    finally:
        del loop.call_soon_threadsafe
    assert 1 <= wakes <= 2
    assert await worker.close(last=lambda _d: None)


async def test_a_call_cancelled_before_it_started_never_runs() -> None:
    worker = Worker(name="t", timeout=5)
    release = threading.Event()
    ran: list[str] = []
    blocking = asyncio.ensure_future(worker.run(lambda _d: release.wait()))
    queued = asyncio.ensure_future(worker.run(lambda _d: ran.append("queued")))
    await asyncio.sleep(0.05)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    release.set()
    assert await blocking is True
    assert await worker.run(lambda _d: "after") == "after"
    assert ran == []
    assert await worker.close(last=lambda _d: None)


def test_one_worker_serves_one_event_loop_after_another() -> None:
    """A store outlives an ``asyncio.run`` (a command that runs several): its worker hands
    each result to the loop that asked, also once an earlier loop has closed."""
    worker = Worker(name="t", timeout=5)

    async def ask(n: int) -> list[int]:
        return list(await asyncio.gather(*(worker.run(lambda _d, k=k: k) for k in range(n))))

    assert asyncio.run(ask(5)) == list(range(5))
    assert asyncio.run(ask(7)) == list(range(7))

    async def close() -> bool:
        return await worker.close(last=lambda _d: None)

    assert asyncio.run(close())


async def test_calls_waiting_at_once_are_handed_over_together_in_order() -> None:
    groups: list[list[object]] = []

    def together(calls: Sequence[tuple[Callable[[float], Any], float]]) -> list[Outcome]:
        groups.append([fn(deadline) for fn, deadline in calls])
        return [(n, ValueError(n) if n == 3 else None) for n in groups[-1]]

    worker = Worker(name="t", timeout=5, together=together)
    release, blocking = await held(worker.run)
    calls = [asyncio.ensure_future(worker.run(lambda _d, n=n: n)) for n in range(100)]
    await asyncio.sleep(0.05)
    release.set()
    assert await blocking is True
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes[:3] == [0, 1, 2] and isinstance(outcomes[3], ValueError)
    assert outcomes[4:] == list(range(4, 100))
    # The blocking call ran alone; the hundred waiting behind it in groups of the limit.
    assert [len(group) for group in groups] == [GROUP_LIMIT, 100 - GROUP_LIMIT]
    assert [n for group in groups for n in group] == list(range(100))
    assert await worker.close(last=lambda _d: None)


@pytest.mark.parametrize("outcomes", [[], [(1, None), "not an outcome", (3, None)]])
async def test_a_broken_together_fails_its_callers_and_the_worker_goes_on(
    outcomes: list[Any],
) -> None:
    def together(calls: Sequence[tuple[Callable[[float], Any], float]]) -> list[Outcome]:
        return outcomes

    worker = Worker(name="t", timeout=5, together=together)
    release, blocking = await held(worker.run)
    calls = [asyncio.ensure_future(worker.run(lambda _d, n=n: n)) for n in range(3)]
    await asyncio.sleep(0.05)
    release.set()
    await blocking
    failed = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(o, RuntimeError | ValueError) for o in failed), failed
    assert await worker.run(lambda _d: "alone") == "alone"
    assert await worker.close(last=lambda _d: None)


async def test_without_together_calls_queued_at_once_still_start_one_at_a_time() -> None:
    """Calls queued in the same instant are taken one by one, so that one given up while an
    earlier one runs never runs."""
    worker = Worker(name="t", timeout=5)
    release = threading.Event()
    ran: list[int] = []

    def first(_deadline: float) -> None:
        release.wait(10)
        ran.append(0)

    # Queued before the thread can take either: both ``put``s happen in this loop turn.
    calls = [
        asyncio.ensure_future(worker.run(first)),
        asyncio.ensure_future(worker.run(lambda _d: ran.append(1))),
    ]
    await asyncio.sleep(0.05)
    calls[1].cancel()
    with pytest.raises(asyncio.CancelledError):
        await calls[1]  # given up (its job dropped) while the first still runs
    release.set()
    await calls[0]
    assert await worker.run(lambda _d: "after") == "after"
    assert ran == [0]
    assert await worker.close(last=lambda _d: None)
