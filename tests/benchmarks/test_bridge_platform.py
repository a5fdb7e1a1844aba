"""The bridge benchmark's simulated Telegram refuses what Telegram would, and says which limit
refused it."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.bridge.platform import BOT_CALLS_PER_SECOND, CHAT_BURST, TelegramLikePlatform
from knowrithm_bots.core.errors import PlatformRateLimited


async def _post_all(platform: TelegramLikePlatform, threads: list[str]) -> int:
    """Post once in each of ``threads`` at the same moment; how many were refused."""
    results = await asyncio.gather(
        *(platform.post(thread=thread, text="w1") for thread in threads), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, PlatformRateLimited):
            raise result
    return sum(isinstance(result, PlatformRateLimited) for result in results)


async def test_a_chat_past_its_burst_is_refused_by_the_chat_limit() -> None:
    platform = TelegramLikePlatform(seed=3)
    refused = await _post_all(platform, ["bench:c1"] * (CHAT_BURST + 2))
    assert refused == 2
    assert platform.rate_limited == 2
    assert dict(platform.rate_limited_by) == {"chat": 2}
    assert platform.accepted == CHAT_BURST


async def test_a_group_past_its_burst_waits_for_the_group_limit() -> None:
    platform = TelegramLikePlatform(seed=3)
    # The chat's limit (1 per s) and the group's (20 per min) both refuse a fourth call at
    # once; the group's makes it wait longest, so the 429 is the group's, as its retry_after.
    for topic in ("1", "2", "1"):
        await platform.post(thread=f"bench:g1#{topic}", text="w1")
    with pytest.raises(PlatformRateLimited) as refused:
        await platform.post(thread="bench:g1#2", text="w1")
    assert refused.value.retry_after == 3
    assert dict(platform.rate_limited_by) == {"group": 1}


async def test_the_whole_bot_is_refused_past_its_calls_per_second() -> None:
    platform = TelegramLikePlatform(seed=3)
    threads = [f"bench:c{i}" for i in range(BOT_CALLS_PER_SECOND + 5)]
    refused = await _post_all(platform, threads)
    assert refused == 5
    assert dict(platform.rate_limited_by) == {"bot": 5}


async def test_typing_notices_are_judged_and_counted_apart() -> None:
    platform = TelegramLikePlatform(seed=3)
    for _ in range(CHAT_BURST):
        await platform.typing(thread="bench:c1")
    with pytest.raises(PlatformRateLimited) as refused:
        await platform.typing(thread="bench:c1")
    assert refused.value.retry_after >= 1
    assert platform.typings == CHAT_BURST
    assert platform.accepted == 0
    assert (platform.rate_limited, platform.typing_rate_limited) == (1, 1)


async def test_counting_again_forgets_the_refusals_so_far() -> None:
    platform = TelegramLikePlatform(seed=3)
    await _post_all(platform, ["bench:c1"] * (CHAT_BURST + 1))
    platform.start_counting()
    assert (platform.rate_limited, dict(platform.rate_limited_by)) == (0, {})
