"""Which of the bot's shards this process serves, as discord.py's client options."""

from __future__ import annotations

from typing import Any

from knowrithm_bots.adapters.discord.config import DiscordConfig


def shard_of(*, guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a guild's events to (direct messages go to shard 0)."""
    return (guild_id >> 22) % shard_count


def client_options(config: DiscordConfig) -> dict[str, Any]:
    """The keyword arguments that make discord.py IDENTIFY for the configured shards.

    Nothing without sharding; ``shard_id`` for one shard (``discord.Client``); ``shard_ids``
    for several, which ``discord.AutoShardedClient`` serves over one connection each.
    """
    if config.shard_count == 1:
        return {}
    shards = config.shards
    if len(shards) == 1:
        return {"shard_id": shards[0], "shard_count": config.shard_count}
    return {"shard_ids": shards, "shard_count": config.shard_count}


def runs_several(config: DiscordConfig) -> bool:
    """Whether this process serves more than one shard (an ``AutoShardedClient``)."""
    return config.shard_count > 1 and len(config.shards) > 1
