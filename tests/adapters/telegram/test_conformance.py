"""The core's adapter conformance kit, run against the Telegram adapter and the Bot API emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.core.testing.conformance import (
    RETRY_AFTER,
    AdapterConformance,
    Failure,
    Features,
    Operation,
)
from tests.emulators.telegram_api import (
    ALICE,
    BOB,
    GROUP_ID,
    OTHER_BOT,
    FloodLimits,
    TelegramEmulator,
)

from .support import adapter_for

# Place "a" is Alice's private chat with the bot (a private chat's id is the person's);
# place "b" is a group where Bob addresses the bot by name, so group budgets apply too.
_PEOPLE: dict[str, Mapping[str, Any]] = {"a": ALICE, "b": BOB}
_CHATS: dict[str, int] = {"a": int(ALICE["id"]), "b": GROUP_ID}
_METHODS: dict[Operation, str] = {"post": "sendMessage", "edit": "editMessageText"}
# What the Bot API answers for each failure; python-telegram-bot turns these into RetryAfter,
# BadRequest, InvalidToken and NetworkError without retrying any of them.
_FAILURES: dict[Failure, tuple[int, str]] = {
    Failure.RATE_LIMITED: (429, f"Too Many Requests: retry after {RETRY_AFTER:g}"),
    Failure.NOT_FOUND: (400, "Bad Request: message to edit not found"),
    Failure.AUTH: (401, "Unauthorized"),
    Failure.UNAVAILABLE: (502, "Bad Gateway"),
}


class TelegramHarness:
    """Alice talks to the bot in her private chat ("a"), Bob in a group ("b"), via polling.

    Reactions carry the person's whole reaction list before and after, as Telegram's
    ``message_reaction`` updates do, so the harness remembers what each person has set.
    """

    def __init__(self, emu: TelegramEmulator) -> None:
        self._emu = emu
        self._adapter = adapter_for(emu)
        self._reactions: dict[tuple[int, int], list[str]] = {}

    @property
    def adapter(self) -> TelegramAdapter:
        return self._adapter

    @property
    def features(self) -> Features:
        _, _, tail = self._emu.token.partition(":")
        return Features(places=2, failures=frozenset(_FAILURES), secrets=(self._emu.token, tail))

    @staticmethod
    def _chat_id(place: str) -> int:
        return _CHATS[place]

    async def user_message(self, *, place: str, text: str) -> None:
        build = self._emu.build
        if place == "a":
            self._emu.push_update(build.private_text(text=text, user=_PEOPLE[place]))
        else:  # the adapter takes the mention out before the text reaches the sink
            mention = f"@{self._emu.bot.username} {text}"
            self._emu.push_update(build.group_text(text=mention, user=_PEOPLE[place]))

    async def bot_message(self, *, place: str, text: str) -> None:
        self._say_as(place, sender=OTHER_BOT, text=text)

    async def own_message(self, *, place: str, text: str) -> None:
        self._say_as(place, sender=self._emu.bot.as_user(), text=text)

    def _say_as(self, place: str, *, sender: Mapping[str, Any], text: str) -> None:
        if place == "a":
            self._emu.build.private_chat(_PEOPLE[place])
        else:
            self._emu.build.group_chat()
            text = f"@{self._emu.bot.username} {text}"  # addressed, so only the sender excludes it
        update = self._emu.build.bot_text(text=text, chat_id=self._chat_id(place), sender=sender)
        self._emu.push_update(update)

    async def react(self, *, place: str, emoji: str, added: bool) -> None:
        chat_id = self._chat_id(place)
        newest = [m for m in self._emu.messages if m.chat_id == chat_id][-1]
        old = self._reactions.get((chat_id, newest.message_id), [])
        new = [*old, emoji] if added else [e for e in old if e != emoji]
        self._reactions[(chat_id, newest.message_id)] = new
        update = self._emu.build.reaction(
            chat_id=chat_id, message_id=newest.message_id, user=_PEOPLE[place], old=old, new=new
        )
        self._emu.push_update(update)

    async def visible(self, *, place: str) -> list[str]:
        return self._emu.visible_text(self._chat_id(place))

    async def fail_next(self, *, failure: Failure, operation: Operation) -> None:
        status, description = _FAILURES[failure]
        retry_after = int(RETRY_AFTER) if failure is Failure.RATE_LIMITED else None
        self._emu.fail_next(
            method=_METHODS[operation],
            error_code=status,
            description=description,
            retry_after=retry_after,
        )


class TestTelegramConformance(AdapterConformance):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[TelegramHarness]:
        async with TelegramEmulator(flood=FloodLimits.off()) as emu:
            yield TelegramHarness(emu)

    def is_platform_task(self, task: asyncio.Task[Any]) -> bool:
        # The emulator's aiohttp request handlers (a long poll among them) end on their own.
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code is not None else ""
        return "aiohttp" in filename or "telegram_api" in filename
