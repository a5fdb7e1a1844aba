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
from typing import TypeVar

from sqlitedict import SqliteDict

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store.base import JSON
from knowrithm_bots.core.store.expiry import (
    Stored,
    Unreadable,
    parse,
    quarantine_keys,
    unwrap,
    warn_moved,
    warn_unreadable,
    wrap,
)
from knowrithm_bots.core.store.locks import KeyedLocks

T = TypeVar("T")


def _encode(value: Stored) -> object:
    # An unreadable row being moved aside is written back exactly as it was found.
    if isinstance(value, Unreadable):
        return value.raw
    return json.dumps(value)


def _move(db: SqliteDict, key: str, stored: Stored) -> str:
    """Put ``stored`` under an unused quarantine key and drop ``key``; the caller commits."""
    target = next(k for k in quarantine_keys(key) if k not in db)
    db[target] = stored
    del db[key]
    return target


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
                    encode=_encode,
                    # A row this store did not write must not crash the bot, nor be lost.
                    decode=parse,
                    outer_stack=False,
                )
            except Exception as exc:
                self._db = None
                raise StoreError(
                    f"the store file {self._path} cannot be opened as a sqlite database ({exc})"
                ) from exc
        return fn(self._db)

    async def get(self, key: str) -> JSON:
        state, value = unwrap(await self._run(lambda db: db.get(key)), now=self._now)
        if state == "unreadable":
            warn_unreadable(key)
        return value

    def _write(self, db: SqliteDict, key: str, record: Stored, *, only_if_absent: bool) -> bool:
        """Write ``record`` (moving an unreadable row aside first) and commit both together."""
        stored: Stored | None = db.get(key)
        state = unwrap(stored, now=self._now)[0]
        if only_if_absent and state == "live":
            return False
        moved = _move(db, key, stored) if stored is not None and state == "unreadable" else None
        db[key] = record
        db.commit(blocking=True)
        if moved is not None:
            warn_moved(key, target=moved)
        return True

    async def set(self, key: str, *, value: JSON, ttl: float | None = None) -> None:
        record = wrap(value, ttl=ttl, now=self._now)
        json.dumps(record)  # fail here, before touching the file, on a non-JSON value
        await self._run(lambda db: self._write(db, key, record, only_if_absent=False))

    async def delete(self, key: str) -> None:
        def remove(db: SqliteDict) -> None:
            stored: Stored | None = db.get(key)
            if stored is None:
                return
            if isinstance(stored, Unreadable):
                moved = _move(db, key, stored)
                db.commit(blocking=True)
                warn_moved(key, target=moved)
                return
            del db[key]
            db.commit(blocking=True)

        await self._run(remove)

    async def add_if_absent(self, key: str, *, value: JSON, ttl: float | None = None) -> bool:
        record = wrap(value, ttl=ttl, now=self._now)
        json.dumps(record)
        return await self._run(lambda db: self._write(db, key, record, only_if_absent=True))

    async def quarantine(self, key: str) -> str | None:
        def move(db: SqliteDict) -> str | None:
            stored: Stored | None = db.get(key)
            if stored is None or unwrap(stored, now=self._now)[0] == "expired":
                return None
            target = _move(db, key, stored)
            db.commit(blocking=True)
            return target

        return await self._run(move)

    async def scan(self, prefix: str) -> AsyncIterator[tuple[str, JSON]]:
        def read(db: SqliteDict) -> list[tuple[str, Stored]]:
            return [(k, v) for k, v in db.items() if isinstance(k, str) and k.startswith(prefix)]

        for key, stored in await self._run(read):
            state, value = unwrap(stored, now=self._now)
            if state == "live":
                yield key, value

    async def purge_expired(self) -> int:
        def purge(db: SqliteDict) -> int:
            # Only records this store wrote and that have expired; unreadable rows are kept.
            expired = [k for k, v in db.items() if unwrap(v, now=self._now)[0] == "expired"]
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
