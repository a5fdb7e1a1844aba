"""The idle sweep's scan of ``thread:`` keys costs the same beside 1,000 or 100,000 other
records (message links, event marks): the store's cost does not grow with the bot's age."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.core.sessions import THREAD_PREFIX
from knowrithm_bots.core.store import MemoryStore, SqliteStore, Store
from knowrithm_bots.core.store.expiry import wrap
from knowrithm_bots.core.store.sqlite import PURGE_BATCH, SCAN_PAGE, _Table
from knowrithm_bots.core.store.sqlite_file import create_table_sql

THREADS = 100
FEW, MANY = 1_000, 100_000
TABLE = "knowrithm_bots"
# A full scan of MANY rows takes ~100 times one of FEW; a key-range read the same time. The
# bound leaves room for a busy machine without letting a full scan through.
MAX_RATIO = 5.0


def _records(others: int) -> list[tuple[str, dict[str, object]]]:
    """THREADS conversation records and ``others`` message links and event marks, as the
    bridge writes them (kinds that sort both before and after ``thread:``)."""
    rows: list[tuple[str, dict[str, object]]] = []
    for n in range(THREADS):
        session = {"conversation_id": f"c{n}", "last_active": 1000.0, "entity_type": "USER"}
        rows.append((f"{THREAD_PREFIX}telegram:{n}", wrap(session, ttl=None, now=time.time)))
    for n in range(others):
        if n % 2:
            link = {"conversation_id": f"c{n}", "message_id": f"m{n}", "thread": f"tg:{n}"}
            rows.append((f"msg:telegram:{n}", wrap(link, ttl=60 * 86400, now=time.time)))
        else:
            rows.append((f"event:telegram:{n}", wrap(True, ttl=86400, now=time.time)))
    return rows


async def _sqlite(path: Path, others: int) -> Store:
    # Written straight into the file in the store's own layout: 100,000 calls through the
    # store would take the test most of a minute.
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(create_table_sql(TABLE))
        db.executemany(
            f"INSERT INTO {TABLE} (key, value) VALUES (?, ?)",
            ((key, json.dumps(value)) for key, value in _records(others)),
        )
    return SqliteStore(path=path, table=TABLE)


async def _memory(_path: Path, others: int) -> Store:
    store = MemoryStore()
    for key, value in _records(others):
        await store.set(key, value=value["v"], ttl=None)  # type: ignore[arg-type]
    return store


async def _sweep_seconds(store: Store) -> float:
    """The fastest of several scans of the thread records (the least disturbed by others)."""
    best = float("inf")
    for _ in range(15):
        started = time.perf_counter()
        found = [key async for key, _ in store.scan(THREAD_PREFIX)]
        best = min(best, time.perf_counter() - started)
        assert len(found) == THREADS
    return best


@pytest.mark.parametrize("backend", [_sqlite, _memory], ids=["sqlite", "memory"])
async def test_the_sweep_costs_the_same_beside_100000_other_records(
    backend: Callable[[Path, int], Awaitable[Store]], tmp_path: Path
) -> None:
    timings: dict[int, float] = {}
    for others in (FEW, MANY):
        store = await backend(tmp_path / f"{others}.sqlite", others)
        try:
            timings[others] = await _sweep_seconds(store)
        finally:
            await store.close()
    ratio = timings[MANY] / timings[FEW]
    assert ratio < MAX_RATIO, (
        f"scanning {THREADS} threads took {timings[FEW] * 1e3:.2f} ms beside {FEW} records "
        f"and {timings[MANY] * 1e3:.2f} ms beside {MANY}"
    )


@pytest.mark.parametrize("threads", [SCAN_PAGE * 2, SCAN_PAGE * 2 + 1, 7])
async def test_the_sqlite_scan_reads_in_pages_and_misses_no_row(
    threads: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many conversations there are, one read of the sweep holds at most a page of
    them in memory (and the store's worker for as long), and every one is found once."""
    path = tmp_path / "bot.sqlite"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(create_table_sql(TABLE))
        others = [r for r in _records(FEW) if not r[0].startswith(THREAD_PREFIX)]
        conversations = [
            (f"{THREAD_PREFIX}telegram:{n}", wrap({"n": n}, ttl=None, now=time.time))
            for n in range(threads)
        ]
        rows = [(key, json.dumps(value)) for key, value in others + conversations]
        db.executemany(f"INSERT INTO {TABLE} (key, value) VALUES (?, ?)", rows)
    pages: list[int] = []
    real = _Table.items

    def counted(self: _Table, prefix: str, *, after: str | None, size: int) -> Any:
        page, last = real(self, prefix, after=after, size=size)
        pages.append(len(page))
        return page, last

    monkeypatch.setattr(_Table, "items", counted)
    store = SqliteStore(path=path, table=TABLE)
    try:
        found = [key async for key, _ in store.scan(THREAD_PREFIX)]
    finally:
        await store.close()
    assert len(found) == len(set(found)) == threads
    assert all(key.startswith(THREAD_PREFIX) for key in found)
    assert max(pages) <= SCAN_PAGE
    assert len(pages) == threads // SCAN_PAGE + 1


async def test_the_sqlite_purge_walks_every_page_and_leaves_other_programs_rows(
    tmp_path: Path,
) -> None:
    """Expired records spread over several purge batches all go; live ones, and rows keyed
    by a number or bytes (another program's, in the same table), stay."""
    path = tmp_path / "bot.sqlite"
    expired = 2 * PURGE_BATCH + 1
    past = time.time() - 10
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(create_table_sql(TABLE))
        rows: list[tuple[object, str]] = [
            (f"event:x:{n:05d}", json.dumps(wrap(1, ttl=1, now=lambda: past)))
            for n in range(expired)
        ]
        rows += [
            (f"event:x:{n:05d}a", json.dumps(wrap(1, ttl=None, now=time.time)))
            for n in range(0, expired, 97)
        ]
        rows += [(7, "not ours"), (b"blob", "not ours either")]
        db.executemany(f"INSERT INTO {TABLE} (key, value) VALUES (?, ?)", rows)
    live = (expired + 96) // 97
    store = SqliteStore(path=path, table=TABLE)
    try:
        assert await store.purge_expired() == expired
        assert len([key async for key, _ in store.scan("event:")]) == live
    finally:
        await store.close()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] == live + 2
