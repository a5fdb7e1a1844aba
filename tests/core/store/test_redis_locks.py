"""Redis locks between processes: a slow holder keeps its lock, a killed one's frees itself,
and only the owner releases."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store.redis import LEASE_PREFIX, RedisStore
from tests.redis_server import RedisServer
from tests.support import env_without_proxies

KEY = "lock:thread:t1"

# Another bot process: takes the lock, says so, and works inside it until killed.
HOLDER = """
import asyncio, sys
from knowrithm_bots.core.store.redis import RedisStore

async def main() -> None:
    store = RedisStore(url=sys.argv[1], key_prefix=sys.argv[2])
    async with store.lock(sys.argv[3], ttl=float(sys.argv[4])):
        print("held", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture
def prefix(redis_server: RedisServer) -> str:
    return redis_server.prefix()


@pytest.fixture
async def stores(redis_server: RedisServer, prefix: str) -> AsyncIterator[list[RedisStore]]:
    """Two stores on one Redis: two bot instances."""
    made = [RedisStore(url=redis_server.url, key_prefix=prefix) for _ in range(2)]
    yield made
    for store in made:
        await store.close()


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


def lease_key(prefix: str) -> str:
    return prefix + LEASE_PREFIX + KEY


async def test_a_slow_holder_keeps_its_lock_past_the_lease(
    stores: list[RedisStore], raw: redis.Redis, prefix: str
) -> None:
    first, second = stores
    lease = 0.4
    order: list[str] = []
    holding = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def slow() -> None:
        async with first.lock(KEY, ttl=lease):
            order.append("first in")
            holding.set()
            await asyncio.sleep(lease * 5)  # five leases of work, renewed meanwhile
            order.append("first out")

    task = asyncio.create_task(slow())
    try:
        async with asyncio.timeout(20):
            await holding.wait()
            asked = loop.time()
            # Another instance with the same lease waits past it, and is refused, not let in.
            with pytest.raises(StoreError, match="still held"):
                async with second.lock(KEY, ttl=lease):
                    order.append("second in early")
            assert loop.time() - asked >= lease
            assert raw.exists(lease_key(prefix)) == 1
            order.append("second refused")
            # One that may wait longer gets in as soon as the slow holder is done.
            async with second.lock(KEY, ttl=10):
                order.append("second in")
            await task
    finally:
        task.cancel()
    assert order == ["first in", "second refused", "first out", "second in"]
    assert raw.exists(lease_key(prefix)) == 0


async def test_a_killed_holders_lock_frees_itself_after_the_lease(
    redis_server: RedisServer, prefix: str, stores: list[RedisStore], raw: redis.Redis
) -> None:
    lease = 1.0
    holder = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", HOLDER, redis_server.url, prefix, KEY, str(lease)),
        stdout=asyncio.subprocess.PIPE,
        env=env_without_proxies(),
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), 20) == b"held\n"
        # Alive past two leases: it renews, so the lock is still its own.
        await asyncio.sleep(lease * 2)
        with pytest.raises(StoreError, match="still held"):
            async with stores[0].lock(KEY, ttl=0.2):
                pass
        holder.kill()  # SIGKILL: no cleanup, no release
        await asyncio.wait_for(holder.wait(), 10)
        # The crash released nothing: the lock stays until its lease runs out ...
        assert raw.pttl(lease_key(prefix)) > 0
        loop = asyncio.get_running_loop()
        killed = loop.time()
        # ... and then frees itself: a waiter gets in within one lease.
        async with stores[0].lock(KEY, ttl=lease):
            waited = loop.time() - killed
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
    assert waited <= lease + 0.5


async def test_only_the_owner_releases(
    stores: list[RedisStore], raw: redis.Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = stores
    lease = 0.3
    inside = asyncio.Event()
    leave = asyncio.Event()

    async def late() -> None:
        async with first.lock(KEY, ttl=lease):
            inside.set()
            await leave.wait()

    with caplog.at_level(logging.WARNING):
        task = asyncio.create_task(late())
        try:
            async with asyncio.timeout(20):
                await inside.wait()
                # The first holder's lease is lost (as after a long pause of its process)...
                raw.delete(lease_key(prefix))
                async with second.lock(KEY, ttl=10):
                    await asyncio.sleep(lease)  # the first one's renewal finds it lost
                    # ...and the first one leaving now must not free the second one's lock.
                    leave.set()
                    await task
                    assert raw.exists(lease_key(prefix)) == 1
                assert raw.exists(lease_key(prefix)) == 0
        finally:
            leave.set()
            task.cancel()
    assert any("ran out before it was renewed" in r.getMessage() for r in caplog.records)


async def test_locks_on_different_keys_and_lock_reentry_after_release(
    stores: list[RedisStore],
) -> None:
    first, second = stores
    async with asyncio.timeout(10):
        async with first.lock("lock:a", ttl=30), second.lock("lock:b", ttl=30):
            pass
        async with second.lock("lock:a", ttl=30):
            pass


async def test_lock_on_a_closed_store_is_a_store_error(stores: list[RedisStore]) -> None:
    await stores[0].close()
    with pytest.raises(StoreError, match="closed"):
        async with stores[0].lock(KEY, ttl=1):
            pass
