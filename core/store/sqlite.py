"""The default Store: a sqlitedict file holding JSON, written off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

from sqlitedict import SqliteDict

from core.errors import StoreError
from core.store.base import JSON
from core.store.expiry import unwrap, wrap
from core.store.locks import KeyedLocks

T = TypeVar("T")


def _decode(raw: Any) -> JSON:
    # A row that is not valid JSON must not crash the bot; it reads as a malformed record.
    try:
        value: JSON = json.loads(raw)
    except (TypeError, ValueError):
        return {"malformed": True}
    return value


class SqliteStore:
    """Store backed by one sqlite file through sqlitedict.

    Every sqlite call runs on one dedicated worker thread, which serialises them (so
    ``add_if_absent`` is atomic within the process) and keeps disk I/O off the event loop.
    Each write is committed before the call returns, so a crash loses nothing acknowledged.
    The file is opened on first use, not at construction. One process per file: for several
    processes use a shared backend.
    """

    def __init__(
        self,
        *,
        path: str | Path,
        table: str = "knowrithm_bots",
        now: Callable[[], float] = time.time,
    ) -> None:
        self._path = Path(path)
        self._table = table
        self._now = now
        self._db: SqliteDict | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._locks = KeyedLocks()
        self._closed = False

    async def _run(self, fn: Callable[[SqliteDict], T]) -> T:
        if self._closed:
            raise StoreError(f"the store at {self._path} is closed")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._call, fn)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"the store at {self._path} failed: {exc}") from exc

    def _call(self, fn: Callable[[SqliteDict], T]) -> T:
        if self._db is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            try:
                # Probe with plain sqlite first: sqlitedict would fail inside its own thread.
                with contextlib.closing(sqlite3.connect(self._path)) as probe:
                    probe.execute("PRAGMA schema_version")
                self._db = SqliteDict(
                    str(self._path),
                    tablename=self._table,
                    autocommit=False,
                    encode=json.dumps,
                    decode=_decode,
                    outer_stack=False,
                )
            except Exception as exc:
                self._db = None
                raise StoreError(
                    f"the store file {self._path} cannot be opened as a sqlite database ({exc})"
                ) from exc
        return fn(self._db)

    async def get(self, key: str) -> JSON:
        stored = await self._run(lambda db: db.get(key))
        alive, value = unwrap(stored, now=self._now)
        return value if alive else None

    async def set(self, key: str, value: JSON, *, ttl: float | None = None) -> None:
        record = wrap(value, ttl=ttl, now=self._now)
        json.dumps(record)  # fail here, before touching the file, on a non-JSON value

        def write(db: SqliteDict) -> None:
            db[key] = record
            db.commit(blocking=True)

        await self._run(write)

    async def delete(self, key: str) -> None:
        def remove(db: SqliteDict) -> None:
            if key in db:
                del db[key]
                db.commit(blocking=True)

        await self._run(remove)

    async def add_if_absent(self, key: str, value: JSON, *, ttl: float | None = None) -> bool:
        record = wrap(value, ttl=ttl, now=self._now)
        json.dumps(record)

        def add(db: SqliteDict) -> bool:
            if unwrap(db.get(key), now=self._now)[0]:
                return False
            db[key] = record
            db.commit(blocking=True)
            return True

        return await self._run(add)

    async def scan(self, prefix: str) -> AsyncIterator[tuple[str, JSON]]:
        def read(db: SqliteDict) -> list[tuple[str, JSON]]:
            return [(k, v) for k, v in db.items() if isinstance(k, str) and k.startswith(prefix)]

        for key, stored in await self._run(read):
            alive, value = unwrap(stored, now=self._now)
            if alive:
                yield key, value

    async def purge_expired(self) -> int:
        def purge(db: SqliteDict) -> int:
            # Only records this store wrote and that have expired; unreadable rows are kept.
            expired = [
                k
                for k, v in db.items()
                if isinstance(v, dict) and "v" in v and not unwrap(v, now=self._now)[0]
            ]
            for key in expired:
                del db[key]
            if expired:
                db.commit(blocking=True)
            return len(expired)

        return await self._run(purge)

    def lock(self, key: str, *, ttl: float = 60.0) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(key, ttl=ttl)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is None:
            return

        def shut() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await asyncio.get_running_loop().run_in_executor(executor, shut)
        executor.shutdown(wait=True)
