"""A store that cannot be written, seen from the chat: one sentence and an ERROR within
seconds, nothing lost, and answers again once the store works, without a restart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.testing import RecordingAdapter
from knowrithm_bots.core.user_messages import explain
from tests.core.store.disk import Disk
from tests.harness import RunningBot, running_bot

STORAGE_SENTENCE = explain(StoreError("any"))
THREAD = "recording:general"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "bot.sqlite"


@pytest.fixture
async def bot(knowrithm: LocalKnowrithm, path: Path) -> AsyncIterator[RunningBot]:
    async with running_bot(
        {"recording": RecordingAdapter()}, server=knowrithm, store_path=path
    ) as made:
        yield made


async def say(bot: RunningBot, text: str, *, event_id: str) -> list[str]:
    adapter = bot.adapters["recording"]
    assert isinstance(adapter, RecordingAdapter)
    await adapter.say(text, event_id=event_id)
    await asyncio.wait_for(bot.drain(), 20)
    return adapter.messages_in(THREAD)


async def test_a_read_only_store_gets_a_sentence_then_the_same_message_is_answered(
    bot: RunningBot, path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    await say(bot, "first", event_id="e1")
    conversations = len(bot.server.state.conversations)
    disk.read_only(path)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.WARNING):
        shown = await say(bot, "during the outage", event_id="e2")
    assert loop.time() - started < 5
    assert shown[-1] == STORAGE_SENTENCE
    assert any(r.levelno == logging.ERROR and str(path) in r.getMessage() for r in caplog.records)

    disk.writable(path)
    # The platform delivers the message again: it was never marked seen, so it is answered,
    # in the conversation the thread had before the outage.
    shown = await say(bot, "during the outage", event_id="e2")
    assert 'You asked: "during the outage"' in shown[-1]
    assert len(bot.server.state.conversations) == conversations


async def test_a_full_disk_gets_a_sentence_and_answers_once_there_is_room(
    knowrithm: LocalKnowrithm, tmp_path: Path, disk: Disk, caplog: pytest.LogCaptureFixture
) -> None:
    folder = disk.small_disk(tmp_path / "small")
    async with running_bot(
        {"recording": RecordingAdapter()}, server=knowrithm, store_path=folder / "bot.sqlite"
    ) as bot:
        await say(bot, "first", event_id="e1")
        filler = disk.fill(folder)
        with caplog.at_level(logging.WARNING):
            shown = await say(bot, "no room", event_id="e2")
        assert shown[-1] == STORAGE_SENTENCE
        assert any(r.levelno == logging.ERROR and "full" in r.getMessage() for r in caplog.records)
        filler.unlink()
        shown = await say(bot, "room again", event_id="e3")
        assert 'You asked: "room again"' in shown[-1]
