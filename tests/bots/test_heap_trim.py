"""Freed heap memory goes back to the OS: once a minute while the bot runs."""

from __future__ import annotations

import asyncio
import os

import pytest

from knowrithm_bots.bots.heap_trim import TRIM_INTERVAL, HeapTrimmer, malloc_trim, trim_heap
from knowrithm_bots.core.testing import ManualClock
from tests.bots.bare_runner import bare_runner
from tests.support import eventually

glibc_only = pytest.mark.skipif(malloc_trim() is None, reason="the C library has no malloc_trim")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@glibc_only
def test_a_trim_gives_back_memory_freed_between_live_blocks() -> None:
    # 100 KB blocks come from malloc's heap (below its 128 KB mmap threshold). Keeping every
    # tenth leaves the freed ones between live blocks, where glibc never trims on its own.
    blocks = [bytearray(100_000) for _ in range(1_500)]
    kept = blocks[::10]
    del blocks
    before = rss_mb()
    assert trim_heap()
    assert before - rss_mb() > 60, "the ~130 MB freed stayed with the process"
    assert len(kept) == 150


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        HeapTrimmer(clock=ManualClock(), interval=0)


@glibc_only
async def test_the_runner_trims_every_minute_until_it_stops() -> None:
    clock = ManualClock()
    async with bare_runner(clock=clock) as runner:
        assert runner.heap_trimmer.trims == 0  # constructing does nothing
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop=stop))
        await asyncio.wait_for(runner.started.wait(), 30)
        clock.advance(TRIM_INTERVAL)
        await eventually(lambda: runner.heap_trimmer.trims == 1, what="the first trim")
        clock.advance(TRIM_INTERVAL)
        await eventually(lambda: runner.heap_trimmer.trims == 2, what="the second trim")
        stop.set()
        await asyncio.wait_for(task, 30)
        assert not [t for t in asyncio.all_tasks() if t.get_name() == "heap trim"]
        clock.advance(TRIM_INTERVAL)
        await asyncio.sleep(0.05)
        assert runner.heap_trimmer.trims == 2
