"""The sqlite store going bad under the real Telegram bot process: the person gets one
sentence and the log an ERROR within seconds, SIGTERM stops the bot within 10 s, and once the
store is back the next message is answered, without a restart."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.user_messages import explain
from tests.core.store.disk import Disk, disk_faults
from tests.emulators.telegram_api import ALICE, FloodLimits, TelegramEmulator
from tests.faults.figures import Figures, record
from tests.faults.process import BotProcess, bot_process, until
from tests.faults.telegram_chat import Chats, ready, telegram_config

pytestmark = pytest.mark.faults

SENTENCE = explain(StoreError("any"))
SENTENCE_WITHIN = 5.0
STOPS_WITHIN = 10.0


@pytest.fixture
def disk() -> Iterator[Disk]:
    with disk_faults() as made:
        yield made


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    agent = ScriptedAgent(lambda question, history: f"answer to {question}")
    async with LocalKnowrithm(agent=agent, word_delay=0.0) as local:
        yield local


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(flood=FloodLimits.off()) as emulator:
        yield emulator


async def answered(chats: Chats, question: str, *, within: float = 10.0) -> bool:
    chat = chats.ask(question)
    return await until(lambda: chats.shown(chat) == [f"answer to {question}"], within=within)


async def sentence_for(chats: Chats, question: str, figures: Figures) -> float:
    """Ask while the store is bad; how long until the one sentence showed (fails after
    SENTENCE_WITHIN) — and that nothing else did."""
    asked = time.monotonic()
    chat = chats.ask(question)
    shown = await until(lambda: SENTENCE in chats.shown(chat), within=SENTENCE_WITHIN)
    took = time.monotonic() - asked
    figures.trials += 1
    figures.sentences += shown
    assert shown, f"no sentence within {SENTENCE_WITHIN:g} s: {chats.shown(chat)}"
    assert chats.shown(chat) == [SENTENCE]
    return took


def error_lines(bot: BotProcess, *, about: str) -> list[str]:
    return [line for line in bot.log().splitlines() if " ERROR " in line and about in line]


async def stop_within_limit(bot: BotProcess) -> None:
    status, took = await bot.terminate(within=STOPS_WITHIN * 2)
    assert took < STOPS_WITHIN, took
    assert status == 0, bot.log()[-3000:]
    assert "Traceback" not in bot.all_logs()


async def test_a_read_only_store(
    server: LocalKnowrithm, emu: TelegramEmulator, tmp_path: Path, disk: Disk
) -> None:
    figures = Figures(fault="store file read-only", order=30)
    store = tmp_path / "data" / "bot.sqlite"
    store.parent.mkdir()
    config = telegram_config(tmp_path, emu, server=server, store=store)
    chats = Chats(emu)
    async with bot_process(config=config, adapters=["telegram"], folder=tmp_path) as bot:
        await bot.start(ready=ready(bot))
        assert await answered(chats, "hello")
        disk.read_only(store)
        await sentence_for(chats, "anyone there?", figures)
        assert await until(lambda: bool(error_lines(bot, about=str(store))), within=5)
        disk.writable(store)
        figures.delivered += await answered(chats, "and now?")
        record(figures)
        assert figures.delivered == 1, bot.log()[-3000:]
        disk.read_only(store)
        await sentence_for(chats, "broken again", figures)
        await stop_within_limit(bot)


async def test_a_full_disk(
    server: LocalKnowrithm, emu: TelegramEmulator, tmp_path: Path, disk: Disk
) -> None:
    figures = Figures(fault="store disk full", order=31)
    folder = disk.small_disk(tmp_path / "data")
    store = folder / "bot.sqlite"
    config = telegram_config(tmp_path, emu, server=server, store=store)
    chats = Chats(emu)
    async with bot_process(config=config, adapters=["telegram"], folder=tmp_path) as bot:
        await bot.start(ready=ready(bot))
        assert await answered(chats, "hello")
        filler = disk.fill(folder)
        await sentence_for(chats, "still there?", figures)
        assert await until(lambda: bool(error_lines(bot, about="disk is full")), within=5)
        filler.unlink()
        figures.delivered += await answered(chats, "room again?")
        record(figures)
        assert figures.delivered == 1, bot.log()[-3000:]
        disk.fill(folder)
        await sentence_for(chats, "full again", figures)
        await stop_within_limit(bot)


async def test_a_vanished_then_recreated_store_folder(
    server: LocalKnowrithm, emu: TelegramEmulator, tmp_path: Path
) -> None:
    figures = Figures(fault="store folder vanished, then back", order=32)
    store = tmp_path / "data" / "bot.sqlite"
    store.parent.mkdir()
    config = telegram_config(tmp_path, emu, server=server, store=store)
    chats = Chats(emu)
    async with bot_process(config=config, adapters=["telegram"], folder=tmp_path) as bot:
        await bot.start(ready=ready(bot))
        assert await answered(chats, "hello")
        aside = tmp_path / "aside"
        store.parent.rename(aside)  # an unmounted volume, say
        await sentence_for(chats, "where did it go?", figures)
        assert await until(lambda: bool(error_lines(bot, about="has vanished")), within=5)
        aside.rename(store.parent)
        figures.delivered += await answered(chats, "back again?")
        record(figures)
        assert figures.delivered == 1, bot.log()[-3000:]
        await stop_within_limit(bot)


async def test_a_deleted_store_file_is_written_back_and_nothing_is_lost(
    server: LocalKnowrithm, emu: TelegramEmulator, tmp_path: Path
) -> None:
    figures = Figures(fault="store file deleted", order=33)
    store = tmp_path / "data" / "bot.sqlite"
    store.parent.mkdir()
    config = telegram_config(tmp_path, emu, server=server, store=store)
    chats = Chats(emu)
    async with bot_process(config=config, adapters=["telegram"], folder=tmp_path) as bot:
        await bot.start(ready=ready(bot))
        first = chats.ask("remember me")
        assert await until(lambda: chats.shown(first) == ["answer to remember me"], within=10)
        store.unlink()
        figures.trials += 1
        figures.delivered += await answered(chats, "after the delete")
        record(figures)
        assert figures.delivered == 1, bot.log()[-3000:]
        assert store.exists()
        await stop_within_limit(bot)
    # The conversation of the first chat survived the delete: the same one goes on.
    conversations = len(server.state.conversations)
    logs = tmp_path / "second-process"
    logs.mkdir()
    async with bot_process(config=config, adapters=["telegram"], folder=logs) as again:
        await again.start(ready=ready(again))
        emu.push_update(emu.build.private_text(text="me again", user={**ALICE, "id": first}))
        assert await until(
            lambda: chats.shown(first) == ["answer to remember me", "answer to me again"],
            within=10,
        ), again.log()[-3000:]
    assert len(server.state.conversations) == conversations
