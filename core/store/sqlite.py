"""The default Store: a sqlite file (in sqlitedict's layout) holding JSON, written off the
event loop, where a failing or hung disk is an error within seconds, never a hang."""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Generic, Literal, NoReturn, TypeVar, cast

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
from knowrithm_bots.core.store.worker import Outcome, Worker, WorkerTimeout

log = logging.getLogger("knowrithm_bots.core.store")

T = TypeVar("T")

DEFAULT_TIMEOUT = 5.0
PURGE_BATCH = 2000
# How often a group is tried together, its calls whose time ran out left out each time.
GROUP_TRIES = 2
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


class _Call(Generic[T]):
    """One operation as the worker runs it: alone when called (with its deadline), or with
    the others that were waiting beside it (``SqliteStore._together``)."""

    __slots__ = ("alone", "op", "write")

    def __init__(
        self, op: Operation[T], *, write: bool, alone: Callable[[Operation[T], bool, float], T]
    ) -> None:
        self.op = op
        self.write = write
        self.alone = alone

    def __call__(self, deadline: float) -> T:
        return self.alone(self.op, self.write, deadline)


class _RanOut(StoreError):
    """A call's time ran out before its transaction was committed."""


def _ran_out(
    calls: list[tuple[Callable[[float], Any], float]],
    left: list[int],
    outcomes: dict[int, Outcome],
) -> list[int]:
    """Fail the calls of ``left`` whose time has run out (their callers have been told
    already); the others."""
    now = time.monotonic()
    kept = []
    for i in left:
        if now >= calls[i][1]:
            outcomes[i] = (None, WorkerTimeout("timeout"))
        else:
            kept.append(i)
    return kept


def _outcome(fn: Callable[[float], Any], deadline: float) -> Outcome:
    try:
        return fn(deadline), None
    except BaseException as exc:
        return None, exc


def _busy(exc: sqlite3.Error) -> bool:
    """Whether another program holds the file's lock."""
    # Errors raised by the sqlite3 module itself (a closed connection) carry no name.
    name = getattr(exc, "sqlite_errorname", None) or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


