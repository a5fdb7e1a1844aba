"""Fixtures of the Telegram adapter tests: the Bot API emulator with flood control off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.emulators.telegram_api import FloodLimits, TelegramEmulator


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(flood=FloodLimits.off()) as emulator:
        yield emulator
