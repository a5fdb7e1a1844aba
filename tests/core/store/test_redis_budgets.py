"""The shared token buckets in a real Redis: burst then rate, all-or-nothing over buckets,
a 429 blocking every instance, idle buckets vanishing, and an outage in one sentence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store.redis_budgets import RedisBudgets
from knowrithm_bots.core.streaming.budgets import RECOVERY
from knowrithm_bots.core.streaming.shared_budgets import SharedBucket
from tests.redis_server import RedisServer
from tests.support import free_port

CHAT = SharedBucket(key="fake:chat:all:10/1:c1", rate=10.0, burst=3.0, need=1.0)
GROUP = SharedBucket(key="fake:group:all:1/1:c1", rate=1.0, burst=2.0, need=1.0)


@pytest.fixture
async def budgets(redis_server: RedisServer) -> AsyncIterator[RedisBudgets]:
    shared = RedisBudgets(url=redis_server.url, key_prefix=redis_server.prefix())
    yield shared
    await shared.close()


async def test_a_bucket_gives_its_burst_then_asks_to_wait_for_its_rate(
    budgets: RedisBudgets,
) -> None:
    grants = [await budgets.take(buckets=[CHAT]) for _ in range(3)]
    assert all(grant.granted for grant in grants)
    assert [round(g.levels[0].tokens) for g in grants] == [2, 1, 0]
    refused = await budgets.take(buckets=[CHAT])
    assert not refused.granted
    assert 0.05 < refused.wait <= 0.1  # one token at 10 a second, less the time gone by


async def test_a_call_needing_the_burst_waits_for_it(budgets: RedisBudgets) -> None:
    assert (await budgets.take(buckets=[CHAT])).granted
    keep_burst = SharedBucket(key=CHAT.key, rate=CHAT.rate, burst=CHAT.burst, need=2.5)
    refused = await budgets.take(buckets=[keep_burst])
    assert 0.0 < refused.wait <= 0.05  # 2 of 3 left: half a token more at 10 a second


async def test_a_take_is_all_or_nothing_over_its_buckets(budgets: RedisBudgets) -> None:
    for _ in range(2):
        assert (await budgets.take(buckets=[GROUP])).granted
    refused = await budgets.take(buckets=[CHAT, GROUP])
    assert 0.9 < refused.wait <= 1.0  # the group bucket holds it back
    # The chat bucket gave nothing: its whole burst is still there.
    assert [(await budgets.take(buckets=[CHAT])).granted for _ in range(3)] == [True] * 3


async def test_a_429_blocks_the_bucket_for_everyone_then_lets_one_call_through(
    redis_server: RedisServer,
) -> None:
    prefix = redis_server.prefix()
    first = RedisBudgets(url=redis_server.url, key_prefix=prefix)
    second = RedisBudgets(url=redis_server.url, key_prefix=prefix)
    try:
        await first.block(buckets=[CHAT], retry_after=0.4)
        refused = await second.take(buckets=[CHAT])
        assert 0.3 < refused.wait <= 0.4
        assert 0.3 < refused.levels[0].blocked_for <= 0.4
        assert refused.levels[0].tokens == 0
        # The declared rate proved too generous: every instance now goes at half of it.
        assert refused.levels[0].scale == 0.5
        await asyncio.sleep(refused.wait)
        # Waited out: the block ends with exactly one token, not a burst.
        assert (await second.take(buckets=[CHAT])).granted
        slower = await first.take(buckets=[CHAT])
        assert 0.15 < slower.wait <= 0.2  # a token at 5 a second now, not 10
    finally:
        await first.close()
        await second.close()


async def test_a_429_slows_the_shared_bucket_once_per_block_and_only_after_a_trial(
    budgets: RedisBudgets,
) -> None:
    async def scale() -> float:
        probe = SharedBucket(key=CHAT.key, rate=CHAT.rate, burst=CHAT.burst, need=99.0)
        return (await budgets.take(buckets=[probe])).levels[0].scale  # takes nothing

    # Three instances' calls in flight together, all refused: one slowdown.
    for _ in range(3):
        await budgets.block(buckets=[CHAT], retry_after=0.1)
    assert await scale() == 0.5
    await asyncio.sleep(0.25)  # the block, and a token at the slower rate (5 a second)
    # The one call the block lets through is refused again: not a trial of the slower rate.
    assert (await budgets.take(buckets=[CHAT])).granted
    await budgets.block(buckets=[CHAT], retry_after=0.1)
    assert await scale() == 0.5 + RECOVERY  # what the call won back, and not halved
    # Two calls given after the block (the second at the slower rate), then a 429: slower.
    for _ in range(2):
        await asyncio.sleep(0.25)
        assert (await budgets.take(buckets=[CHAT])).granted
    await budgets.block(buckets=[CHAT], retry_after=0.1)
    assert 0.25 <= await scale() < 0.3  # half of 0.5 and what the calls won back


async def test_buckets_live_under_the_store_prefix_and_vanish_once_full_again(
    redis_server: RedisServer, budgets: RedisBudgets
) -> None:
    await budgets.take(buckets=[CHAT])
    raw = aioredis.Redis.from_url(redis_server.url)
    try:
        key = budgets.key(CHAT.key)
        assert key.endswith(":budget:" + CHAT.key)
        # One token short refills in 0.1 s: the key outlives that by a second at most.
        assert 0 < await raw.pttl(key) <= 1100
    finally:
        await raw.aclose()


async def test_an_unreachable_redis_is_one_sentence_without_the_password() -> None:
    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    budgets = RedisBudgets(url=url, timeout=0.5)
    try:
        with pytest.raises(StoreError) as caught:
            await budgets.take(buckets=[CHAT])
    finally:
        await budgets.close()
    message = str(caught.value)
    assert message.startswith("the shared rate budgets in Redis at redis://127.0.0.1:")
    assert "cannot be reached" in message
    assert "hunter2" not in message
