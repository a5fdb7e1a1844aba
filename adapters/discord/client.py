"""The discord.py client the adapter runs: intents, caches and event forwarding."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord

from knowrithm_bots.adapters.discord.config import DiscordConfig
from knowrithm_bots.adapters.discord.poison import PoisonLog, guard_parsers
from knowrithm_bots.adapters.discord.shards import client_options, runs_several


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

    A gateway event that discord.py cannot parse, or that the handler cannot take, is
    logged once and skipped (``poison``); it never ends the connection.
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
            **client_options(config),
        )
        self.handler: GatewayHandler | None = None
        # Rating button clicks; interactions come whatever the intents.
        self.on_click: Callable[[discord.Interaction], Awaitable[None]] | None = None
        # Application commands (/new, /end, /stop, /help).
        self.on_command: Callable[[discord.Interaction], Awaitable[None]] | None = None
        self.ready_once = asyncio.Event()
        self.poison = PoisonLog()
        self._identify_delay = identify_delay
        # discord.py has no hook around its parsers; its state keeps them in this table.
        guard_parsers(self._connection.parsers, poison=self.poison)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial and self._identify_delay > 0:
            await asyncio.sleep(self._identify_delay)

    async def on_ready(self) -> None:
        self.ready_once.set()

    async def on_message(self, message: discord.Message) -> None:
        if self.handler is not None:
            try:
                await self.handler.on_message(message)
            except Exception as exc:
                self._unreadable("MESSAGE_CREATE", {"id": message.id}, exc)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.application_command:
            if self.on_command is not None:
                try:
                    await self.on_command(interaction)
                except Exception as exc:
                    self._unreadable("INTERACTION_CREATE", {"id": interaction.id}, exc)
            return
        if self.on_click is not None:
            try:
                await self.on_click(interaction)
            except Exception as exc:
                self._unreadable("INTERACTION_CREATE", {"id": interaction.id}, exc)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=False)

    async def _reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        if self.handler is not None:
            try:
                await self.handler.on_reaction(payload, added=added)
            except Exception as exc:
                event = "MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE"
                self._unreadable(event, {"message_id": payload.message_id}, exc)

    def _unreadable(self, event: str, ids: dict[str, Any], error: Exception) -> None:
        # discord.py would log the failure with a traceback and its own words; the event is
        # malformed in a way its parser let through, and is skipped like the others.
        self.poison.skipped(event=event, data=ids, error=error, reason="the adapter cannot read it")


class ShardedGatewayClient(GatewayClient, discord.AutoShardedClient):
    """The same client serving several shards in one process, one connection each."""


def gateway_client(*, config: DiscordConfig, identify_delay: float = 5.0) -> GatewayClient:
    """The client for the shards ``config`` gives this process."""
    kind = ShardedGatewayClient if runs_several(config) else GatewayClient
    return kind(config=config, identify_delay=identify_delay)
