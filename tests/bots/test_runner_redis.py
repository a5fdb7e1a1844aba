"""A bot configured with `store: {backend: redis}` answers, and two of them on one Redis
answer a redelivered event once; an unreachable Redis stops the start in one sentence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.bots.runner import build_store, check_store
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.store.redis import RedisStore
from knowrithm_bots.core.testing import RecordingAdapter
from tests.harness import RunningBot, running_bot
from tests.redis_server import RedisServer
from tests.support import free_port

THREAD = "recording:general"


def redis_config(server: RedisServer, prefix: str) -> dict[str, Any]:
    return {"store": {"backend": "redis", "url": server.url, "key_prefix": prefix}}


def recording(bot: RunningBot) -> RecordingAdapter:
    adapter = bot.adapters["recording"]
    assert isinstance(adapter, RecordingAdapter)
    return adapter


async def test_a_bot_on_redis_answers_and_keeps_its_state_there(
    knowrithm: LocalKnowrithm, redis_server: RedisServer
) -> None:
    prefix = redis_server.prefix()
    config = redis_config(redis_server, prefix)
    async with running_bot(
        {"recording": RecordingAdapter()}, server=knowrithm, config=config
    ) as bot:
        assert isinstance(bot.store, RedisStore)
        await recording(bot).say("hello over redis", event_id="e1")
        await asyncio.wait_for(bot.drain(), 20)
        assert 'You asked: "hello over redis"' in recording(bot).messages_in(THREAD)[-1]
    raw = redis.Redis.from_url(redis_server.url)
    try:
        keys = {k.decode() for k in raw.scan_iter(match=prefix + "*")}
    finally:
        raw.close()
    assert prefix + "event:recording:e1" in keys
    assert any(k.startswith(prefix + "thread:") for k in keys)


async def test_two_bots_on_one_redis_answer_a_redelivered_event_once(
    knowrithm: LocalKnowrithm, redis_server: RedisServer
) -> None:
    config = redis_config(redis_server, redis_server.prefix())
    first_adapter, second_adapter = RecordingAdapter(), RecordingAdapter()
    async with (
        running_bot({"recording": first_adapter}, server=knowrithm, config=config) as first,
        running_bot({"recording": second_adapter}, server=knowrithm, config=config) as second,
    ):
        await first_adapter.say("only once please", event_id="e7")
        await asyncio.wait_for(first.drain(), 20)
        # The platform retries the same event, and its balancer hands it to the other bot.
        await second_adapter.say("only once please", event_id="e7")
        await asyncio.wait_for(second.drain(), 20)
        await second_adapter.say("and then this", event_id="e8")
        await asyncio.wait_for(second.drain(), 20)
    assert len(first_adapter.messages_in(THREAD)) == 1
    assert len(second_adapter.messages_in(THREAD)) == 1
    assert [text for _, text in knowrithm.state.chat_requests] == [
        "only once please",
        "and then this",
    ]
    # The thread's conversation is one, whichever bot answered.
    assert len(knowrithm.state.conversations) == 1


async def test_an_unreachable_redis_stops_the_start_in_one_sentence() -> None:
    port = free_port()  # nothing listens here
    secret = "hunter2-redis-pw"
    settings = parse_settings(
        {"store": {"backend": "redis", "url": f"redis://:{secret}@127.0.0.1:{port}/0"}}, env={}
    )
    store = build_store(settings)
    try:
        with pytest.raises(ConfigError) as caught:
            await check_store(store, settings=settings)
    finally:
        await store.close()
    text = str(caught.value)
    assert caught.value.key_path == "store.url"
    assert text.startswith(f"the Redis store at redis://127.0.0.1:{port}/0 cannot be reached")
    assert text.endswith(": check store.url")
    assert secret not in text and "\n" not in text
    assert secret not in repr(settings)
