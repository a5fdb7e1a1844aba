"""Two pacers ("instances") sharing one real Redis keep one platform budget between them.

The platform is the fake one, judging arrivals with its own plain bucket on the real clock
(Redis times the shared buckets, so virtual time cannot be used here).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from knowrithm_bots.core.adapter import Budget, Limits
from knowrithm_bots.core.clock import SystemClock
from knowrithm_bots.core.errors import PlatformRateLimited
from knowrithm_bots.core.store.redis_budgets import RedisBudgets
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.streaming.budgets import MIN_JITTER
from knowrithm_bots.core.streaming.shared_budgets import SharedBucket, SharedGrant
from knowrithm_bots.core.testing import FakePlatformAdapter
from tests.core.streaming.test_shared_budget import most_in_any_window
from tests.redis_server import RedisServer, started_server

CHAT = Budget(scope="chat", rate=20.0, per=1.0, burst=3)
LIMITS = Limits(max_message_length=4000, edit_interval=0.0, budgets=(CHAT,))
REPLIES = 2  # per instance, all in one chat
CALLS = 12  # per reply


# The platform forgives one call of the burst: on two busy cores, calls granted a token's
# time apart may reach it a few ms closer together than that (the pacers' jitter reserve
# covers the spread of the trips they measure from each charge, not a stall longer than any
# of those).
# The calls are also judged against the declared budget itself (``within_budget``).
FORGIVING = Budget(scope="chat", rate=CHAT.rate, per=CHAT.per, burst=CHAT.burst + 1)


def platform() -> FakePlatformAdapter:
    # A few ms of network each way, so the pacers measure some arrival jitter, as live.
    return FakePlatformAdapter(
        clock=SystemClock(),
        limits=LIMITS,
        enforce=(FORGIVING,),
        latency=lambda: random.uniform(0.0, 0.004),
    )


async def reply(pacer: Pacer, fake: FakePlatformAdapter, *, thread: str, calls: int) -> None:
    """Make ``calls`` posts in ``thread`` as a reply does: turn, call, report."""
    route = pacer.route(adapter=fake, thread=thread)
    lane = route.lane("post")
    made = 0
    while made < calls:
        charged = await pacer.turn(lane=lane, since=time.monotonic(), final=True)
        try:
            await fake.post(thread=thread, text="x")
        except PlatformRateLimited as exc:
            await asyncio.sleep(pacer.rate_limited(lane=lane, retry_after=exc.retry_after))
            continue
        pacer.observed(route=route, round_trip=time.monotonic() - charged)
        pacer.succeeded(lane=lane)
        made += 1


async def instance(pacer: Pacer, fake: FakePlatformAdapter, *, name: str) -> None:
    await asyncio.gather(
        *(reply(pacer, fake, thread=f"c1#{name}{n}", calls=CALLS) for n in range(REPLIES))
    )


@pytest.fixture
async def shared_pair(redis_server: RedisServer) -> AsyncIterator[tuple[Pacer, Pacer]]:
    prefix = redis_server.prefix()
    stores = [RedisBudgets(url=redis_server.url, key_prefix=prefix) for _ in range(2)]
    yield Pacer(shared=stores[0]), Pacer(shared=stores[1])
    for store in stores:
        await store.close()


def within_budget(times: list[float], budget: Budget) -> bool:
    """No window of calls holds more than the budget's burst plus its rate over the window
    (a quarter of a call forgiven for arrival jitter)."""
    rate = budget.rate / budget.per
    return all(
        most_in_any_window(times, width) <= budget.burst + rate * width + 0.25
        for width in (0.1, 0.25, 0.5, 1.0, 2.0)
    )


async def test_two_instances_together_keep_to_one_budget(
    shared_pair: tuple[Pacer, Pacer],
) -> None:
    fake = platform()
    first, second = shared_pair
    started = time.monotonic()
    await asyncio.wait_for(
        asyncio.gather(instance(first, fake, name="a"), instance(second, fake, name="b")), 20
    )
    took = time.monotonic() - started
    assert fake.count("post", outcome="429") == 0
    ok = [call.at for call in fake.calls if call.outcome == "ok"]
    assert len(ok) == 2 * REPLIES * CALLS
    assert within_budget(ok, CHAT)
    # Paced as one: the calls past the burst took the budget's rate, not twice it.
    assert took >= (len(ok) - CHAT.burst) / CHAT.rate * 0.9


async def test_two_instances_pacing_alone_meet_429s() -> None:
    """The control: the same load without the shared store overdraws the budget."""
    fake = platform()
    await asyncio.wait_for(
        asyncio.gather(instance(Pacer(), fake, name="a"), instance(Pacer(), fake, name="b")), 20
    )
    assert fake.count("post", outcome="429") > 0


async def test_a_429_met_by_one_instance_holds_the_other_back(
    shared_pair: tuple[Pacer, Pacer],
) -> None:
    fake = platform()
    first, second = shared_pair
    fake.rate_limit_next(retry_after=1.0)
    lane = first.route(adapter=fake, thread="c1#a").lane("post")
    await first.turn(lane=lane, since=time.monotonic(), final=True)
    with pytest.raises(PlatformRateLimited) as refused:
        await fake.post(thread="c1#a", text="x")
    assert first.rate_limited(lane=lane, retry_after=refused.value.retry_after) == 1.0
    await asyncio.sleep(0.1)  # the 429 reaches Redis in the background
    # The other instance's own bucket is full, but the shared one is blocked.
    other = second.route(adapter=fake, thread="c1#b").lane("post")
    asked = time.monotonic()
    await second.turn(lane=other, since=asked, final=True)
    assert time.monotonic() - asked >= 0.8


async def spent_by_the_first(pair: tuple[Pacer, Pacer], *, calls: int) -> FakePlatformAdapter:
    """A platform with one chat budget (2 a second, burst 4), of which the first instance
    has just spent ``calls`` in chat c1."""
    slow = Budget(scope="chat", rate=2.0, per=1.0, burst=4)
    fake = FakePlatformAdapter(
        clock=SystemClock(),
        limits=Limits(max_message_length=4000, edit_interval=0.0, budgets=(slow,)),
    )
    first = pair[0]
    spender = first.route(adapter=fake, thread="c1#a").lane("post")
    for _ in range(calls):
        await first.turn(lane=spender, since=time.monotonic(), final=True)
    return fake


async def test_the_headroom_gauge_reads_the_shared_bucket(
    shared_pair: tuple[Pacer, Pacer],
) -> None:
    fake = await spent_by_the_first(shared_pair, calls=4)
    second = shared_pair[1]
    lane = second.route(adapter=fake, thread="c1#b").lane("post")
    await second.turn(lane=lane, since=time.monotonic(), final=True)  # waits ~0.5 s
    (level,) = second.budget_levels()
    # Its own bucket holds 3 of 4; the shared one, which the other instance emptied, ~0.
    assert level.headroom < 0.25


async def test_a_typing_notice_takes_only_what_the_shared_bucket_spares(
    shared_pair: tuple[Pacer, Pacer],
) -> None:
    fake = await spent_by_the_first(shared_pair, calls=4)
    second = shared_pair[1]
    typing = second.route(adapter=fake, thread="c1#b").lane("typing")
    # Its own bucket is full; the shared one, which the other instance spent, is not, and
    # stays short of a spare call (3 of 4) for 1.5 s, however slow the host.
    assert await second.spare(lane=typing) is None
    await asyncio.sleep(2.0)  # the shared bucket refills to its burst
    assert await second.spare(lane=typing) is not None


async def test_answers_go_on_by_local_buckets_while_redis_is_down_and_share_again_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = started_server(folder=tmp_path)
    prefix = server.prefix()
    stores = [RedisBudgets(url=server.url, key_prefix=prefix) for _ in range(2)]
    pacers = [Pacer(shared=store) for store in stores]
    fake = platform()
    caplog.set_level(logging.WARNING, logger="knowrithm_bots.core.streaming")
    try:
        await instance(pacers[0], fake, name="a")  # Redis is up: keys are written
        server.kill()
        down = time.monotonic()
        await asyncio.wait_for(
            asyncio.gather(*(instance(p, fake, name=f"d{i}") for i, p in enumerate(pacers))),
            20,
        )
        assert time.monotonic() - down < 10  # no call waited on the dead Redis for long
        assert len([c for c in fake.calls if c.outcome == "ok"]) == 3 * REPLIES * CALLS
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        outages = [w for w in warnings if "cannot be reached" in w]
        # One line per instance for the whole outage, naming Redis without a traceback.
        assert len(outages) == 2
        assert all(w.startswith("the shared rate budgets in Redis at redis://") for w in outages)
        assert all(r.exc_info is None for r in caplog.records)
        server.start()
        await asyncio.sleep(2.1)  # RETRY_OUTAGE: then the store is asked again
        await asyncio.wait_for(instance(pacers[1], fake, name="r"), 20)
        assert any("work again" in r.getMessage() for r in caplog.records)
    finally:
        for store in stores:
            await store.close()
        server.stop()


async def test_a_first_post_goes_before_a_refresh_waiting_for_the_shared_bucket(
    shared_pair: tuple[Pacer, Pacer],
) -> None:
    fake = platform()
    first, second = shared_pair
    spender = first.route(adapter=fake, thread="c1#a").lane("post")
    for _ in range(CHAT.burst):  # the other instance empties the shared bucket
        await first.turn(lane=spender, since=time.monotonic(), final=True)
    order: list[str] = []

    async def turn(name: str, *, first_post: bool) -> None:
        lane = second.route(adapter=fake, thread=f"c1#{name}").lane("post")
        await second.turn(lane=lane, since=time.monotonic(), first=first_post)
        order.append(name)

    # The refresh keeps the burst: it waits for the shared bucket to be nearly full again.
    refresh = asyncio.create_task(turn("refresh", first_post=False))
    await asyncio.sleep(0.02)
    await asyncio.wait_for(asyncio.gather(refresh, turn("first", first_post=True)), 5)
    assert order == ["first", "refresh"]


class SlowReplies:
    """A shared store whose answers take ``delay`` seconds more to come back, as from a
    busy host: the token was taken in Redis, the instance hears of it later."""

    def __init__(self, store: RedisBudgets, *, delay: float) -> None:
        self._store = store
        self.delay = delay
        self.where = store.where

    async def take(self, *, buckets: Sequence[SharedBucket]) -> SharedGrant:
        grant = await self._store.take(buckets=buckets)
        await asyncio.sleep(self.delay)
        return grant

    async def block(self, *, buckets: Sequence[SharedBucket], retry_after: float) -> None:
        await self._store.block(buckets=buckets, retry_after=retry_after)

    async def close(self) -> None:
        await self._store.close()


async def test_a_shared_turn_counts_from_when_the_store_was_asked(
    redis_server: RedisServer,
) -> None:
    """The call may arrive any time after Redis granted it, so the pacer measures the
    arrival jitter from the ask: a slow answer from the store widens the reserve."""
    store = SlowReplies(
        RedisBudgets(url=redis_server.url, key_prefix=redis_server.prefix()), delay=0.05
    )
    try:
        pacer = Pacer(shared=store)
        fake = platform()
        lane = pacer.route(adapter=fake, thread="c1#a").lane("post")
        charged = await pacer.turn(lane=lane, since=time.monotonic(), final=True)
        assert time.monotonic() - charged >= 0.05
    finally:
        await store.close()


async def test_a_reply_reserves_for_the_time_the_store_took_to_answer(
    redis_server: RedisServer,
) -> None:
    store = SlowReplies(
        RedisBudgets(url=redis_server.url, key_prefix=redis_server.prefix()), delay=0.2
    )
    try:
        pacer = Pacer(shared=store)
        fake = platform()
        reply = ReplyStream(adapter=fake, thread="c1#a", pacer=pacer)
        reply.feed("Hello")
        await asyncio.wait_for(reply.finish(text="Hello there."), 5)
        # Fewer trips than a spread is measured from: a quarter of the longest stands for
        # it, and the longest counts from the ask (the platform alone took at most 8 ms).
        jitter = pacer.route(adapter=fake, thread="c1#a").jitter.seconds
        assert jitter >= 0.25 * 0.2 > MIN_JITTER
    finally:
        await store.close()


async def test_a_local_turn_counts_from_when_its_bucket_refilled() -> None:
    fake = platform()
    pacer = Pacer()
    lane = pacer.route(adapter=fake, thread="c1#a").lane("post")
    for _ in range(CHAT.burst):
        await pacer.turn(lane=lane, since=time.monotonic(), final=True)
    asked = time.monotonic()
    charged = await pacer.turn(lane=lane, since=asked, final=True)
    # The bucket refilled one token 1/rate after the burst; the turn is charged then.
    assert asked < charged <= time.monotonic()
