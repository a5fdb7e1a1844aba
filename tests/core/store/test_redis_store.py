"""What the Redis store adds to the shared contract: native expiry, literal prefixes in SCAN,
foreign Redis types kept, credentials out of every sentence, and an outage told in one."""

from __future__ import annotations

import asyncio
import logging
import pickle
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store.redis import RedisStore, describe
from tests.redis_server import RedisServer, started_server
from tests.support import free_port


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


@pytest.fixture
async def store(redis_server: RedisServer) -> AsyncIterator[RedisStore]:
    made = RedisStore(url=redis_server.url, key_prefix=redis_server.prefix())
    yield made
    await made.close()


def prefixed(store: RedisStore, key: str) -> str:
    return store._key(key)


async def test_records_are_json_under_the_prefix_with_a_native_expiry(
    store: RedisStore, raw: redis.Redis
) -> None:
    await store.set("event:e1", value={"a": 1}, ttl=30)
    await store.set("thread:t", value="kept")
    assert raw.get(prefixed(store, "event:e1")).startswith(b'{"v": {"a": 1}, "exp": ')
    assert 0 < raw.pttl(prefixed(store, "event:e1")) <= 30_000
    assert raw.pttl(prefixed(store, "thread:t")) == -1  # no ttl: kept for good
    # Writing again without a ttl drops the old expiry.
    await store.set("event:e1", value=2)
    assert raw.pttl(prefixed(store, "event:e1")) == -1
    assert await store.add_if_absent("event:e2", value=1, ttl=2) is True
    assert 0 < raw.pttl(prefixed(store, "event:e2")) <= 2_000


async def test_a_record_expires_in_redis_itself(store: RedisStore, raw: redis.Redis) -> None:
    assert await store.add_if_absent("event:short", value=1, ttl=0.2) is True
    await asyncio.sleep(0.4)
    assert raw.exists(prefixed(store, "event:short")) == 0
    assert await store.add_if_absent("event:short", value=2, ttl=0.2) is True


async def test_scan_takes_the_prefix_literally(store: RedisStore) -> None:
    # SCAN MATCH reads globs: unescaped, "thread:[a]*" would match "thread:a" and "thread:?"
    # would match any one character.
    for key in ("thread:[a]x", "thread:a", "thread:?", "thread:b", "thread:*", "thread:\\z"):
        await store.set(key, value=key)
    assert [k async for k, _ in store.scan("thread:[a]")] == ["thread:[a]x"]
    assert [k async for k, _ in store.scan("thread:?")] == ["thread:?"]
    assert [k async for k, _ in store.scan("thread:*")] == ["thread:*"]
    assert [k async for k, _ in store.scan("thread:\\")] == ["thread:\\z"]
    assert len([k async for k, _ in store.scan("thread:")]) == 6


async def test_scan_sees_many_keys_and_only_its_own_prefix(
    store: RedisStore, redis_server: RedisServer
) -> None:
    other = RedisStore(url=redis_server.url, key_prefix=redis_server.prefix())
    try:
        await asyncio.gather(*(store.set(f"msg:{i}", value=i) for i in range(1200)))
        await other.set("msg:other", value=-1)
        found = {k: v async for k, v in store.scan("msg:")}
        assert found == {f"msg:{i}": i for i in range(1200)}
        assert {k async for k, _ in other.scan("")} == {"msg:other"}
    finally:
        await other.close()


async def test_a_lock_lease_is_no_record(store: RedisStore) -> None:
    async with store.lock("lock:thread:t", ttl=5):
        assert [k async for k, _ in store.scan("")] == []
        assert await store.purge_expired() == 0
        assert await store.get("lock:thread:t") is None


