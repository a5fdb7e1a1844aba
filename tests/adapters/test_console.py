"""The console adapter through the real runner, bridge, client and local server."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from knowrithm_bots.adapters.console import ConsoleAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.bots.runner import BotRunner
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.store import SqliteStore, Store
from tests.support import env_without_proxies

BIN = Path(sys.executable).parent


async def chat(lines: str, server: LocalKnowrithm, client: KnowrithmClient, store: Store) -> str:
    out = io.StringIO()
    adapter = ConsoleAdapter(stdin=io.StringIO(lines), stdout=out, interactive=False)
    runner = BotRunner(
        settings=parse_settings(None, env={}),
        adapters={"console": adapter},
        client=client,
        agent_id=server.agent_id,
        store=store,
    )
    await runner.run()
    return out.getvalue()


@pytest.mark.knowrithm_modes
async def test_piped_chat_prints_answers_reacts_and_ends(
    knowrithm: LocalKnowrithm, client: KnowrithmClient, tmp_path: Path
) -> None:
    store = SqliteStore(path=tmp_path / "s.sqlite")
    output = await chat("hello\n/react 👍\n/end 5 great bot\n", knowrithm, client, store)
    await store.close()
    (conversation,) = knowrithm.state.messages.values()
    answer = conversation[1].content
    assert output.splitlines()[0] == "agent › " + answer
    assert "(you reacted 👍 to the last answer)" in output
    assert "Conversation ended, rated 5/5" in output
    assert [(r.message_id, r.rating) for r in knowrithm.state.ratings] == [(conversation[1].id, 5)]
    assert [(e.rating, e.feedback) for e in knowrithm.state.ends] == [(5, "great bot")]


@pytest.mark.knowrithm_modes
async def test_restart_continues_the_same_conversation(
    knowrithm: LocalKnowrithm, client: KnowrithmClient, tmp_path: Path
) -> None:
    path = tmp_path / "bot.sqlite"
    for text in ("before restart\n", "after restart\n"):
        store = SqliteStore(path=path)
        await chat(text, knowrithm, client, store)
        await store.close()
    assert len(knowrithm.state.conversations) == 1
    (messages,) = knowrithm.state.messages.values()
    assert [m.content for m in messages if m.role == "user"] == ["before restart", "after restart"]
    assert "before restart" in messages[-1].content


@pytest.mark.knowrithm_modes
async def test_react_before_any_answer_explains(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    from knowrithm_bots.core.store import MemoryStore

    output = await chat("/react 👍\n", knowrithm, client, MemoryStore())
    assert "nothing to react to yet" in output
    assert knowrithm.state.ratings == []


async def test_tty_redraws_in_place_when_text_changes() -> None:
    out = io.StringIO()
    adapter = ConsoleAdapter(stdin=io.StringIO(""), stdout=out, interactive=True)
    posted = await adapter.post(thread="console:local", text="Hello wor")
    await adapter.edit(thread="console:local", message_id=posted.id, text="Hello world")
    await adapter.edit(thread="console:local", message_id=posted.id, text="Goodbye")
    assert out.getvalue().startswith("agent › Hello world")
    assert "\x1b[J" in out.getvalue() and out.getvalue().endswith("Goodbye")


def run_cli(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = env_without_proxies()
    return subprocess.run(
        [str(BIN / "knowrithm-bots"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def test_echo_hello_into_demo_prints_a_streamed_answer_and_exits_0() -> None:
    result = run_cli("demo", "--word-delay", "0.001", stdin="hello\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('agent › You asked: "hello".')
    assert result.stdout.count("agent ›") == 1


@pytest.mark.parametrize("stdin", ["", "\n", "/quit\n"])
def test_demo_with_nothing_to_answer_exits_cleanly(stdin: str) -> None:
    result = run_cli("demo", "--word-delay", "0", stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
