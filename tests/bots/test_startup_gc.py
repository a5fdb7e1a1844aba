"""What a bot built while starting is kept out of the garbage collector's later passes."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from knowrithm_bots.bots.startup_gc import freeze_startup_objects
from tests.bots.bare_runner import bare_runner


class Marker:
    """An object the collector tracks (instances of plain classes are)."""


def tracked(obj: object) -> bool:
    """Whether a collection walks ``obj``: frozen objects are in no generation."""
    return any(candidate is obj for candidate in gc.get_objects())


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """A process that has not frozen yet, and, after the test, one whose heap is all
    collectable again (the freeze is once per process; the test worker lives on)."""
    freeze_startup_objects.cache_clear()
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_freeze_happens_once_per_process(unfrozen: None) -> None:
    before = Marker()
    assert tracked(before)
    assert freeze_startup_objects() > 0
    assert not tracked(before)
    after = Marker()
    freeze_startup_objects()  # a second runner in the same process freezes nothing more
    assert tracked(after)


async def test_the_runner_freezes_what_it_built_once_started(unfrozen: None) -> None:
    async with bare_runner() as runner:
        assert gc.get_freeze_count() == 0  # constructing does nothing
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop=stop))
        await asyncio.wait_for(runner.started.wait(), 10)
        assert gc.get_freeze_count() > 0
        assert not tracked(runner)
        stop.set()
        await asyncio.wait_for(task, 10)