async def test_foreign_redis_types_and_pickles_are_kept_aside(
    store: RedisStore, raw: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    raw.hset(prefixed(store, "thread:h"), mapping={"conversation_id": "OLD"})
    pickled = pickle.dumps({"conversation_id": "OLD"})
    raw.set(prefixed(store, "thread:p"), pickled)
    with caplog.at_level(logging.WARNING):
        assert await store.get("thread:h") is None
        assert await store.get("thread:p") is None
        assert [k async for k, _ in store.scan("thread:")] == []
    assert any("thread:h" in r.getMessage() for r in caplog.records)
    await store.set("thread:h", value=1)
    assert await store.add_if_absent("thread:p", value=2) is True
    assert raw.hgetall(prefixed(store, "quarantine:thread:h")) == {b"conversation_id": b"OLD"}
    assert raw.get(prefixed(store, "quarantine:thread:p")) == pickled
    assert (await store.get("thread:h"), await store.get("thread:p")) == (1, 2)


async def test_a_foreign_record_with_an_expiry_is_kept_for_good(
    store: RedisStore, raw: redis.Redis
) -> None:
    raw.set(prefixed(store, "lead:x"), b"not json{", px=60_000)
    await store.delete("lead:x")
    assert raw.get(prefixed(store, "quarantine:lead:x")) == b"not json{"
    assert raw.pttl(prefixed(store, "quarantine:lead:x")) == -1


async def test_concurrent_stores_on_one_redis_add_once(redis_server: RedisServer) -> None:
    prefix = redis_server.prefix()
    stores = [RedisStore(url=redis_server.url, key_prefix=prefix) for _ in range(4)]
    try:
        results = await asyncio.gather(
            *(s.add_if_absent("event:dup", value=i, ttl=60) for i, s in enumerate(stores * 10))
        )
        assert results.count(True) == 1
    finally:
        for s in stores:
            await s.close()


async def test_a_retried_add_after_a_lost_reply_still_counts_as_stored(store: RedisStore) -> None:
    # What the client resends after a connection drops between Redis acting and answering:
    # the same script with the same nonce. It must not turn a first delivery into a "seen".
    record = '{"v": 1, "exp": null, "w": "n-1"}'
    first = await store._write("add", "event:lost", record=record, nonce="n-1")
    again = await store._write("add", "event:lost", record=record, nonce="n-1")
    other = await store._write("add", "event:lost", record=record, nonce="n-2")
    assert (first[0], again[0], other[0]) == (True, True, False)


async def test_nothing_connects_at_construction() -> None:
    port = free_port()  # nothing listens here
    store = RedisStore(url=f"redis://127.0.0.1:{port}/0")
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        await store.get("k")


async def test_unreachable_redis_is_one_sentence_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    secret = "s3cret-Pa55word"
    store = RedisStore(url=f"redis://bot:{secret}@127.0.0.1:{port}/2", timeout=3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(StoreError) as caught:
            await store.set("k", value=1)
    finally:
        await store.close()
    assert loop.time() - started < 3
    text = str(caught.value)
    assert text.startswith(f"the Redis store at redis://127.0.0.1:{port}/2 cannot be")
    assert "\n" not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in text and secret not in logged and "bot:" not in text


async def test_wrong_password_is_named_without_it(tmp_path: Path) -> None:
    server = started_server(
        folder=tmp_path, options=("--save", "", "--appendonly", "no", "--requirepass", "right1")
    )
    wrong = RedisStore(url=f"redis://:wrong-one-9@127.0.0.1:{server.port}/0")
    right = RedisStore(url=f"redis://:right1@127.0.0.1:{server.port}/0")
    try:
        with pytest.raises(StoreError) as caught:
            await wrong.get("k")
        assert "password" in str(caught.value)
        assert "wrong-one-9" not in str(caught.value)
        await right.set("k", value=1)
        assert await right.get("k") == 1
    finally:
        await wrong.close()
        await right.close()
        server.stop()


def test_describe_drops_credentials() -> None:
    assert describe("redis://user:pw@redis.internal:6380/3") == "redis://redis.internal:6380/3"
    assert describe("rediss://:pw@h") == "rediss://h"
    assert describe("unix:///run/redis.sock?db=1&password=pw") == "unix:///run/redis.sock"
