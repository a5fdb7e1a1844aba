"""The default Store: a sqlite file (in sqlitedict's layout) holding JSON, written off the
event loop, where a failing or hung disk is an error within seconds, never a hang."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import NoReturn, TypeVar

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
from knowrithm_bots.core.store.sqlite_file import SqliteFile, store_error
from knowrithm_bots.core.store.worker import Worker, WorkerTimeout

log = logging.getLogger("knowrithm_bots.core.store")

T = TypeVar("T")

DEFAULT_TIMEOUT = 5.0
PURGE_BATCH = 2000
SCAN_PAGE = 500


def after_prefix(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (None: there is none).

    sqlite compares text byte by byte in UTF-8, which orders it as code points do.
    """
    head = prefix
    while head:
        code = ord(head[-1]) + 1
        head = head[:-1]
        if code <= 0x10FFFF:
            # Surrogates cannot be encoded; the next code point that can is above them all.
            return head + chr(0xE000 if 0xD800 <= code <= 0xDFFF else code)
    return None


def _raw(value: Stored) -> object:
    # An unreadable row being moved aside is written back exactly as it was found.
    if isinstance(value, Unreadable):
        return value.raw
    return json.dumps(value)


class _Table:
    """The statements of one operation, on the worker thread, on one open connection."""

    def __init__(self, conn: sqlite3.Connection, *, name: str) -> None:
        self._conn = conn
        self._name = '"' + name.replace('"', '""') + '"'

    def get(self, key: str) -> Stored | None:
        row = self._conn.execute(f"SELECT value FROM {self._name} WHERE key = ?", (key,)).fetchone()
        return None if row is None else parse(row[0])

    def has(self, key: str) -> bool:
        sql = f"SELECT 1 FROM {self._name} WHERE key = ?"
        return self._conn.execute(sql, (key,)).fetchone() is not None

    def put(self, key: str, value: Stored) -> None:
        self.put_raw(key, _raw(value))

    def put_raw(self, key: str, raw: object) -> None:
        sql = f"REPLACE INTO {self._name} (key, value) VALUES (?, ?)"
        self._conn.execute(sql, (key, raw))

    def remove(self, key: str) -> None:
        self._conn.execute(f"DELETE FROM {self._name} WHERE key = ?", (key,))

    def items(
        self, prefix: str, *, after: str | None, size: int
    ) -> tuple[list[tuple[str, Stored]], str | None]:
        """Up to ``size`` rows whose key starts with ``prefix``, in key order after ``after``
        (from the first when None), read as one range of the key's index, so their cost does
        not depend on how many other rows there are; with the last key read, None at the end.
        Rows keyed otherwise than by text (another program's) are left out."""
        end = after_prefix(prefix)
        low, op = (prefix, ">=") if after is None else (after, ">")
        if end is None:
            sql = f"SELECT key, value FROM {self._name} WHERE key {op} ? ORDER BY key LIMIT ?"
            rows = self._conn.execute(sql, (low, size)).fetchall()
        else:
            sql = (
                f"SELECT key, value FROM {self._name} WHERE key {op} ? AND key < ? "
                "ORDER BY key LIMIT ?"
            )
            rows = self._conn.execute(sql, (low, end, size)).fetchall()
        last = rows[-1][0] if len(rows) == size and isinstance(rows[-1][0], str) else None
        return [(k, parse(v)) for k, v in rows if isinstance(k, str)], last

    def move_aside(self, key: str, stored: Stored) -> str:
        """Put ``stored`` under an unused quarantine key and drop ``key``."""
        target = next(k for k in quarantine_keys(key) if not self.has(k))
        self.put(target, stored)
        self.remove(key)
        return target


Operation = Callable[[_Table], T]


