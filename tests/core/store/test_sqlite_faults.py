"""A real sqlite file going bad under a running store: read-only, full, deleted, truncated,
damaged, locked. Each ends in a StoreError and an ERROR log within seconds, never a hang,
keeps what was stored, and works again without a restart once the file does."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store import SqliteStore
from tests.core.store.disk import Disk

TIMEOUT = 2.0
# "Within seconds": the store's own timeout, and a little for a busy machine.
WITHIN = TIMEOUT + 2.0
KEPT = {"conversation_id": "c-kept"}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "store.sqlite"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SqliteStore]:
    made = SqliteStore(path=path, timeout=TIMEOUT)
    await made.set("thread:kept", value=KEPT)
    yield made
    await made.close()


def size(path: Path) -> int:
    return path.stat().st_size


async def fails(
    call: Awaitable[object], caplog: pytest.LogCaptureFixture, *, logged: bool = True
) -> StoreError:
    """The StoreError ``call`` raises, after checking it came quickly, with an ERROR logged
    (``logged``: the first failure of an outage) or not (a later one)."""
    caplog.clear()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(StoreError) as raised:
        await asyncio.wait_for(call, WITHIN * 3)  # a hang shows as a TimeoutError
    assert time.monotonic() - started < WITHIN
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert bool(errors) == logged, errors
    return raised.value


async def works(store: SqliteStore, caplog: pytest.LogCaptureFixture, *, key: str) -> None:
    """The store reads and writes again, and still holds what was stored before."""
    with caplog.at_level(logging.WARNING):
        await store.set(key, value=1)
    assert await store.get(key) == 1
    assert await store.get("thread:kept") == KEPT


async def test_a_file_nobody_may_write_fails_fast_then_works_once_writable(
    store: SqliteStore, path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    disk.read_only(path)
    error = await fails(store.set("thread:new", value=1), caplog)
    assert str(path) in str(error)
    # Again: as fast (nothing is stuck), and not logged again for the same outage.
    await fails(store.add_if_absent("event:e1", value=1), caplog, logged=False)
    disk.writable(path)
    await works(store, caplog, key="thread:new")
    assert any("works again" in r.getMessage() for r in caplog.records)


async def test_a_folder_nobody_may_write_in_fails_fast_then_works(
    store: SqliteStore, path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    # sqlite writes its journal next to the file: without it, no write can begin.
    disk.read_only(path.parent)
    await fails(store.set("thread:new", value=1), caplog)
    assert await store.get("thread:kept") == KEPT  # reading still works
    disk.writable(path.parent)
    await works(store, caplog, key="thread:new")


async def test_a_full_disk_fails_fast_keeps_the_old_value_then_works(
    tmp_path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    folder = disk.small_disk(tmp_path / "small")
    store = SqliteStore(path=folder / "store.sqlite", timeout=TIMEOUT)
    try:
        await store.set("thread:kept", value=KEPT)
        filler = disk.fill(folder)
        error = await fails(store.set("thread:kept", value={"big": "x" * 20_000}), caplog)
        assert "disk is full" in str(error)
        assert await store.get("thread:kept") == KEPT  # a failed write leaves the old value
        os.unlink(filler)
        await works(store, caplog, key="thread:new")
    finally:
        await store.close()


async def test_a_deleted_file_is_written_back_with_everything_it_held(
    store: SqliteStore, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    os.unlink(path)
    with caplog.at_level(logging.WARNING):
        await store.set("thread:new", value=1)
    assert any(
        r.levelno == logging.ERROR and "deleted" in r.getMessage() and str(path) in r.getMessage()
        for r in caplog.records
    )
    await works(store, caplog, key="thread:new")
    # On disk, not only in the store's memory: a new store (a restart) finds it all.
    again = SqliteStore(path=path)
    assert await again.get("thread:kept") == KEPT
    assert await again.get("thread:new") == 1
    await again.close()


async def test_a_vanished_folder_fails_fast_and_works_when_it_is_back(
    store: SqliteStore, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    aside = path.parent.with_name("elsewhere")
    path.parent.rename(aside)  # an unmounted volume, say
    error = await fails(store.get("thread:kept"), caplog)
    assert "vanished" in str(error)
    assert not path.parent.exists()  # not created again under the mount point
    aside.rename(path.parent)
    await works(store, caplog, key="thread:new")


async def test_a_folder_removed_and_made_again_gets_the_file_back(
    store: SqliteStore, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.rmtree(path.parent)
    await fails(store.set("thread:new", value=1), caplog)
    path.parent.mkdir()
    await works(store, caplog, key="thread:new")


async def test_a_file_truncated_to_nothing_works_at_once_and_says_so(
    store: SqliteStore, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    os.truncate(path, 0)
    with caplog.at_level(logging.WARNING):
        assert await store.get("thread:kept") is None  # emptied by someone: gone
        await store.set("thread:new", value=1)
    assert any(r.levelno == logging.ERROR and str(path) in r.getMessage() for r in caplog.records)
    assert await store.get("thread:new") == 1
    assert size(path) > 0


async def test_a_damaged_file_fails_fast_until_a_good_copy_replaces_it(
    store: SqliteStore, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(200):
        await store.set(f"thread:{n}", value="x" * 200)
    backup = path.with_name("backup.sqlite")
    shutil.copy(path, backup)
    os.truncate(path, size(path) // 2)
    error = await fails(store.get("thread:150"), caplog)
    assert "damaged" in str(error)
    assert size(path) > 0  # left as it is for whoever repairs it
    os.replace(backup, path)  # the operator puts a backup in place
    assert await store.get("thread:150") == "x" * 200
    await works(store, caplog, key="thread:new")


async def test_a_file_locked_by_another_program_fails_within_the_timeout(
    store: SqliteStore, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        error = await fails(store.set("thread:new", value=1), caplog)
        assert "locked" in str(error)
    finally:
        other.close()
    await works(store, caplog, key="thread:new")


async def test_an_outage_is_logged_as_an_error_once_not_per_call(
    store: SqliteStore, path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    disk.read_only(path.parent)
    with caplog.at_level(logging.WARNING):
        for n in range(5):
            with pytest.raises(StoreError):
                await store.set(f"thread:{n}", value=n)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
