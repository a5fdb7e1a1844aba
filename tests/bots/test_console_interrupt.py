"""Ctrl-C and the terminal chat, typed on a real (pseudo) terminal to the real command.

Ctrl-C quits at once with exit status 130, wherever it lands: at the prompt it ends the
prompt's line and says nothing else; mid-answer it ends the answer on its own line, then
says the answer was interrupted. Nothing (no notice, no log line) is written afterwards.
"""

from __future__ import annotations

import time
from pathlib import Path

from knowrithm_bots.bots.runner import INTERRUPTED, STOPPING_NOTICE
from tests.bots.terminal import CTRL_C, CTRL_D, Terminal

PROMPT = "you › "
LABEL = "agent › "
CUT_SHORT = "(interrupted before the end of the answer)"


def after_last_prompt(screen: str) -> str:
    return screen.rsplit(PROMPT, 1)[1]


async def test_ctrl_c_at_an_idle_prompt_quits_at_once_and_says_nothing_more() -> None:
    async with await Terminal.start("demo", "--word-delay", "0") as term:
        await term.wait_for(lambda s: s.endswith(PROMPT))
        term.type(b"hello\n")
        # The answer, then the next prompt: nothing is in progress any more.
        await term.wait_for(lambda s: LABEL in s and after_last_prompt(s) == "")
        answered = term.text
        pressed = time.monotonic()
        term.type(CTRL_C)
        code = await term.exit_status(within=10)
        took = time.monotonic() - pressed
    assert code == INTERRUPTED
    assert took < 5
    # Only the terminal's own echo of the key (where it echoes it) and the end of the
    # prompt's line follow.
    assert term.text.removeprefix(answered) in ("^C\r\n", "\r\n")
    assert STOPPING_NOTICE not in term.text and "Traceback" not in term.text


async def test_ctrl_c_mid_answer_ends_the_answer_on_its_own_line_then_says_so() -> None:
    # 0.2 s a word: the answer takes about ten seconds, so Ctrl-C lands inside it.
    async with await Terminal.start("demo", "--word-delay", "0.2") as term:
        await term.wait_for(lambda s: s.endswith(PROMPT))
        term.type(b"tell me a long story\n")
        await term.wait_for(lambda s: f'{LABEL}You asked: "tell' in s)
        pressed = time.monotonic()
        term.type(CTRL_C)
        code = await term.exit_status(within=10)
        took = time.monotonic() - pressed
    assert code == INTERRUPTED
    assert took < 5  # not the end of the answer, nor a drain timeout
    answer_and_after = term.text.split(LABEL, 1)[1]
    assert answer_and_after.endswith(f"\r\n{CUT_SHORT}\r\n")  # the last thing written
    shown = answer_and_after.removesuffix(f"\r\n{CUT_SHORT}\r\n")
    # One unbroken line: no notice, prompt or log line inside the answer...
    assert "\r" not in shown and "\n" not in shown and "\x1b" not in shown
    assert shown.startswith('You asked: "tell')
    assert not shown.rstrip().endswith("real answers.")  # ... and it was cut short
    assert PROMPT not in answer_and_after and STOPPING_NOTICE not in term.text


async def test_run_console_shows_only_the_chat(tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text("knowrithm: {base_url: local}\nstore: {backend: memory}\n", "utf-8")
    async with await Terminal.start("run", "console", "--config", str(config)) as term:
        await term.wait_for(lambda s: s.endswith(PROMPT))
        term.type(b"hello\n")
        await term.wait_for(lambda s: LABEL in s and after_last_prompt(s) == "")
        term.type(CTRL_D)
        code = await term.exit_status(within=30)
    assert code == 0, term.text
    lines = term.text.splitlines()
    assert lines[0].startswith("Chat with the agent.")
    assert lines[1:] == [f"{PROMPT}hello", lines[2], PROMPT]
    assert lines[2].startswith(f'{LABEL}You asked: "hello".')


async def test_asked_for_logs_go_to_the_log_file_not_the_chat(tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    config.write_text("knowrithm: {base_url: local}\nstore: {backend: memory}\n", "utf-8")
    log = tmp_path / "bot.log"
    args = ("run", "console", "--config", str(config), "--log-level", "info")
    async with await Terminal.start(*args, "--log-file", str(log)) as term:
        await term.wait_for(lambda s: s.endswith(PROMPT))
        term.type(b"hello\n")
        await term.wait_for(lambda s: LABEL in s and after_last_prompt(s) == "")
        term.type(CTRL_C)
        code = await term.exit_status(within=10)
    assert code == INTERRUPTED
    assert "started conversation" in log.read_text(encoding="utf-8")
    assert " INFO " not in term.text and "started conversation" not in term.text
