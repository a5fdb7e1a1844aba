"""The runner: start-up checks and a shutdown that loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.bots.runner import INTERRUPTED, STOPPING_NOTICE, BotRunner, StopSignals
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.store import MemoryStore, Store
from knowrithm_bots.core.testing import RecordingAdapter
from tests.adapters.test_console import run_cli
from tests.harness import client_for, running_bot
from tests.support import eventually, stored_replies


async def test_shutdown_finishes_answers_already_received() -> None:
    adapter = RecordingAdapter()
    async with LocalKnowrithm(word_delay=0.01) as server:
        async with running_bot({adapter.name: adapter}, server=server) as bot:
            await adapter.say("answer me before you go")
        # The context has stopped the bot: the answer had to be finished first.
        (reply,) = bot.assistant_replies()
        assert adapter.visible(adapter.thread_key("general")) == reply
        assert adapter.stopped == 1


class LateAdapter(RecordingAdapter):
    """Delivers one more event while the runner stops it, as a closing connection may."""

    async def stop(self) -> None:
        await self.say("too late", event_id="late-1")
        await super().stop()


async def run_in_background(
    adapter: RecordingAdapter,
    *,
    server: LocalKnowrithm,
    client: KnowrithmClient,
    store: Store,
    announce: Callable[[str], None] | None = None,
) -> tuple[BotRunner, asyncio.Event, asyncio.Task[None]]:
    """A runner on ``store`` started as the CLI starts it, with the event that stops it."""
    runner = BotRunner(
        settings=parse_settings({}, env={}),
        adapters={adapter.name: adapter},
        client=client,
        agent_id=server.agent_id,
        store=store,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop=stop, announce=announce))
    await asyncio.wait_for(runner.started.wait(), 30)
    return runner, stop, task


async def test_events_after_intake_closed_are_left_unseen_for_redelivery() -> None:
    store = MemoryStore()
    thread = RecordingAdapter().thread_key("general")
    async with LocalKnowrithm() as server, client_for(server) as client:
        late = LateAdapter()
        _, stop, task = await run_in_background(late, server=server, client=client, store=store)
        await late.say("answer me before you go", event_id="first-1")
        stop.set()  # the runner's own stop path: drain, close intake, stop the adapters
        await asyncio.wait_for(task, 30)
        assert late.stopped == 1
        assert "answer me before you go" in late.visible(thread)
        assert await store.get("event:recording:late-1") is None  # left unseen
        assert [text for _, text in server.state.chat_requests] == ["answer me before you go"]

        # After a restart the platform redelivers the late event, and it is answered.
        again = RecordingAdapter()
        runner, stop, task = await run_in_background(
            again, server=server, client=client, store=store
        )
        await again.say("too late", event_id="late-1")
        await runner.bridge.drain()
        stop.set()
        await asyncio.wait_for(task, 30)
        assert "too late" in again.visible(thread)
        assert [text for _, text in server.state.chat_requests][-1] == "too late"


def test_a_store_path_that_is_not_a_database_stops_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not a database\n" * 50, encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(f"knowrithm: {{base_url: local}}\nstore:\n  path: {bad}\n", encoding="utf-8")
    result = run_cli("run", "console", "--config", str(config), stdin="hello\n")
    assert result.returncode == 2
    assert "store.path" in result.stderr
    assert "Traceback" not in result.stderr
    assert bad.read_text(encoding="utf-8") == "not a database\n" * 50


def test_log_level_from_the_config_file_is_applied(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    local = "knowrithm: {base_url: local}\nstore:\n  backend: memory\n"
    config.write_text(f"log_level: DEBUG\n{local}", encoding="utf-8")
    quiet = tmp_path / "quiet.yaml"
    quiet.write_text(f"log_level: ERROR\n{local}", encoding="utf-8")
    loud = run_cli("run", "console", "--config", str(config), stdin="")
    silent = run_cli("run", "console", "--config", str(quiet), stdin="")
    assert loud.returncode == 0 and silent.returncode == 0
    assert " DEBUG " in loud.stderr
    assert silent.stderr == ""


async def test_a_stop_while_answering_is_announced_once_and_the_answer_finishes() -> None:
    adapter = RecordingAdapter()
    thread = adapter.thread_key("general")
    said: list[str] = []
    async with LocalKnowrithm(word_delay=0.05) as server, client_for(server) as client:
        _, stop, task = await run_in_background(
            adapter, server=server, client=client, store=MemoryStore(), announce=said.append
        )
        await adapter.say("answer me slowly")
        await eventually(lambda: bool(adapter.visible(thread)), what="the answer to start")
        stop.set()
        await asyncio.wait_for(task, 30)
        (reply,) = stored_replies(server)
    assert said == [STOPPING_NOTICE]
    assert adapter.visible(thread) == reply.content


async def test_a_stop_with_nothing_in_progress_announces_nothing() -> None:
    adapter = RecordingAdapter()
    said: list[str] = []
    async with LocalKnowrithm() as server, client_for(server) as client:
        runner, stop, task = await run_in_background(
            adapter, server=server, client=client, store=MemoryStore(), announce=said.append
        )
        await adapter.say("a quick one")
        await runner.bridge.drain()
        assert adapter.visible(adapter.thread_key("general"))
        stop.set()
        await asyncio.wait_for(task, 30)
    assert said == []


async def _until_cancelled(signals: StopSignals) -> None:
    signals.install()
    await asyncio.Event().wait()


async def test_sigterm_stops_cleanly_and_a_second_one_quits_at_once() -> None:
    signals = StopSignals()
    task = asyncio.create_task(_until_cancelled(signals))
    await asyncio.sleep(0)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(signals.stop.wait(), 5)
    await asyncio.sleep(0.05)
    assert not task.done()  # the first signal only asks for a clean stop
    os.kill(os.getpid(), signal.SIGTERM)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert signals.exit_status == 0  # a stop that was asked for is not a failure


async def test_interrupt_quits_at_once_where_someone_chats() -> None:
    signals = StopSignals(interrupt_quits=True)
    task = asyncio.create_task(_until_cancelled(signals))
    await asyncio.sleep(0)
    os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert signals.exit_status == INTERRUPTED == 130
