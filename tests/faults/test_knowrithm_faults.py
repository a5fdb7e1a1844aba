"""Knowrithm failing under the real Telegram bot process: a 500 on the chat POST before or after
Knowrithm stored the message still ends in the answer, shown once, with the question asked
once; a hung Knowrithm gets a "still working" notice, then one sentence."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.errors import AnswerTimeout
from knowrithm_bots.core.user_messages import explain
from tests.bots.local_process import local_knowrithm_process
from tests.emulators.telegram_api import FloodLimits, TelegramEmulator
from tests.faults.figures import Figures, record
from tests.faults.outcome import ChatOutcome, judge, times_asked
from tests.faults.process import bot_process, until
from tests.faults.telegram_chat import Chats, ready, telegram_config

pytestmark = pytest.mark.faults

TRIALS = 5
ANSWER_WITHIN = 10.0
SETTLE = 0.5
NOTICE = "Still thinking, hang on…"
NOTICE_AFTER = 1.0
LIMIT = 3.0
GAVE_UP = explain(AnswerTimeout("gave up"))


def answer_to(question: str) -> str:
    return f"answer to {question} in a few plain words"


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    agent = ScriptedAgent(lambda question, history: answer_to(question))
    async with LocalKnowrithm(agent=agent, word_delay=0.001) as local:
        yield local


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(flood=FloodLimits.off()) as emulator:
        yield emulator


@pytest.mark.parametrize(
    ("when", "order"), [("before", 40), ("after", 41)], ids=["before", "after"]
)
async def test_a_500_on_the_chat_post_still_ends_in_the_answer_once(
    server: LocalKnowrithm, emu: TelegramEmulator, tmp_path: Path, when: str, order: int
) -> None:
    figures = Figures(
        fault=f"Knowrithm 500 on the chat POST {when} it stored the message", order=order
    )
    config = telegram_config(tmp_path, emu, server=server)
    chats = Chats(emu)
    failures: list[tuple[int, ChatOutcome]] = []
    async with bot_process(config=config, adapters=["telegram"], folder=tmp_path) as bot:
        await bot.start(ready=ready(bot))
        for trial in range(TRIALS):
            question = f"question {trial} with a 500 {when}"
            if when == "before":
                server.faults.fail_next(method="POST", path_contains="/chat", status=500)
            else:
                server.faults.fail_after_storing(status=500)
            chat = chats.ask(question)

            def outcome(chat: int = chat, question: str = question) -> ChatOutcome:
                return judge(
                    visible=chats.shown(chat),
                    answer=answer_to(question),
                    asked=times_asked(server, question),
                )

            if await until(lambda: outcome().final, within=ANSWER_WITHIN):
                await asyncio.sleep(SETTLE)  # a late duplicate would show by now
            result = outcome()
            result.add_to(figures)
            if not result.final:
                failures.append((trial, result))
        record(figures)
        assert not failures, f"{failures}\n--- log:\n{bot.log()[-3000:]}"
        server.faults.clear()
    assert "Traceback" not in bot.all_logs()


async def test_a_hung_knowrithm_gets_a_notice_then_one_sentence(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    figures = Figures(fault="Knowrithm hangs (process stopped)", order=42)
    async with local_knowrithm_process("--word-delay", "0") as (service, base_url):
        config = telegram_config(
            tmp_path,
            emu,
            knowrithm_url=base_url,
            conversations={
                "still_working_after_seconds": NOTICE_AFTER,
                "still_working_text": NOTICE,
                "answer_timeout_seconds": LIMIT,
            },
        )
        chats = Chats(emu)
        async with bot_process(config=config, adapters=["telegram"], folder=tmp_path) as bot:
            await bot.start(ready=ready(bot))
            first = chats.ask("hello")
            assert await until(lambda: len(chats.shown(first)) == 1, within=ANSWER_WITHIN)
            os.kill(service.pid, signal.SIGSTOP)  # hung: connections open, nothing answered
            try:
                chat = chats.ask("are you there?")
                gave_up = await until(
                    lambda: any(GAVE_UP in text for text in chats.shown(chat)), within=LIMIT + 10
                )
                shown = chats.shown(chat)
            finally:
                os.kill(service.pid, signal.SIGCONT)
            figures.trials = 1
            figures.sentences = sum(GAVE_UP in text for text in shown)
            record(figures)
            assert gave_up, f"{shown}\n--- log:\n{bot.log()[-3000:]}"
            notices = [i for i, text in enumerate(shown) if NOTICE in text]
            sentences = [i for i, text in enumerate(shown) if GAVE_UP in text]
            assert len(notices) == 1 and len(sentences) == 1, shown
            assert notices[0] <= sentences[0], shown
            later = chats.ask("back?")
            assert await until(lambda: len(chats.shown(later)) == 1, within=ANSWER_WITHIN)
            status, _ = await bot.terminate(within=10)
            assert status == 0
        assert "Traceback" not in bot.all_logs()
