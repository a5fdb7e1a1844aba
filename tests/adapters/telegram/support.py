"""Shared pieces of the Telegram adapter tests: a quicker adapter and waiting helpers."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, ClassVar

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.core.adapter import Budget, Limits
from tests.emulators.telegram_api import TelegramEmulator
from tests.harness import RunningBot

# Re-exported: the webhook listener needs its port before it starts (its config refuses 0).
from tests.support import eventually
from tests.support import free_port as free_port


def _quicker(budget: Budget) -> Budget:
    return dataclasses.replace(budget, rate=budget.rate * 50 / budget.per, per=1.0, burst=10)


class QuickTelegramAdapter(TelegramAdapter):
    """The real adapter with its pace scaled up, so tests need not wait a second per edit.

    The budgets keep their scopes and kinds; only the rates grow (faster than the
    emulator's flood limits, so tests with flood control on still meet real 429s).
    """

    limits: ClassVar[Limits] = dataclasses.replace(
        TelegramAdapter.limits,
        edit_interval=0.05,
        budgets=tuple(_quicker(b) for b in TelegramAdapter.limits.budgets),
    )


def adapter_for(emu: TelegramEmulator, **settings: Any) -> TelegramAdapter:
    config = {"token": emu.token, "api_base_url": emu.base_url, "poll_timeout": 1, **settings}
    return QuickTelegramAdapter.from_config(config=config)


async def answered(bot: RunningBot, count: int, *, within: float = 8.0) -> None:
    """Wait until the agent has written ``count`` answers and they are all shown."""
    await eventually(lambda: len(bot.assistant_replies()) >= count, within=within)
    await asyncio.wait_for(bot.drain(), within)
