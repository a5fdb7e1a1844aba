"""Many concurrent answers through the real adapter against the emulator's flood control.

Shared by the test (200 answers) and ``benchmarks/telegram_bot_budget.py`` (1,000): each
of ``count`` people asks one question in their own private chat at the same moment, and
the emulator enforces Telegram's per-bot limit as a rolling one-second window.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from tests.emulators.telegram_api import FloodLimits, TelegramEmulator
from tests.emulators.telegram_api._flood import LIMITED_METHODS
from tests.harness import running_bot
from tests.support import eventually

FIRST_USER_ID = 500_000


@dataclass(frozen=True)
class FloodRun:
    """What one run showed."""

    answers: int
    answered: int
    rate_limited: int
    limited_calls: int
    busiest_second: int
    seconds: float


def _busiest_window(times: list[float], *, width: float = 1.0) -> int:
    """The most calls that arrived within any ``width`` seconds (a rolling window)."""
    window: deque[float] = deque()
    busiest = 0
    for at in sorted(times):
        window.append(at)
        while window[0] <= at - width:
            window.popleft()
        busiest = max(busiest, len(window))
    return busiest


def _person(index: int) -> dict[str, Any]:
    user_id = FIRST_USER_ID + index
    return {"id": user_id, "is_bot": False, "first_name": f"User{index}"}


async def concurrent_answers(
    *, count: int, adapter_class: type[TelegramAdapter] = TelegramAdapter, within: float = 300.0
) -> FloodRun:
    """Ask ``count`` questions at once and wait until each is answered (or ``within`` ends)."""
    agent = ScriptedAgent(lambda question, history: f"Here is the answer to {question}.")
    async with (
        TelegramEmulator(flood=FloodLimits()) as emu,
        LocalKnowrithm(agent=agent, word_delay=0.001) as server,
    ):
        config = {"token": emu.token, "api_base_url": emu.base_url, "poll_timeout": 1}
        adapter = adapter_class.from_config(config=config)
        async with running_bot({"telegram": adapter}, server=server) as bot:
            started = time.monotonic()
            for index in range(count):
                emu.push_update(emu.build.private_text(text=f"q{index}", user=_person(index)))

            def answered() -> int:
                chats = {m.chat_id for m in emu.messages}
                return sum(1 for i in range(count) if FIRST_USER_ID + i in chats)

            try:
                await eventually(lambda: answered() >= count, within=within, what="answers")
                await asyncio.wait_for(bot.drain(), within)
            except (AssertionError, TimeoutError):
                pass  # reported as fewer answers
            seconds = time.monotonic() - started
        limited = [c for c in emu.calls if c.method in LIMITED_METHODS]
        return FloodRun(
            answers=count,
            answered=answered(),
            rate_limited=sum(1 for c in limited if c.status == 429),
            limited_calls=sum(1 for c in limited if c.status == 200),
            busiest_second=_busiest_window([c.time for c in limited if c.status == 200]),
            seconds=seconds,
        )
