"""A Telegram bot process for the fault tests that need one chat after another to ask in."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.emulators.telegram_api import ALICE, TelegramEmulator
from tests.faults.configs import write_config
from tests.faults.process import BotProcess


def telegram_section(emu: TelegramEmulator) -> dict[str, Any]:
    return {"token": emu.token, "api_base_url": emu.base_url, "poll_timeout": 1}


def telegram_config(folder: Path, emu: TelegramEmulator, **options: Any) -> Path:
    return write_config(folder, adapters={"telegram": telegram_section(emu)}, **options)


def ready(bot: BotProcess) -> Any:
    """The next run is ready once its adapter says it polls (each run logs to its own file)."""
    run = bot.runs + 1
    return lambda: "is running (polling)" in bot.log(run)


@dataclass
class Chats:
    """Private chats with people of their own, so no chat's pace slows the next question."""

    emu: TelegramEmulator
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(30_000))

    def ask(self, text: str) -> int:
        """``text`` from a new person in a new private chat; the chat's id."""
        user = {**ALICE, "id": next(self._ids)}
        self.emu.push_update(self.emu.build.private_text(text=text, user=user))
        return int(user["id"])

    def shown(self, chat_id: int) -> list[str]:
        return self.emu.visible_text(chat_id)
