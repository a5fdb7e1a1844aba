"""The wait for an answer: one "still working" notice when the first words are slow, a limit."""

from __future__ import annotations

import asyncio

import pytest

from knowrithm_bots.core.errors import AnswerTimeout
from knowrithm_bots.core.streaming.waiting import watched
from knowrithm_bots.core.testing import ManualClock


class Answer:
    """An answer being written: its text grows when the test says, it ends when told."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock
        self._text = ""
        self.grew_at: float | None = None
        self.done = asyncio.Event()
        self.cancelled = False
        self.notices: list[float] = []

    async def work(self) -> str:
        try:
            await self.done.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self.text

    @property
    def text(self) -> str:
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value
        self.grew_at = self._clock.monotonic()


async def start(
    answer: Answer,
    clock: ManualClock,
    *,
    notice_after: float | None = 15,
    give_up_after: float = 120,
) -> asyncio.Task[str]:
    async def notify() -> None:
        answer.notices.append(clock.monotonic())

    task = asyncio.create_task(
        watched(
            answer.work(),
            clock=clock,
            grew_at=lambda: answer.grew_at,
            notify=notify,
            notice_after=notice_after,
            give_up_after=give_up_after,
        )
    )
    await settle()
    return task


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def advance(clock: ManualClock, seconds: float) -> None:
    clock.advance(seconds)
    await settle()


async def test_a_slow_first_word_gets_one_notice_then_the_answer() -> None:
    clock = ManualClock()
    answer = Answer(clock)
    task = await start(answer, clock)
    await advance(clock, 14.9)
    assert answer.notices == []
    await advance(clock, 0.1)
    assert answer.notices == [15.0]
    await advance(clock, 60)
    assert answer.notices == [15.0]  # once, not again
    answer.text = "Hello"
    answer.done.set()
    assert await task == "Hello"
    assert answer.notices == [15.0]


async def test_no_notice_once_the_first_words_arrived() -> None:
    clock = ManualClock()
    answer = Answer(clock)
    task = await start(answer, clock)
    await advance(clock, 10)
    answer.text = "Hel"
    await advance(clock, 30)
    answer.done.set()
    assert await task == "Hel"
    assert answer.notices == []


async def test_no_notice_when_switched_off() -> None:
    clock = ManualClock()
    answer = Answer(clock)
    task = await start(answer, clock, notice_after=None)
    await advance(clock, 100)
    answer.done.set()
    await task
    assert answer.notices == []


async def test_an_answer_that_never_starts_is_given_up_at_the_limit() -> None:
    clock = ManualClock()
    answer = Answer(clock)
    task = await start(answer, clock)
    await advance(clock, 119.9)
    assert not task.done()
    await advance(clock, 0.1)
    with pytest.raises(AnswerTimeout, match="120 s"):
        await task
    assert answer.cancelled
    assert len(answer.notices) == 1  # shown while the clock jumped past 15 s


async def test_the_limit_counts_from_the_last_new_words() -> None:
    clock = ManualClock()
    answer = Answer(clock)
    task = await start(answer, clock)
    await advance(clock, 100)
    answer.text = "Once upon"
    await advance(clock, 100)  # 200 s in, but only 100 s since the last words
    assert not task.done()
    answer.text = "Once upon a time"
    await advance(clock, 119)
    assert not task.done()
    await advance(clock, 2)
    with pytest.raises(AnswerTimeout):
        await task
    assert answer.cancelled


async def test_an_answer_finished_as_the_limit_strikes_is_kept() -> None:
    clock = ManualClock()
    answer = Answer(clock)
    task = await start(answer, clock, give_up_after=5)
    answer.text = "all of it"
    answer.done.set()  # finished, not yet seen by the watcher...
    clock.advance(10)  # ...when the limit strikes
    assert await task == "all of it"


async def test_a_failing_answer_fails_with_its_own_error() -> None:
    clock = ManualClock()

    async def broken() -> str:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await watched(
            broken(),
            clock=clock,
            grew_at=lambda: None,
            notify=asyncio.sleep,  # type: ignore[arg-type]
            notice_after=1,
            give_up_after=2,
        )


async def test_cancelling_the_wait_cancels_the_answer_and_a_notice_in_flight() -> None:
    clock = ManualClock()
    answer = Answer(clock)
    posting = asyncio.Event()
    notice_cancelled = asyncio.Event()

    async def slow_notice() -> None:
        posting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            notice_cancelled.set()
            raise

    task = asyncio.create_task(
        watched(
            answer.work(),
            clock=clock,
            grew_at=lambda: answer.grew_at,
            notify=slow_notice,
            notice_after=1,
            give_up_after=10,
        )
    )
    await settle()
    await advance(clock, 1)
    await asyncio.wait_for(posting.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert answer.cancelled and notice_cancelled.is_set()
