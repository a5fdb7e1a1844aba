"""The runner: start-up checks and a shutdown that loses nothing."""

from __future__ import annotations

import asyncio
import os
import pty
import signal
from collections.abc import Callable
from pathlib import Path

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.bots.runner import BotRunner
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.store import MemoryStore, Store
from knowrithm_bots.core.testing import RecordingAdapter
from tests.adapters.test_console import BIN, run_cli
from tests.harness import client_for, running_bot
from tests.support import env_without_proxies


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
    adapter: RecordingAdapter, *, server: LocalKnowrithm, client: KnowrithmClient, store: Store
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
    task = asyncio.create_task(runner.run(stop=stop))
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
    config.write_text(f"store:\n  path: {bad}\n", encoding="utf-8")
    result = run_cli("run", "console", "--config", str(config), stdin="hello\n")
    assert result.returncode == 2
    assert "store.path" in result.stderr
    assert "Traceback" not in result.stderr
    assert bad.read_text(encoding="utf-8") == "not a database\n" * 50


def test_log_level_from_the_config_file_is_applied(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("log_level: DEBUG\nstore:\n  backend: memory\n", encoding="utf-8")
    quiet = tmp_path / "quiet.yaml"
    quiet.write_text("log_level: ERROR\nstore:\n  backend: memory\n", encoding="utf-8")
    loud = run_cli("run", "console", "--config", str(config), stdin="")
    silent = run_cli("run", "console", "--config", str(quiet), stdin="")
    assert loud.returncode == 0 and silent.returncode == 0
    assert " DEBUG " in loud.stderr
    assert silent.stderr == ""


class _TerminalOutput:
    """Collects what a child writes to its terminal (the master side of a pty)."""

    def __init__(self, master: int) -> None:
        self._master = master
        self.data = b""
        self._grew = asyncio.Event()
        os.set_blocking(master, False)
        asyncio.get_running_loop().add_reader(master, self._read)

    def _read(self) -> None:
        try:
            chunk = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""  # EIO: the child closed its side
        if not chunk:
            asyncio.get_running_loop().remove_reader(self._master)
        self.data += chunk
        self._grew.set()

    async def wait_for(self, check: Callable[[bytes], bool], *, within: float = 30) -> None:
        async with asyncio.timeout(within):
            while not check(self.data):
                self._grew.clear()
                await self._grew.wait()

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self._master)


async def test_ctrl_c_ends_the_demo_while_it_waits_for_input() -> None:
    # On a terminal the demo shows its prompt once it is ready for the next line, so Ctrl-C
    # is sent at a moment the test has seen, not after a guessed pause.
    master, slave = pty.openpty()
    try:
        process = await asyncio.create_subprocess_exec(
            str(BIN / "knowrithm-bots"),
            "demo",
            "--word-delay",
            "0",
            stdin=slave,
            stdout=slave,
            stderr=asyncio.subprocess.PIPE,
            env=env_without_proxies(),
        )
    finally:
        os.close(slave)
    screen = _TerminalOutput(master)
    try:
        prompt = "you › ".encode()
        await screen.wait_for(lambda out: out.count(prompt) >= 1)
        os.write(master, b"hello\n")
        answer = "agent › You asked".encode()
        # The answer, then the prompt after it: the demo is waiting for the next line.
        await screen.wait_for(lambda out: answer in out and prompt in out.split(answer, 1)[1])
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 10)
    finally:
        screen.close()
        os.close(master)
    assert code in (0, 130)
    assert b"Traceback" not in await process.stderr.read()  # type: ignore[union-attr]
