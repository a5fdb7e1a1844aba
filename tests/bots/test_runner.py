"""The runner: start-up checks and a shutdown that loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from bots.local_knowrithm import LocalKnowrithm
from core.testing import RecordingAdapter
from tests.adapters.test_console import BIN, run_cli
from tests.harness import running_bot


async def test_shutdown_finishes_answers_already_received() -> None:
    adapter = RecordingAdapter()
    async with LocalKnowrithm(word_delay=0.01) as server:
        async with running_bot({adapter.name: adapter}, server=server) as bot:
            await adapter.say("answer me before you go")
        # The context has stopped the bot: the answer had to be finished first.
        (reply,) = bot.assistant_replies()
        assert adapter.visible(adapter.thread_key("general")) == reply
        assert adapter.stopped == 1


async def test_events_after_intake_closed_are_left_unseen_for_redelivery() -> None:
    adapter = RecordingAdapter()
    async with LocalKnowrithm() as server:
        async with running_bot({adapter.name: adapter}, server=server) as bot:
            bot.runner.bridge.close_intake()
            await adapter.say("too late", event_id="late-1")
            assert await bot.store.get("event:recording:late-1") is None
        assert server.state.chat_requests == []


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


async def test_ctrl_c_ends_the_demo_while_it_waits_for_input() -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROXY")}
    process = await asyncio.create_subprocess_exec(
        str(BIN / "knowrithm-bots"),
        "demo",
        "--word-delay",
        "0",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(b"hello\n")
    await process.stdin.drain()
    first = await asyncio.wait_for(process.stdout.readline(), 30)
    assert first.startswith(b"agent \xe2\x80\xba You asked")
    # stdin stays open: the demo is blocked reading the next line when Ctrl-C arrives.
    await asyncio.sleep(0.3)
    process.send_signal(signal.SIGINT)
    code = await asyncio.wait_for(process.wait(), 10)
    process.stdin.close()
    assert code in (0, 130)
    assert b"Traceback" not in await process.stderr.read()  # type: ignore[union-attr]
