"""The sqlite store commits the calls that queued up while its thread was busy in one
transaction: fewer commits under load, the same outcome for each caller as on its own."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store import SqliteStore
from tests.core.store.disk import Disk
from tests.core.store.holding import held

KEPT = {"conversation_id": "c-kept"}


def commits(path: Path) -> int:
    """sqlite's file change counter (header bytes 24-27): one more for every commit."""
    with path.open("rb") as file:
        header = file.read(28)
    return int.from_bytes(header[24:28], "big")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SqliteStore]:
    made = SqliteStore(path=path, timeout=5.0)
    await made.set("thread:kept", value=KEPT)
    yield made
    await made.close()


def count_groups(store: SqliteStore) -> list[int]:
    """The size of every group the store tries to commit in one transaction, from now on."""
    sizes: list[int] = []
    tried = store._try_together

    def counted(calls: list[Any]) -> Any:
        sizes.append(len(calls))
        return tried(calls)

    store._try_together = counted  # type: ignore[method-assign]
    return sizes


async def queued_behind(
    store: SqliteStore, *calls: Any
) -> tuple[list[Any], threading.Event, asyncio.Future[object]]:
    """``calls`` (coroutines) queued while the thread is held, and the hold."""
    release, busy = await held(store._read)
    futures = [asyncio.ensure_future(call) for call in calls]
    await asyncio.sleep(0.05)  # every call is queued
    return futures, release, busy


async def test_calls_waiting_together_are_committed_in_few_transactions(
    store: SqliteStore, path: Path
) -> None:
    before = commits(path)
    groups = count_groups(store)
    calls = []
    for n in range(100):
        # Each add comes right after the set of its key, in the same group: it must see it.
        calls += [store.set(f"k{n}", value=n), store.add_if_absent(f"k{n}", value=-1)]
    futures, release, busy = await queued_behind(store, *calls)
    release.set()
    await busy
    outcomes = await asyncio.gather(*futures)
    assert outcomes == [None, False] * 100
    assert groups and all(size > 1 for size in groups), groups
    assert 1 <= commits(path) - before <= 200 // 32
    # Reads waiting together: read in groups too, in transactions that commit nothing.
    before = commits(path)
    del groups[:]
    futures, release, busy = await queued_behind(store, *(store.get(f"k{n}") for n in range(100)))
    release.set()
    await busy
    assert await asyncio.gather(*futures) == list(range(100))
    assert sorted(groups) == [36, 64]
    assert commits(path) == before

    # Alone, each write is its own commit, as before.
    for n in range(5):
        await store.set(f"alone{n}", value=n)
    assert commits(path) - before == 5


async def test_a_failing_call_in_a_group_fails_alone(store: SqliteStore) -> None:
    groups = count_groups(store)

    def broken(table: Any) -> None:
        table._conn.execute("SELECT * FROM nowhere")

    futures, release, busy = await queued_behind(
        store,
        store.add_if_absent("before", value=1),
        store._write(broken),
        store.add_if_absent("after", value=2),
    )
    release.set()
    await busy
    first, failing, last = await asyncio.gather(*futures, return_exceptions=True)
    assert groups == [3]  # they were tried together, then each on its own
    assert (first, last) == (True, True)
    assert isinstance(failing, StoreError) and "no such table" in str(failing)
    assert (await store.get("before"), await store.get("after")) == (1, 2)


async def test_a_write_whose_time_ran_out_in_a_group_never_happens(path: Path) -> None:
    store = SqliteStore(path=path, timeout=0.5)
    try:
        groups = count_groups(store)

        def slow(_table: object) -> None:
            time.sleep(0.6)  # past the first call's deadline, before the group commits

        futures, release, busy = await queued_behind(
            store, store.set("late", value=1), store._write(slow)
        )
        release.set()
        await busy
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        assert all(isinstance(outcome, StoreError) for outcome in outcomes), outcomes
        assert groups == [2]
        await asyncio.sleep(0.2)  # the thread is done with the group
        assert await store.get("late") is None
    finally:
        await store.close()


async def test_a_group_the_file_refuses_fails_each_call_and_keeps_what_was_stored(
    store: SqliteStore, path: Path, disk: Disk
) -> None:
    futures, release, busy = await queued_behind(
        store, *(store.set(f"k{n}", value=n) for n in range(20))
    )
    disk.read_only(path)
    release.set()
    await busy
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(outcome, StoreError) for outcome in outcomes), outcomes
    disk.writable(path)
    assert await store.get("thread:kept") == KEPT
    assert await store.get("k0") is None
    again = [asyncio.ensure_future(store.set(f"k{n}", value=n)) for n in range(20)]
    await asyncio.gather(*again)
    assert await store.get("k19") == 19


async def test_a_group_on_a_file_another_program_locked_fails_at_once_with_that_reason(
    path: Path,
) -> None:
    store = SqliteStore(path=path, timeout=2.0)
    await store.set("thread:kept", value=KEPT)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        futures, release, busy = await queued_behind(
            store, *(store.set(f"k{n}", value=n) for n in range(10))
        )
        other.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        release.set()
        await busy
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        # One wait for the lock (half the timeout), not one per call.
        assert time.monotonic() - started < 2.0
        assert all(isinstance(o, StoreError) and "locked" in str(o) for o in outcomes), outcomes
    finally:
        other.close()
        await store.close()


async def test_closing_with_calls_waiting_finishes_them_first(
    store: SqliteStore,
) -> None:
    futures, release, busy = await queued_behind(
        store, *(store.set(f"k{n}", value=n) for n in range(10))
    )
    closing = asyncio.ensure_future(store.close())
    await asyncio.sleep(0.05)
    release.set()
    await busy
    await asyncio.gather(*futures)
    await closing
    reopened = SqliteStore(path=store._path)
    try:
        assert await reopened.get("k9") == 9
    finally:
        await reopened.close()
