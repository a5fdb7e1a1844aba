"""Shared set-up for the Discord adapter tests: emulator world, adapter, running bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from knowrithm_bots.adapters.discord import DiscordAdapter, DiscordConfig
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.adapter import Limits
from tests.emulators.discord_api import (
    ChannelInfo,
    DiscordEmulator,
    GuildInfo,
    RateLimitRule,
    StoredMessage,
    UserInfo,
)
from tests.harness import RunningBot, running_bot
from tests.support import eventually, stored_replies


@dataclass
class World:
    emu: DiscordEmulator
    guild: GuildInfo
    general: ChannelInfo
    random: ChannelInfo
    alice: UserInfo
    other_bot: UserInfo

    @property
    def bot_id(self) -> int:
        return self.emu.bot_user.id

    def mention(self, text: str) -> str:
        return f"<@{self.bot_id}> {text}"

    def bot_messages(self, channel_id: int) -> list[StoredMessage]:
        """The bot's messages in a channel, oldest first."""
        return [
            m for m in self.emu.messages_in(channel_id=channel_id) if m.author_id == self.bot_id
        ]

    def texts(self, channel_id: int) -> list[str]:
        return [m.content for m in self.bot_messages(channel_id)]


@asynccontextmanager
async def discord_world(**emulator_options: Any) -> AsyncIterator[World]:
    """A guild with #general and #random, Alice, and another bot.

    Channel limits are generous unless a test sets its own: Discord's real ~5 writes per
    5 s would only make unrelated tests wait (the 429 tests tighten them on purpose).
    """
    emulator_options.setdefault("rate_limit", RateLimitRule(limit=50, per=1.0))
    async with DiscordEmulator(heartbeat_interval_ms=500, **emulator_options) as emu:
        guild = emu.add_guild(name="Knowrithm Test")
        general = emu.add_text_channel(guild_id=guild.id, name="general")
        random = emu.add_text_channel(guild_id=guild.id, name="random")
        alice = emu.add_user(username="alice", global_name="Alice Liddell")
        other_bot = emu.add_user(username="otherbot", bot=True)
        yield World(emu, guild, general, random, alice, other_bot)


def adapter_config(emu: DiscordEmulator, **extra: Any) -> dict[str, Any]:
    """A config section pointing at the emulator, as a user would write it."""
    return {
        "token": emu.token,
        "api_base_url": emu.api_base,
        "gateway_url": str(emu.gateway_url),
        "guild_ready_timeout": 0.05,
        "connect_timeout": 5.0,
        **extra,
    }


class BriskDiscordAdapter(DiscordAdapter):
    """The real adapter with a shorter edit pace, so tests about other things run quickly."""

    limits: ClassVar[Limits] = replace(DiscordAdapter.limits, edit_interval=0.25)


def make_adapter(emu: DiscordEmulator, *, brisk: bool = True, **extra: Any) -> DiscordAdapter:
    config = DiscordConfig.model_validate(adapter_config(emu, **extra))
    cls = BriskDiscordAdapter if brisk else DiscordAdapter
    # No 5 s pause before a re-IDENTIFY: the emulator has no identify rate limit.
    return cls(config=config, identify_delay=0.0)


@asynccontextmanager
async def discord_bot(
    world: World,
    server: LocalKnowrithm,
    *,
    settings: Mapping[str, Any] | None = None,
    brisk: bool = True,
    **extra: Any,
) -> AsyncIterator[RunningBot]:
    adapter = make_adapter(world.emu, brisk=brisk, **extra)
    async with running_bot({"discord": adapter}, server=server, config=settings) as bot:
        yield bot


async def settle(bot: RunningBot, world: World, *, chats: int) -> None:
    """Wait until Knowrithm got ``chats`` questions and every answer is on Discord."""
    await eventually(
        lambda: len(bot.server.state.chat_requests) >= chats, what=f"{chats} chat requests"
    )
    await bot.drain()


def answers(server: LocalKnowrithm) -> list[str]:
    return [m.content for m in stored_replies(server)]
