"""What a bot built while starting is kept out of the garbage collector's later passes, its
youngest generation is collected less often, and a thread waiting for the GIL gets it sooner."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Iterator

import pytest

from knowrithm_bots.bots.process_tuning import (
    INTERPRETER_SWITCH_INTERVAL,
    INTERPRETER_YOUNG_THRESHOLD,
    SWITCH_INTERVAL,
    YOUNG_THRESHOLD,
    tune_process,
)
from tests.bots.bare_runner import bare_runner


class Marker:
    """An object the collector tracks (instances of plain classes are)."""


def tracked(obj: object) -> bool:
    """Whether a collection walks ``obj``: frozen objects are in no generation."""
    return any(candidate is obj for candidate in gc.get_objects())


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """A process that has not been tuned yet, with the interpreter's settings, and, after the
    test, one whose heap is all collectable again and whose settings are as they were (it is
    once per process; the test worker lives on)."""
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    tune_process.cache_clear()
    gc.unfreeze()
    gc.set_threshold(INTERPRETER_YOUNG_THRESHOLD, *thresholds[1:])
    sys.setswitchinterval(INTERPRETER_SWITCH_INTERVAL)
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    sys.setswitchinterval(interval)


def test_the_freeze_happens_once_per_process(unfrozen: None) -> None:
    before = Marker()
    assert tracked(before)
    assert tune_process() > 0
    assert not tracked(before)
    after = Marker()
    tune_process()  # a second runner in the same process freezes nothing more
    assert tracked(after)


async def test_the_runner_freezes_what_it_built_once_started(unfrozen: None) -> None:
    async with bare_runner() as runner:
        assert gc.get_freeze_count() == 0  # constructing does nothing
        assert gc.get_threshold()[0] == INTERPRETER_YOUNG_THRESHOLD
        assert sys.getswitchinterval() == INTERPRETER_SWITCH_INTERVAL
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop=stop))
        await asyncio.wait_for(runner.started.wait(), 10)
        assert gc.get_freeze_count() > 0
        assert not tracked(runner)
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert sys.getswitchinterval() == SWITCH_INTERVAL
        stop.set()
        await asyncio.wait_for(task, 10)


def test_the_young_threshold_rises_but_the_older_two_stay(unfrozen: None) -> None:
    middle, old = gc.get_threshold()[1:]
    tune_process()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)


def test_settings_the_program_chose_are_kept(unfrozen: None) -> None:
    gc.set_threshold(5_000, 15, 12)
    sys.setswitchinterval(0.002)
    tune_process()
    assert gc.get_threshold() == (5_000, 15, 12)
    assert sys.getswitchinterval() == 0.002
