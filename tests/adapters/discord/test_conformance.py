"""The core's adapter conformance kit, run against the Discord adapter and the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from knowrithm_bots.adapters.discord import DiscordAdapter
from knowrithm_bots.core.testing.conformance import (
    RETRY_AFTER,
    AdapterConformance,
    Failure,
    Features,
    Operation,
)
from tests.emulators.discord_api import ChannelInfo

from .helpers import World, discord_world, make_adapter

MESSAGES_ROUTE = "/channels/{channel_id}/messages"
MESSAGE_ROUTE = "/channels/{channel_id}/messages/{message_id}"

# discord.py sleeps through any 429 shorter than 30 s and retries by itself (its minimum
# max_ratelimit_timeout), so a 429 asking for RETRY_AFTER s never surfaces as an error;
# longer ones do, which test_reactions_and_resilience checks.
assert RETRY_AFTER < 30
_FAILURES = {
    # (status, Discord JSON code): 503 because discord.py retries 500/502/504 for ~25 s.
    Failure.NOT_FOUND: (404, 10008),
    Failure.AUTH: (401, 0),
    Failure.UNAVAILABLE: (503, 0),
}


class DiscordHarness:
    """Places "a" and "b" are two threads the bot started in #general; Alice writes there."""

    def __init__(self, world: World, threads: dict[str, ChannelInfo]) -> None:
        self._world = world
        self._threads = threads
        self._adapter = make_adapter(world.emu, message_content_intent=True)

    @property
    def adapter(self) -> DiscordAdapter:
        return self._adapter

    @property
    def features(self) -> Features:
        return Features(places=2, failures=frozenset(_FAILURES), secrets=(self._world.emu.token,))

    async def user_message(self, *, place: str, text: str) -> None:
        await self._say(place, self._world.alice.id, text)

    async def bot_message(self, *, place: str, text: str) -> None:
        await self._say(place, self._world.other_bot.id, text)

    async def own_message(self, *, place: str, text: str) -> None:
        await self._say(place, self._world.bot_id, text)

    async def _say(self, place: str, author_id: int, text: str) -> None:
        await self._world.emu.dispatch_message(
            channel_id=self._threads[place].id, author_id=author_id, content=text
        )

    async def react(self, *, place: str, emoji: str, added: bool) -> None:
        thread = self._threads[place].id
        newest = self._world.bot_messages(thread)[-1]
        react = (
            self._world.emu.dispatch_reaction_add
            if added
            else self._world.emu.dispatch_reaction_remove
        )
        await react(
            channel_id=thread, message_id=newest.id, user_id=self._world.alice.id, emoji=emoji
        )

    async def visible(self, *, place: str) -> list[str]:
        return self._world.texts(self._threads[place].id)

    async def fail_next(self, *, failure: Failure, operation: Operation) -> None:
        status, code = _FAILURES[failure]
        self._world.emu.fail_next(
            status=status,
            code=code,
            method="POST" if operation == "post" else "PATCH",
            route=MESSAGES_ROUTE if operation == "post" else MESSAGE_ROUTE,
        )


class TestDiscordConformance(AdapterConformance):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[DiscordHarness]:
        async with discord_world() as world:
            threads = {
                place: world.emu.add_thread(channel_id=world.general.id, name=f"place {place}")
                for place in ("a", "b")
            }
            yield DiscordHarness(world, threads)

    def is_platform_task(self, task: asyncio.Task[Any]) -> bool:
        # The emulator's aiohttp request and WebSocket handlers finish on their own.
        code = getattr(task.get_coro(), "cr_code", None)
        filename = code.co_filename if code is not None else ""
        return "aiohttp" in filename or "discord_api" in filename
