"""Records a backend cannot read read as absent, are never destroyed, and are moved aside."""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from knowrithm_bots.core.store import MemoryStore, SqliteStore, Store
from knowrithm_bots.core.store.redis import RedisStore
from tests.redis_server import RedisServer

TABLE = "knowrithm_bots"

# Rows another program or version could have left: not JSON, JSON without this store's
# {"v": ..., "exp": ...} wrapper, a wrapper whose expiry is not a time.
FOREIGN_ROWS = [
    "not json{",
    json.dumps("LEAD-OLD"),
    json.dumps({"thread": "tg:1", "conversation_id": "OLD-CONV-7"}),
    json.dumps({"v": "x", "exp": "tomorrow"}),
]


class Backend:
    """A store plus raw access to its rows, to plant foreign rows and to look at what is kept."""

    def __init__(self, kind: str, tmp_path: Path, *, server: RedisServer | None = None) -> None:
        self.kind = kind
        self.now = 1000.0
        self.path = tmp_path / "store.sqlite"
        self.store: Store
        self.redis: redis.Redis | None = None
        self.prefix = ""
        if server is not None:
            self.prefix = server.prefix()
            self.redis = redis.Redis.from_url(server.url)
            self.store = RedisStore(url=server.url, key_prefix=self.prefix, now=lambda: self.now)
        elif kind == "memory":
            self.store = MemoryStore(now=lambda: self.now)
        else:
            self.store = SqliteStore(path=self.path, table=TABLE, now=lambda: self.now)

    async def plant(self, key: str, raw: str | bytes) -> None:
        if self.redis is not None:
            self.redis.set(self.prefix + key, raw)
            return
        if isinstance(self.store, MemoryStore):
            assert isinstance(raw, str)
            self.store._data[key] = raw
            return
        await self.store.get("probe")  # creates the file and its table
        with sqlite3.connect(self.path) as db:
            db.execute(f"REPLACE INTO {TABLE} (key, value) VALUES (?, ?)", (key, raw))

    def raw(self, key: str) -> str | bytes | None:
        if self.redis is not None:
            found = self.redis.get(self.prefix + key)
            assert found is None or isinstance(found, bytes)
            return None if found is None else found.decode()
        if isinstance(self.store, MemoryStore):
            return self.store._data.get(key)
        with sqlite3.connect(self.path) as db:
            row = db.execute(f"SELECT value FROM {TABLE} WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    server = request.getfixturevalue("redis_server") if request.param == "redis" else None
    made = Backend(request.param, tmp_path, server=server)
    yield made
    await made.store.close()
    if made.redis is not None:
        made.redis.close()


@pytest.mark.parametrize("raw", FOREIGN_ROWS)
async def test_unreadable_record_reads_as_absent_with_a_warning_naming_only_the_key(
    backend: Backend, raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    await backend.plant("thread:tg:1", raw)
    with caplog.at_level(logging.WARNING):
        assert await backend.store.get("thread:tg:1") is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all("thread:tg:1" in w for w in warnings)
    assert not any("OLD" in w or "tomorrow" in w for w in warnings)


@pytest.mark.parametrize("raw", FOREIGN_ROWS)
async def test_set_moves_an_unreadable_record_aside_as_it_was(
    backend: Backend, raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    await backend.plant("thread:tg:1", raw)
    with caplog.at_level(logging.WARNING):
        await backend.store.set("thread:tg:1", value={"conversation_id": "new"})
    assert await backend.store.get("thread:tg:1") == {"conversation_id": "new"}
    assert backend.raw("quarantine:thread:tg:1") == raw
    assert any("quarantine:thread:tg:1" in r.getMessage() for r in caplog.records)


async def test_add_if_absent_stores_over_an_unreadable_record_and_keeps_it(
    backend: Backend,
) -> None:
    await backend.plant("event:e1", "not json{")
    assert await backend.store.add_if_absent("event:e1", value=1, ttl=60) is True
    assert await backend.store.get("event:e1") == 1
    assert backend.raw("quarantine:event:e1") == "not json{"
    assert await backend.store.add_if_absent("event:e1", value=2, ttl=60) is False


async def test_delete_moves_an_unreadable_record_aside(backend: Backend) -> None:
    await backend.plant("lead:tg:7", json.dumps("LEAD-OLD"))
    await backend.store.delete("lead:tg:7")
    assert backend.raw("lead:tg:7") is None
    assert backend.raw("quarantine:lead:tg:7") == json.dumps("LEAD-OLD")


async def test_a_second_unreadable_record_gets_its_own_quarantine_key(backend: Backend) -> None:
    await backend.plant("thread:tg:1", "first{")
    await backend.store.set("thread:tg:1", value=1)
    await backend.plant("thread:tg:1", "second{")
    await backend.store.set("thread:tg:1", value=2)
    assert backend.raw("quarantine:thread:tg:1") == "first{"
    assert backend.raw("quarantine:thread:tg:1#2") == "second{"
    assert await backend.store.get("thread:tg:1") == 2


async def test_scan_skips_and_purge_keeps_an_unreadable_record(backend: Backend) -> None:
    await backend.plant("thread:tg:1", json.dumps({"conversation_id": "OLD"}))
    await backend.store.set("thread:tg:2", value=2)
    backend.now += 10_000
    assert await backend.store.purge_expired() == 0
    assert [k async for k, _ in backend.store.scan("thread:")] == ["thread:tg:2"]
    await backend.store.set("thread:tg:1", value=1)
    assert backend.raw("quarantine:thread:tg:1") == json.dumps({"conversation_id": "OLD"})


async def test_quarantine_moves_a_readable_record_that_the_caller_cannot_use(
    backend: Backend,
) -> None:
    await backend.store.set("thread:tg:1", value={"entityType": "USER"})
    assert await backend.store.quarantine("thread:tg:1") == "quarantine:thread:tg:1"
    assert await backend.store.get("thread:tg:1") is None
    assert await backend.store.get("quarantine:thread:tg:1") == {"entityType": "USER"}
    assert await backend.store.quarantine("thread:tg:1") is None  # nothing left to move
    await backend.store.set("event:gone", value=1, ttl=1)
    backend.now += 5
    assert await backend.store.quarantine("event:gone") is None


async def test_sqlite_keeps_a_pickled_row_byte_for_byte_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    pickled = pickle.dumps({"thread": "tg:1", "conversation_id": "OLD-CONV"})
    first = SqliteStore(path=path, table=TABLE)
    await first.get("probe")
    with sqlite3.connect(path) as db:
        db.execute(f"INSERT INTO {TABLE} (key, value) VALUES (?, ?)", ("thread:tg:1", pickled))
    assert await first.get("thread:tg:1") is None
    await first.set("thread:tg:1", value={"conversation_id": "new"})
    await first.close()
    second = SqliteStore(path=path, table=TABLE)
    assert await second.get("thread:tg:1") == {"conversation_id": "new"}
    await second.close()
    with sqlite3.connect(path) as db:
        (kept,) = db.execute(
            f"SELECT value FROM {TABLE} WHERE key = 'quarantine:thread:tg:1'"
        ).fetchone()
    assert kept == pickled
