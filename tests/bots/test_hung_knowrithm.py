"""A Knowrithm that hangs (its process stopped with SIGSTOP) seen from the real bot process:
a "still working" notice, then one sentence, and answers again once Knowrithm is back."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from knowrithm_bots.core.errors import AnswerTimeout
from knowrithm_bots.core.user_messages import explain
from tests.bots.local_process import local_knowrithm_process
from tests.bots.terminal import Terminal

PROMPT = "you › "
NOTICE = "Still thinking, hang on…"
NOTICE_AFTER = 1.0
LIMIT = 3.0
GAVE_UP = explain(AnswerTimeout("gave up"))


def write_config(folder: Path, *, base_url: str) -> Path:
    config = folder / "bot.yaml"
    config.write_text(
        f"knowrithm: {{base_url: '{base_url}', api_key: local-key, api_secret: local-secret,"
        " agent_id: local-agent}\n"
        "store: {backend: memory}\n"
        f"conversations: {{still_working_after_seconds: {NOTICE_AFTER},"
        f" still_working_text: '{NOTICE}', answer_timeout_seconds: {LIMIT}}}\n"
    )
    return config


async def test_a_stopped_knowrithm_gets_a_notice_then_a_sentence_then_answers_again(
    tmp_path: Path,
) -> None:
    async with local_knowrithm_process("--word-delay", "0") as (server, base_url):
        config = write_config(tmp_path, base_url=base_url)
        async with await Terminal.start("run", "console", "--config", str(config)) as term:
            await term.wait_for(lambda s: s.endswith(PROMPT))
            term.type(b"hello\n")
            await term.wait_for(lambda s: 'You asked: "hello"' in s and s.endswith(PROMPT))

            os.kill(server.pid, signal.SIGSTOP)  # hung: connections open, nothing answered
            before = len(term.text)
            typed = time.monotonic()
            term.type(b"are you there?\n")
            await term.wait_for(lambda s: NOTICE in s[before:], within=LIMIT + 10)
            noticed = time.monotonic() - typed
            await term.wait_for(lambda s: GAVE_UP in s[before:], within=LIMIT + 10)
            gave_up = time.monotonic() - typed
            assert NOTICE_AFTER * 0.9 <= noticed < LIMIT
            assert LIMIT * 0.9 <= gave_up < LIMIT + 5
            after = term.text[before:]
            assert after.index(NOTICE) < after.index(GAVE_UP)

            os.kill(server.pid, signal.SIGCONT)
            await term.wait_for(lambda s: s.endswith(PROMPT))
            before = len(term.text)
            term.type(b"back?\n")
            await term.wait_for(lambda s: 'You asked: "back?"' in s[before:], within=20)

            term.process.send_signal(signal.SIGTERM)
            assert await term.exit_status(within=20) == 0
        assert "Traceback" not in term.text


async def test_sigterm_while_knowrithm_hangs_stops_the_bot_within_ten_seconds(
    tmp_path: Path,
) -> None:
    async with local_knowrithm_process("--word-delay", "0") as (server, base_url):
        config = tmp_path / "bot.yaml"
        # No answer limit to speak of: only the stop can end the wait.
        config.write_text(
            f"knowrithm: {{base_url: '{base_url}', api_key: local-key, api_secret: local-secret,"
            " agent_id: local-agent}\n"
            f"store: {{backend: sqlite, path: '{tmp_path / 'bot.sqlite'}'}}\n"
            "conversations: {answer_timeout_seconds: 600, still_working_after_seconds: 0.5,"
            f" still_working_text: '{NOTICE}'}}\n"
        )
        async with await Terminal.start("run", "console", "--config", str(config)) as term:
            await term.wait_for(lambda s: s.endswith(PROMPT))
            term.type(b"hello\n")
            await term.wait_for(lambda s: 'You asked: "hello"' in s and s.endswith(PROMPT))
            os.kill(server.pid, signal.SIGSTOP)
            before = len(term.text)
            term.type(b"are you there?\n")
            # The notice shows that the answer is being waited for when the stop comes.
            await term.wait_for(lambda s: NOTICE in s[before:], within=10)
            stopping = time.monotonic()
            term.process.send_signal(signal.SIGTERM)
            status = await term.exit_status(within=20)
            took = time.monotonic() - stopping
            assert took < 10, took
            assert status == 0
        assert "Traceback" not in term.text