class SqliteStore:
    """Store backed by one sqlite file, in the layout sqlitedict uses (one table of key and
    value), so existing sqlitedict files keep working.

    Every call runs on one worker thread, which serialises them (so ``add_if_absent`` is
    atomic within the process) and keeps disk I/O off the event loop. Each write is
    committed before the call returns, so a crash loses nothing acknowledged; the calls that
    queued up while the thread was busy are committed together, in one transaction (under
    load, most of a write's cost is its commit). The file is opened on first use, not at
    construction. One process per file: for several processes
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
        self._worker = Worker(name="store", timeout=timeout, together=self._together)
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
            result = await self._worker.run(_Call(op, write=write, alone=self._attempt))
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
                results = self._transaction(
                    self._file.connection(), [op], write=write, deadline=deadline
                )
            except sqlite3.Error as exc:
                self._file.failed()
                # Waiting for another program's lock again would only wait out the caller.
                if first is not None or _busy(exc) or time.monotonic() >= deadline:
                    raise
                first = exc
                continue
            if first is not None:
                # Whatever made it fail may have cost data (a truncated file): an ERROR.
                log.error("%s; it worked once opened afresh", store_error(self._path, first))
            return cast(T, results[0])

    def _transaction(
        self, conn: sqlite3.Connection, ops: list[Operation[Any]], *, write: bool, deadline: float
    ) -> list[Any]:
        """Run ``ops`` in order on ``conn`` and return their results: with writes, in one
        transaction, committed only while ``deadline`` has not passed."""
        table = _Table(conn, name=self._table)
        if not write and len(ops) == 1:
            return [ops[0](table)]  # one read needs no transaction of its own
        # IMMEDIATE: the write lock is taken before the reads, so read-then-write is atomic.
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            results = [op(table) for op in ops]
            if write and time.monotonic() >= deadline:
                # A caller has been told this failed: it must not happen after all.
                raise _RanOut(f"the store file {self._path} was too slow to write")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if conn.in_transaction:
                # The rollback failed: the next call must not run on what it left.
                self._file.failed()
            raise
        return results

    def _together(self, calls: Sequence[tuple[Callable[[float], Any], float]]) -> list[Outcome]:
        """The outcomes of ``calls`` (waiting at the same time, in order), each run of
        operations in one transaction; anything else (closing the file) on its own."""
        outcomes: list[Outcome] = []
        for grouped, run in itertools.groupby(calls, key=lambda c: isinstance(c[0], _Call)):
            batch = list(run)
            if grouped and len(batch) > 1:
                outcomes.extend(self._grouped(batch))
            else:
                outcomes.extend(_outcome(fn, deadline) for fn, deadline in batch)
        return outcomes

    def _grouped(self, calls: list[tuple[Callable[[float], Any], float]]) -> list[Outcome]:
        """The outcomes of ``calls`` committed in one transaction, or each on its own.

        A call whose time has run out fails and the others go again together: under load the
        oldest call of a group is the one nearest its end, and running all the rest alone for
        its sake would cost most when the store is busiest. On any failure but a lock held by
        another program, each call is run on its own (``_try_together``).
        """
        outcomes: dict[int, Outcome] = {}
        left = list(range(len(calls)))
        for _ in range(GROUP_TRIES):
            left = _ran_out(calls, left, outcomes)
            tried = self._try_together([calls[i] for i in left]) if left else []
            if tried == "again":
                continue
            if tried != "alone":
                outcomes.update(zip(left, tried, strict=True))
                left = []
            break
        for i in _ran_out(calls, left, outcomes):
            outcomes[i] = _outcome(*calls[i])
        return [outcomes[i] for i in range(len(calls))]

    def _try_together(
        self, calls: list[tuple[Callable[[float], Any], float]]
    ) -> list[Outcome] | Literal["again", "alone"]:
        """One transaction for ``calls``: their outcomes; ``again`` when a call's time ran
        out before the commit; ``alone`` when it failed otherwise, so that each call runs on
        its own, its failure reaching only itself, and a lone call's reopening of the file and
        retry apply. A file locked by another program fails them all with that reason (a
        lone call would wait for the lock once more, each)."""
        ops = [cast(_Call[Any], fn) for fn, _ in calls]
        try:
            results = self._transaction(
                self._file.connection(),
                [op.op for op in ops],
                write=any(op.write for op in ops),
                deadline=min(deadline for _, deadline in calls),
            )
        except _RanOut:
            return "again"
        except sqlite3.Error as exc:
            self._file.failed()
            if _busy(exc):
                return [(None, store_error(self._path, exc)) for _ in calls]
            return "alone"
        except Exception:
            return "alone"
        return [(result, None) for result in results]

    # --- the Store contract ---------------------------------------------------------------

    async def get(self, key: str) -> JSON:
        state, value = unwrap(await self._read(lambda t: t.get(key)), now=self._now)
        if state == "unreadable":
            warn_unreadable(key)
        return value

    def _store(
        self, table: _Table, key: str, text: str, *, only_if_absent: bool
    ) -> tuple[bool, str | None]:
        """Write the record ``text`` (its JSON), moving an unreadable row aside first, in one
        transaction; whether it was written, and where the unreadable row went."""
        stored = table.get(key)
        state = unwrap(stored, now=self._now)[0]
        if only_if_absent and state == "live":
            return False, None
        moved = None
        if stored is not None and state == "unreadable":
            moved = table.move_aside(key, stored)
        table.put_raw(key, text)
        return True, moved

    @staticmethod
    def _log_move(key: str, moved: str | None) -> None:
        """Log a row moved aside, once its transaction is committed: logged by the operation,
        a group rolled back and run again would log a move that never happened, then again."""
        if moved is not None:
            warn_moved(key, target=moved)

    async def set(self, key: str, *, value: JSON, ttl: float | None = None) -> None:
        # Encoded here: a non-JSON value fails before the file is touched.
        text = json.dumps(wrap(value, ttl=ttl, now=self._now))
        _, moved = await self._write(lambda t: self._store(t, key, text, only_if_absent=False))
        self._log_move(key, moved)

    async def delete(self, key: str) -> None:
        def remove(table: _Table) -> str | None:
            stored = table.get(key)
            if isinstance(stored, Unreadable):
                return table.move_aside(key, stored)
            if stored is not None:
                table.remove(key)
            return None

        self._log_move(key, await self._write(remove))

    async def add_if_absent(self, key: str, *, value: JSON, ttl: float | None = None) -> bool:
        text = json.dumps(wrap(value, ttl=ttl, now=self._now))
        added, moved = await self._write(lambda t: self._store(t, key, text, only_if_absent=True))
        self._log_move(key, moved)
        return added

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
