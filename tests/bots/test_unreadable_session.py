"""A thread whose stored session the bot cannot read still gets an answer; the record is kept."""

from __future__ import annotations

import logging
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.store import SqliteStore
from knowrithm_bots.core.testing import RecordingAdapter
from tests.harness import running_bot

TABLE = "knowrithm_bots"  # SqliteStore's default table


def another_version(record: dict[str, Any]) -> dict[str, Any]:
    """The record as a version that named a field differently would have written it."""
    renamed = dict(record)
    renamed["entityType"] = renamed.pop("entity_type")
    return renamed


async def write_as_another_version(path: Path, key: str, record: dict[str, Any]) -> None:
    store = SqliteStore(path=path)
    await store.set(key, value=another_version(record))
    await store.close()


async def write_as_a_pickle(path: Path, key: str, record: dict[str, Any]) -> None:
    with sqlite3.connect(path) as db:
        db.execute(f"REPLACE INTO {TABLE} (key, value) VALUES (?, ?)", (key, pickle.dumps(record)))


@pytest.mark.parametrize("rewrite", [write_as_another_version, write_as_a_pickle])
async def test_unreadable_session_is_kept_aside_and_the_user_still_gets_an_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, rewrite: Any
) -> None:
    path = tmp_path / "bot.sqlite"
    async with LocalKnowrithm() as server:
        first = RecordingAdapter()
        async with running_bot({first.name: first}, server=server, store_path=path) as bot:
            await first.say("first", chat="c", event_id="first")
            await bot.drain()
            key = "thread:" + first.thread_key("c")
            old = await bot.store.get(key)
        assert isinstance(old, dict)
        await rewrite(path, key, old)

        second = RecordingAdapter()
        with caplog.at_level(logging.WARNING):
            async with running_bot({second.name: second}, server=server, store_path=path) as bot:
                await second.say("second", chat="c", event_id="second")
                await bot.drain()
                answer = second.visible(second.thread_key("c"))
                new = await bot.store.get(key)

    assert '"second"' in answer
    assert isinstance(new, dict) and new["conversation_id"] != old["conversation_id"]
    assert len(server.state.conversations) == 2
    with sqlite3.connect(path) as db:
        (kept,) = db.execute(
            f"SELECT value FROM {TABLE} WHERE key = ?", ("quarantine:" + key,)
        ).fetchone()
    if rewrite is write_as_a_pickle:
        assert pickle.loads(kept) == old
    else:
        assert kept is not None and '"entityType": "USER"' in str(kept)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("quarantine:" + key in w for w in warnings)
    assert not any(str(old["conversation_id"]) in w for w in warnings)
