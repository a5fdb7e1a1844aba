"""Platform failures: a refused refresh, a failed finish, a failed native open, shutdown."""

from __future__ import annotations

import asyncio
import itertools
import math
from typing import Any

import pytest

from knowrithm_bots.core.adapter import Budget, Limits, NativeStream
from knowrithm_bots.core.bridge import Bridge
from knowrithm_bots.core.errors import PlatformAuthError, PlatformError, PlatformRateLimited
from knowrithm_bots.core.store import MemoryStore
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.streaming.backoff import (
    LONGEST_RATE_LIMIT_WAIT,
    MIN_RATE_LIMIT_WAIT,
    UNKNOWN_RATE_LIMIT_WAIT,
)
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock, NativeBehaviour
from tests.core.streaming.drive import agent, drive, settle, words

LIMITS = Limits(max_message_length=4000, edit_interval=1.0)


def others() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


async def test_refused_refresh_mid_answer_is_skipped_and_the_answer_goes_on() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=LIMITS)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("Hello *wor")
    await settle()
    fake.fail_next(PlatformError("Bad Request: can't parse entities"))

    async def story() -> list[str]:
        await clock.sleep(0.5)
        reply.feed("ld*, more")  # this refresh is refused...
        await clock.sleep(3)
        reply.feed(" and more.")  # ...and this one goes through
        await clock.sleep(3)
        return await reply.finish(text="Hello *world*, more and more.")

    ids = await drive(clock, story())
    assert [c.outcome for c in fake.calls] == ["ok", "error", "ok"]
    assert fake.calls[2].at < 5.0  # refreshed before the finish, not only by it
    assert ids == ["m1"] and fake.visible("c1") == "Hello *world*, more and more."


async def test_refreshes_are_given_up_after_repeated_refusals_but_the_final_text_goes() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=LIMITS)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("start")
    await settle()
    fake.fail_next(PlatformError("400 Bad Request"), count=3)
    pieces = words(300)  # six more seconds of text
    await drive(clock, agent(clock, reply, pieces, first=0.0))
    outcomes = [c.outcome for c in fake.calls]
    assert outcomes == ["ok", "error", "error", "error", "ok"]  # then only the final edit
    assert fake.visible("c1") == "".join(pieces)


async def test_refused_final_text_fails_the_reply_and_aclose_does_not_raise_it() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=LIMITS)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    fake.fail_next(PlatformAuthError("not allowed to post here"))
    task = asyncio.ensure_future(reply.finish(text="An answer."))
    await settle()
    assert isinstance(task.exception(), PlatformAuthError)
    await reply.aclose()  # the bridge calls this while handling that very error
    assert others() == []


async def test_fail_after_a_failed_finish_shows_the_visible_part_and_the_notice() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=LIMITS)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    reply.feed("Hello")
    await settle()
    fake.fail_next(PlatformError("400 Bad Request: text is malformed"))
    finishing = asyncio.ensure_future(reply.finish(text="Hello and a broken tail"))
    await drive(clock, asyncio.wait({finishing}))
    assert isinstance(finishing.exception(), PlatformError)
    ids = await drive(clock, reply.fail(notice="Sorry, something went wrong."))
    assert ids == ["m1"]
    assert fake.visible("c1") == "Hello\n\nSorry, something went wrong."
    await reply.aclose()


async def test_fail_after_a_failed_finish_with_nothing_visible_posts_the_notice() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=LIMITS)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    fake.fail_next(PlatformError("400 Bad Request: text is malformed"))
    finishing = asyncio.ensure_future(reply.finish(text="A malformed answer"))
    await drive(clock, asyncio.wait({finishing}))
    assert isinstance(finishing.exception(), PlatformError)
    await drive(clock, reply.fail(notice="Sorry, something went wrong."))
    assert fake.visible("c1") == "Sorry, something went wrong."


class OpenFails(FakePlatformAdapter):
    """Its native streams fail to open with ``error``."""

    error: PlatformError

    async def open_native_stream(self, *, thread: str) -> NativeStream | None:
        raise self.error


async def test_rate_limited_native_open_backs_off_and_posts_instead() -> None:
    clock = ManualClock()
    fake = OpenFails(clock=clock, limits=LIMITS, native=NativeBehaviour())
    fake.error = PlatformRateLimited("too many requests", retry_after=3)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    pieces = words(60)
    await drive(clock, agent(clock, reply, pieces))
    assert fake.visible("c1") == "".join(pieces)
    assert fake.calls[0].kind == "post" and fake.calls[0].at >= 3.0 - 1e-9


