"""The discord.py client the adapter runs: intents, caches and event forwarding."""

from __future__ import annotations

import asyncio
from typing import Protocol

import discord

from knowrithm_bots.adapters.discord.config import DiscordConfig


class GatewayHandler(Protocol):
    """What the client forwards gateway events to."""

    async def on_message(self, message: discord.Message) -> None: ...

    async def on_reaction(
        self, payload: discord.RawReactionActionEvent, *, added: bool
    ) -> None: ...


def intents_for(config: DiscordConfig) -> discord.Intents:
    """Only what the adapter uses; MESSAGE_CONTENT (privileged) only when configured."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.guild_reactions = True
    intents.dm_messages = config.direct_messages
    intents.dm_reactions = config.direct_messages
    intents.message_content = config.message_content_intent
    return intents


class GatewayClient(discord.Client):
    """A ``discord.Client`` that forwards messages and raw reactions to a handler.

    ``identify_delay`` is the pause before every IDENTIFY but the first: Discord allows
    one IDENTIFY per 5 s, which is discord.py's default too; tests pass 0.
    """

    def __init__(self, *, config: DiscordConfig, identify_delay: float = 5.0) -> None:
        super().__init__(
            intents=intents_for(config),
            # Agent text must never ping @everyone, roles or users.
            allowed_mentions=discord.AllowedMentions.none(),
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_messages=None,
            guild_ready_timeout=config.guild_ready_timeout,
            max_ratelimit_timeout=config.max_rate_limit_wait,
        )
        self.handler: GatewayHandler | None = None
        self.ready_once = asyncio.Event()
        self._identify_delay = identify_delay

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial and self._identify_delay > 0:
            await asyncio.sleep(self._identify_delay)

    async def on_ready(self) -> None:
        self.ready_once.set()

    async def on_message(self, message: discord.Message) -> None:
        if self.handler is not None:
            await self.handler.on_message(message)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if self.handler is not None:
            await self.handler.on_reaction(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if self.handler is not None:
            await self.handler.on_reaction(payload, added=False)