class SqliteStore:
    """Store backed by one sqlite file, in the layout sqlitedict uses (one table of key and
    value), so existing sqlitedict files keep working.

    Every call runs on one worker thread, which serialises them (so ``add_if_absent`` is
    atomic within the process) and keeps disk I/O off the event loop. Each write is
    committed before the call returns, so a crash loses nothing acknowledged. The file is
    opened on first use, not at construction. One process per file: for several processes
    use a shared backend.

    A failing disk (read-only, full, gone) makes calls raise StoreError within ``timeout``
    seconds, never hang, and is logged as an ERROR when it starts failing; every call
    tries the file afresh, so the store works again as soon as the file does (see
    ``SqliteFile`` for a file deleted, replaced or truncated meanwhile).
    """

    def __init__(
        self,
        *,
        path: str | Path,
        table: str = "knowrithm_bots",
        now: Callable[[], float] = time.time,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._path = Path(path)
        self._table = table
        self._now = now
        # A lock held by another program is waited for within the call's time, so that it
        # ends in sqlite's own "database is locked" rather than in a bare timeout.
        self._file = SqliteFile(path=self._path, table=table, busy_timeout=timeout / 2)
        self._worker = Worker(name="store", timeout=timeout)
        self._locks = KeyedLocks()
        self._closed = False
        self._failure: str | None = None

    # --- running operations ---------------------------------------------------------------

    async def _read(self, op: Operation[T]) -> T:
        return await self._run(op, write=False)

    async def _write(self, op: Operation[T]) -> T:
        return await self._run(op, write=True)

    async def _run(self, op: Operation[T], *, write: bool) -> T:
        if self._closed:
            raise StoreError(f"the store at {self._path} is closed")
        try:
            result = await self._worker.run(lambda deadline: self._attempt(op, write, deadline))
        except WorkerTimeout:
            self._failed(
                StoreError(
                    f"the store file {self._path} did not answer within {self._worker.timeout:g} s"
                )
            )
        except StoreError as exc:
            self._failed(exc)
        except sqlite3.Error as exc:
            self._failed(store_error(self._path, exc), cause=exc)
        except OSError as exc:
            self._failed(StoreError(f"the store file {self._path} failed ({exc})"), cause=exc)
        if self._failure is not None:
            log.warning("the store file %s works again", self._path)
            self._failure = None
        return result

    def _failed(self, error: StoreError, *, cause: BaseException | None = None) -> NoReturn:
        """Log the start of an outage (or a new reason) as an ERROR, once, then raise."""
        reason = str(error)
        if reason != self._failure:
            log.error("%s; messages get a sentence instead of an answer until it works", reason)
            self._failure = reason
        raise error from cause

    def _attempt(self, op: Operation[T], write: bool, deadline: float) -> T:
        """Run ``op`` on the worker thread; once more on the file opened afresh if it failed
        (a file emptied by someone, or writable again, works at once that way)."""
        first: sqlite3.Error | None = None
        while True:
            try:
                result = self._transaction(self._file.connection(), op, write, deadline)
            except sqlite3.Error as exc:
                self._file.failed()
                # Waiting for another program's lock again would only wait out the caller.
                busy = exc.sqlite_errorname.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
                if first is not None or busy or time.monotonic() >= deadline:
                    raise
                first = exc
                continue
            if first is not None:
                # Whatever made it fail may have cost data (a truncated file): an ERROR.
                log.error("%s; it worked once opened afresh", store_error(self._path, first))
            return result

    def _transaction(
        self, conn: sqlite3.Connection, op: Operation[T], write: bool, deadline: float
    ) -> T:
        table = _Table(conn, name=self._table)
        if not write:
            return op(table)
        # IMMEDIATE: the write lock is taken before the read, so read-then-write is atomic.
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = op(table)
            if time.monotonic() >= deadline:
                # The caller has been told this failed: it must not happen after all.
                raise StoreError(f"the store file {self._path} was too slow to write")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return result

    # --- the Store contract ---------------------------------------------------------------

    async def get(self, key: str) -> JSON:
        state, value = unwrap(await self._read(lambda t: t.get(key)), now=self._now)
        if state == "unreadable":
            warn_unreadable(key)
        return value

    def _store(self, table: _Table, key: str, text: str, *, only_if_absent: bool) -> bool:
        """Write the record ``text`` (its JSON), moving an unreadable row aside first, in one
        transaction."""
        stored = table.get(key)
        state = unwrap(stored, now=self._now)[0]
        if only_if_absent and state == "live":
            return False
        moved = None
        if stored is not None and state == "unreadable":
            moved = table.move_aside(key, stored)
        table.put_raw(key, text)
        if moved is not None:
            warn_moved(key, target=moved)
        return True

    async def set(self, key: str, *, value: JSON, ttl: float | None = None) -> None:
        # Encoded here: a non-JSON value fails before the file is touched.
        text = json.dumps(wrap(value, ttl=ttl, now=self._now))
        await self._write(lambda t: self._store(t, key, text, only_if_absent=False))

    async def delete(self, key: str) -> None:
        def remove(table: _Table) -> None:
            stored = table.get(key)
            if isinstance(stored, Unreadable):
                warn_moved(key, target=table.move_aside(key, stored))
            elif stored is not None:
                table.remove(key)

        await self._write(remove)

    async def add_if_absent(self, key: str, *, value: JSON, ttl: float | None = None) -> bool:
        text = json.dumps(wrap(value, ttl=ttl, now=self._now))
        return await self._write(lambda t: self._store(t, key, text, only_if_absent=True))

    async def quarantine(self, key: str) -> str | None:
        def move(table: _Table) -> str | None:
            stored = table.get(key)
            if stored is None or unwrap(stored, now=self._now)[0] == "expired":
                return None
            return table.move_aside(key, stored)

        return await self._write(move)

    async def scan(self, prefix: str) -> AsyncIterator[tuple[str, JSON]]:
        # In pages: however many rows match, neither the rows read at once (the idle sweep
        # reads every conversation) nor the time the worker is held grows with them.
        after: str | None = None
        while True:
            page, after = await self._read(functools.partial(_page, prefix, after))
            for key, stored in page:
                state, value = unwrap(stored, now=self._now)
                if state == "live":
                    yield key, value
            if after is None:
                return

    async def purge_expired(self) -> int:
        # In batches, each its own short transaction: however big the file, no call holds
        # the worker (and every other store call) for long, nor runs into its timeout.
        removed = 0
        after: str | None = None
        while True:
            count, after = await self._write(functools.partial(self._purge_batch, after))
            removed += count
            if after is None:
                return removed

    def _purge_batch(self, after: str | None, table: _Table) -> tuple[int, str | None]:
        # Every text key (the empty prefix); rows keyed otherwise are another program's.
        rows, last = table.items("", after=after, size=PURGE_BATCH)
        # Only records this store wrote and that have expired; unreadable rows are kept.
        expired = [k for k, v in rows if unwrap(v, now=self._now)[0] == "expired"]
        for key in expired:
            table.remove(key)
        return len(expired), last

    def lock(self, key: str, *, ttl: float = 60.0) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(key, ttl=ttl)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not await self._worker.close(last=lambda _deadline: self._file.close()):
            log.warning("the store file %s did not close in time; leaving it", self._path)


def _page(
    prefix: str, after: str | None, table: _Table
) -> tuple[list[tuple[str, Stored]], str | None]:
    return table.items(prefix, after=after, size=SCAN_PAGE)