async def test_other_failure_to_open_a_native_stream_posts_instead() -> None:
    clock = ManualClock()
    fake = OpenFails(clock=clock, limits=LIMITS, native=NativeBehaviour())
    fake.error = PlatformError("400 Bad Request: method not available for this chat")
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    pieces = words(60)
    await drive(clock, agent(clock, reply, pieces))
    assert fake.visible("c1") == "".join(pieces)
    assert {c.kind for c in fake.calls} == {"post", "edit"}


async def test_zero_retry_after_without_declared_budgets_still_backs_off() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=LIMITS)  # no budgets declared
    fake.rate_limit_next(retry_after=0, count=4)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    await drive(clock, reply.finish(text="Hello"))
    assert fake.visible("c1") == "Hello"
    tries = [c.at for c in fake.calls]
    assert len(tries) == 5
    assert min(b - a for a, b in itertools.pairwise(tries)) >= 0.5 - 1e-9


async def test_cancelled_notice_leaves_no_worker_behind() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=LIMITS, latency=lambda: 1.0)
    bridge = Bridge(
        client=None,  # type: ignore[arg-type]  # a notice needs neither Knowrithm nor sessions
        store=MemoryStore(now=clock.now),
        sessions=None,  # type: ignore[arg-type]
        adapters={fake.name: fake},
        clock=clock,
    )
    saying = asyncio.ensure_future(bridge._say(fake, "c1", "Shutting down."))
    await settle()
    assert not saying.done()  # the post is on its way
    saying.cancel()
    await settle()
    assert saying.cancelled()
    assert others() == []
    clock.advance(5)
    await settle()
    assert fake.messages == {}  # nothing arrived after the cancel


async def test_zero_retry_after_with_nothing_to_pace_by_waits_a_minimum() -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=Limits(max_message_length=4000, edit_interval=0))
    fake.rate_limit_next(retry_after=0, count=3)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    await drive(clock, reply.finish(text="Hello"))
    assert fake.visible("c1") == "Hello"
    tries = [c.at for c in fake.calls]
    assert len(tries) == 4
    assert min(b - a for a, b in itertools.pairwise(tries)) >= MIN_RATE_LIMIT_WAIT - 1e-9


CHAT_BUDGET = (Budget(scope="chat", rate=1),)


async def retries_after_a_429(retry_after: float, budgets: tuple[Budget, ...]) -> list[float]:
    """When a one-word answer's calls arrive after the first meets a 429 asking for
    ``retry_after``."""
    clock = ManualClock()
    limits = Limits(max_message_length=4000, edit_interval=0, budgets=budgets)
    fake = FakePlatformAdapter(clock=clock, limits=limits)
    fake.rate_limit_next(retry_after=retry_after)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    await drive(clock, reply.finish(text="Hello"))
    assert fake.visible("c1") == "Hello"
    assert [c.outcome for c in fake.calls] == ["429", "ok"]
    return [c.at for c in fake.calls]


@pytest.mark.parametrize("budgets", [CHAT_BUDGET, ()], ids=["paced", "unpaced"])
@pytest.mark.parametrize("retry_after", [math.inf, math.nan], ids=["inf", "nan"])
async def test_a_429_whose_wait_is_no_number_waits_as_long_as_an_unnamed_wait(
    retry_after: float, budgets: tuple[Budget, ...]
) -> None:
    tries = await retries_after_a_429(retry_after, budgets)
    assert tries == await retries_after_a_429(UNKNOWN_RATE_LIMIT_WAIT, budgets)
    assert tries[1] - tries[0] >= UNKNOWN_RATE_LIMIT_WAIT


def test_pacer_returns_the_wait_it_backed_off_for() -> None:
    clock = ManualClock()
    limits = Limits(max_message_length=4000, edit_interval=0, budgets=CHAT_BUDGET)
    pacer = Pacer(clock=clock)
    paced = pacer.route(adapter=FakePlatformAdapter(clock=clock, limits=limits), thread="c1")
    lane = paced.lane("edit")
    assert pacer.rate_limited(lane=lane, retry_after=0.0) == 0.0  # the bucket spaces retries
    assert pacer.rate_limited(lane=lane, retry_after=3.0) == 3.0
    for wait in (math.inf, -math.inf, math.nan):
        assert pacer.rate_limited(lane=lane, retry_after=wait) == UNKNOWN_RATE_LIMIT_WAIT
    assert pacer.rate_limited(lane=lane, retry_after=1e12) == LONGEST_RATE_LIMIT_WAIT
    (bucket,) = lane.buckets
    assert bucket.blocked_until == clock.monotonic() + LONGEST_RATE_LIMIT_WAIT
    unlimited = Limits(max_message_length=4000, edit_interval=0)
    bare = pacer.route(adapter=FakePlatformAdapter(clock=clock, limits=unlimited), thread="c1")
    assert bare.lane("edit").buckets == ()
    assert pacer.rate_limited(lane=bare.lane("edit"), retry_after=0.0) == MIN_RATE_LIMIT_WAIT
