"""One contract, every Store backend: the same tests run against each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store import MemoryStore, SqliteStore, Store
from knowrithm_bots.core.store.redis import RedisStore
from tests.redis_server import RedisServer


class FakeTime:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


StoreFactory = Callable[[FakeTime], Store]


BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture(params=BACKENDS)
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    made: list[Store] = []
    # Stores made in one test share their data, as two opens of one sqlite file do.
    redis: RedisServer | None = None
    prefix = ""
    if request.param == "redis":
        redis = request.getfixturevalue("redis_server")
        prefix = redis.prefix()

    def factory(now: FakeTime) -> Store:
        store: Store
        if request.param == "memory":
            store = MemoryStore(now=now)
        elif redis is not None:
            store = RedisStore(url=redis.url, key_prefix=prefix, now=now)
        else:
            store = SqliteStore(path=tmp_path / "store.sqlite", now=now)
        made.append(store)
        return store

    yield factory
    for store in made:
        await store.close()


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def store(make_store: StoreFactory, clock: FakeTime) -> Store:
    return make_store(clock)


async def test_satisfies_protocol(store: Store) -> None:
    assert isinstance(store, Store)


async def test_get_absent_is_none(store: Store) -> None:
    assert await store.get("thread:nope") is None


async def test_set_get_roundtrip_json_values(store: Store) -> None:
    value = {"conversation_id": "c1", "n": 3, "f": 1.5, "ok": True, "list": [1, "two", None]}
    await store.set("thread:a", value=value)
    assert await store.get("thread:a") == value
    await store.set("thread:a", value="replaced")
    assert await store.get("thread:a") == "replaced"


async def test_unicode_keys_and_values(store: Store) -> None:
    await store.set("thread:tg:чат:🧵", value={"text": "héllo 👍🏽 世界"})
    assert await store.get("thread:tg:чат:🧵") == {"text": "héllo 👍🏽 世界"}


async def test_non_json_value_is_refused_and_old_value_kept(store: Store) -> None:
    await store.set("k", value={"keep": 1})
    with pytest.raises((TypeError, ValueError)):
        await store.set("k", value={"bad": object()})  # type: ignore[dict-item]
    assert await store.get("k") == {"keep": 1}


async def test_delete(store: Store) -> None:
    await store.set("k", value=1)
    await store.delete("k")
    await store.delete("never-there")
    assert await store.get("k") is None


async def test_ttl_expires(store: Store, clock: FakeTime) -> None:
    await store.set("event:x", value=1, ttl=10)
    clock.value += 9
    assert await store.get("event:x") == 1
    clock.value += 2
    assert await store.get("event:x") is None


async def test_add_if_absent(store: Store, clock: FakeTime) -> None:
    assert await store.add_if_absent("event:1", value="a", ttl=5) is True
    assert await store.add_if_absent("event:1", value="b", ttl=5) is False
    assert await store.get("event:1") == "a"
    clock.value += 6
    assert await store.add_if_absent("event:1", value="c", ttl=5) is True
    assert await store.get("event:1") == "c"


async def test_add_if_absent_is_atomic_under_concurrency(store: Store) -> None:
    results = await asyncio.gather(*(store.add_if_absent("event:dup", value=i) for i in range(50)))
    assert results.count(True) == 1


async def test_scan_by_prefix_skips_expired(store: Store, clock: FakeTime) -> None:
    await store.set("thread:a", value=1)
    await store.set("thread:b", value=2, ttl=1)
    await store.set("msg:a", value=3)
    clock.value += 2
    found = {k: v async for k, v in store.scan("thread:")}
    assert found == {"thread:a": 1}


async def test_lock_serialises_holders(store: Store) -> None:
    order: list[str] = []

    async def hold(name: str) -> None:
        async with store.lock("lock:t1", ttl=5):
            order.append(f"{name} in")
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    await asyncio.gather(hold("a"), hold("b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


async def test_lock_of_a_stuck_holder_expires(store: Store) -> None:
    if isinstance(store, RedisStore):
        # A live holder renews its lease in Redis; test_redis_locks proves that a slow holder
        # keeps its lock and that a killed holder's lock frees itself after the lease.
        pytest.skip("a Redis lock's live holder keeps it; see tests/core/store/test_redis_locks")
    ttl = 0.2
    holding = asyncio.Event()
    release = asyncio.Event()
    order: list[str] = []

    async def stuck() -> None:
        async with store.lock("lock:t2", ttl=ttl):
            order.append("stuck in")
            holding.set()
            await release.wait()
            order.append("stuck out")

    loop = asyncio.get_running_loop()
    task = asyncio.create_task(stuck())
    try:
        async with asyncio.timeout(10):
            await holding.wait()
            asked = loop.time()
            async with store.lock("lock:t2", ttl=ttl):
                waited = loop.time() - asked
                order.append("waiter in")
            release.set()
            await task
    finally:
        release.set()
    # In while the holder was still stuck inside, and only once its lease had run out:
    # a lower bound, so a slow machine cannot break it.
    assert order == ["stuck in", "waiter in", "stuck out"]
    assert waited >= ttl * 0.9


async def test_different_lock_keys_do_not_block(store: Store) -> None:
    holding = asyncio.Event()
    release = asyncio.Event()
    order: list[str] = []

    async def hold_a() -> None:
        async with store.lock("lock:a", ttl=60):
            order.append("a in")
            holding.set()
            await release.wait()
            order.append("a out")

    task = asyncio.create_task(hold_a())
    try:
        # Waiting on "lock:a" would take its whole 60 s lease: far past this bound.
        async with asyncio.timeout(10):
            await holding.wait()
            async with store.lock("lock:b", ttl=60):
                order.append("b in")
            release.set()
            await task
    finally:
        release.set()
    assert order == ["a in", "b in", "a out"]


# --- sqlite only --------------------------------------------------------------------------


async def test_sqlite_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite"
    first = SqliteStore(path=path)
    await first.set("thread:t", value={"conversation_id": "c-42"})
    await first.close()
    second = SqliteStore(path=path)
    assert await second.get("thread:t") == {"conversation_id": "c-42"}
    await second.close()


async def test_sqlite_stores_json_not_pickle(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "bot.sqlite"
    store = SqliteStore(path=path, table="kv")
    await store.set("thread:t", value={"a": 1})
    await store.close()
    with sqlite3.connect(path) as db:
        (raw,) = db.execute("SELECT value FROM kv WHERE key = 'thread:t'").fetchone()
    assert '"v": {"a": 1}' in (raw.decode() if isinstance(raw, bytes) else raw)


async def test_sqlite_does_not_open_anything_at_construction(tmp_path: Path) -> None:
    path = tmp_path / "lazy.sqlite"
    store = SqliteStore(path=path)
    assert not path.exists()
    await store.close()


async def test_sqlite_waits_off_the_event_loop(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "t.sqlite"
    store = SqliteStore(path=path, timeout=2.0)
    await store.set("k", value=1)
    # Another program holds the write lock: the store's write waits for it, the loop not.
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    loop = asyncio.get_running_loop()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = loop.time()
    try:
        with pytest.raises(StoreError, match="locked"):
            await store.set("k", value=2)
    finally:
        ticker.cancel()
        other.execute("ROLLBACK")
        other.close()
    waited = loop.time() - started
    assert waited >= 0.9  # sqlite waited for the lock (half the store's 2 s timeout)...
    assert ticks >= waited / 0.01 / 4  # ...while the loop went on
    assert await store.get("k") == 1
    await store.close()


async def test_sqlite_reads_and_writes_sqlitedict_files(tmp_path: Path) -> None:
    import json

    from sqlitedict import SqliteDict

    path = tmp_path / "old.sqlite"
    # A file as the sqlitedict-based versions wrote it: JSON text in sqlitedict's table.
    with SqliteDict(str(path), tablename="knowrithm_bots", encode=json.dumps) as old:
        old["thread:t"] = {"v": {"conversation_id": "c-1"}, "exp": None}
        old.commit()
    store = SqliteStore(path=path)
    assert await store.get("thread:t") == {"conversation_id": "c-1"}
    await store.set("thread:u", value={"conversation_id": "c-2"})
    await store.close()
    with SqliteDict(str(path), tablename="knowrithm_bots", decode=json.loads) as again:
        assert again["thread:u"] == {"v": {"conversation_id": "c-2"}, "exp": None}


async def test_sqlite_bad_file_is_a_clear_error_and_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "not-a-db.sqlite"
    path.write_bytes(b"this is not sqlite " * 100)
    store = SqliteStore(path=path)
    with pytest.raises(StoreError, match="cannot be opened as a sqlite database"):
        await store.get("k")
    await store.close()
    assert path.read_bytes() == b"this is not sqlite " * 100


async def test_sqlite_malformed_row_reads_as_absent(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "bot.sqlite"
    store = SqliteStore(path=path, table="kv")
    await store.set("good", value=1)
    await store.close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO kv (key, value) VALUES ('bad', 'not json{')")
    reopened = SqliteStore(path=path, table="kv")
    assert await reopened.get("bad") is None
    assert await reopened.get("good") == 1
    await reopened.close()


async def test_purge_expired_deletes_only_expired_keys(store: Store, clock: FakeTime) -> None:
    await store.set("event:old", value=1, ttl=5)
    await store.set("event:new", value=2, ttl=50)
    await store.set("thread:kept", value=3)
    clock.value += 10
    assert await store.purge_expired() == 1
    assert await store.purge_expired() == 0
    assert {k async for k, _ in store.scan("")} == {"event:new", "thread:kept"}
