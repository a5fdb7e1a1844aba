"""The real ``knowrithm-bots run console`` process with its sqlite store going bad: the chat
gets one sentence and the screen an ERROR within seconds, SIGTERM stops it within 10 s, and
once the store works again so does the bot, without a restart."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.user_messages import explain
from tests.bots.terminal import Terminal
from tests.core.store.disk import Disk

PROMPT = "you › "
STORAGE_SENTENCE = explain(StoreError("any"))
STOPS_WITHIN = 10.0


def write_config(folder: Path, *, store: Path) -> Path:
    config = folder / "bot.yaml"
    config.write_text(f"knowrithm: {{base_url: local}}\nstore: {{path: '{store}'}}\n")
    return config


async def started(store: Path) -> Terminal:
    term = await Terminal.start(
        "run", "console", "--config", str(write_config(store.parent.parent, store=store))
    )
    await term.wait_for(lambda s: s.endswith(PROMPT))
    return term


async def ask(term: Terminal, text: str, *, expect: str, within: float = 10) -> float:
    """Type ``text``; how long until ``expect`` showed after it."""
    before = len(term.text)
    typed = time.monotonic()
    term.type(text.encode() + b"\n")
    await term.wait_for(lambda s: expect in s[before:], within=within)
    return time.monotonic() - typed


async def stop(term: Terminal) -> float:
    """SIGTERM; how long the process took to end (it must end cleanly)."""
    sent = time.monotonic()
    term.process.send_signal(signal.SIGTERM)
    code = await term.exit_status(within=STOPS_WITHIN * 3)
    took = time.monotonic() - sent
    assert code == 0, term.text
    assert "Traceback" not in term.text
    return took


def store_in(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder / "bot.sqlite"


async def test_a_read_only_store_gets_a_sentence_works_again_and_sigterm_stops_it(
    tmp_path: Path, disk: Disk
) -> None:
    store = store_in(tmp_path)
    async with await started(store) as term:
        await ask(term, "hello", expect='You asked: "hello"')
        disk.read_only(store)
        took = await ask(term, "anyone there?", expect=STORAGE_SENTENCE)
        assert took < 5
        await term.wait_for(
            lambda s: f"ERROR knowrithm_bots.core.store: the store file {store}" in s, within=5
        )
        disk.writable(store)
        await ask(term, "and now?", expect='You asked: "and now?"')
        disk.read_only(store)
        await ask(term, "broken again", expect=STORAGE_SENTENCE)
        assert await stop(term) < STOPS_WITHIN


async def test_a_full_disk_gets_a_sentence_and_sigterm_stops_it(tmp_path: Path, disk: Disk) -> None:
    folder = disk.small_disk(tmp_path / "data")
    store = folder / "bot.sqlite"
    async with await started(store) as term:
        await ask(term, "hello", expect='You asked: "hello"')
        disk.fill(folder)
        took = await ask(term, "still there?", expect=STORAGE_SENTENCE)
        assert took < 5
        await term.wait_for(lambda s: "disk is full" in s and "ERROR" in s, within=5)
        assert await stop(term) < STOPS_WITHIN


async def test_sigterm_stops_it_while_a_message_waits_on_a_locked_store(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    async with await started(store) as term:
        await ask(term, "hello", expect='You asked: "hello"')
        other = sqlite3.connect(store, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")  # another program holds the file
            term.type(b"are you stuck?\n")
            await asyncio.sleep(0.5)  # the bot is now waiting for the lock
            took = await stop(term)
        finally:
            other.close()
        assert took < STOPS_WITHIN
