"""Two bots, each serving one of two shards: each answers the guilds of its shard, and only
those, as Discord sends a guild's events to shard (guild_id >> 22) % shard_count."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from knowrithm_bots.adapters.discord.shards import shard_of
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import ConfigError
from tests.adapters.discord.helpers import World, discord_bot, discord_world
from tests.emulators.discord_api import ChannelInfo, DiscordEmulator
from tests.harness import RunningBot
from tests.support import eventually

pytestmark = pytest.mark.multi_instance

SHARDS = 2


async def guild_channels(emu: DiscordEmulator) -> dict[int, ChannelInfo]:
    """A #support channel in one new guild per shard (guild ids are snowflakes: a guild's
    shard follows the millisecond it was made in)."""
    channels: dict[int, ChannelInfo] = {}
    while len(channels) < SHARDS:
        guild = emu.add_guild(name=f"Guild {len(emu.world.guilds)}")
        shard = shard_of(guild_id=guild.id, shard_count=SHARDS)
        if shard not in channels:
            channels[shard] = emu.add_text_channel(guild_id=guild.id, name="support")
        await asyncio.sleep(0.002)
    return channels


def questions(server: LocalKnowrithm) -> list[str]:
    return [m.content for conv in server.state.messages.values() for m in conv if m.role == "user"]


async def test_each_shard_answers_its_own_guilds_and_no_other() -> None:
    async with discord_world() as world, AsyncExitStack() as stack:
        emu = world.emu
        channels = await guild_channels(emu)
        servers = [await stack.enter_async_context(LocalKnowrithm()) for _ in range(SHARDS)]
        bots: list[RunningBot] = []
        for shard, server in enumerate(servers):
            bots.append(
                await stack.enter_async_context(
                    discord_bot(world, server, shard_count=SHARDS, shard_ids=[shard])
                )
            )
        await eventually(lambda: len(emu.gateway.shard_sessions) == SHARDS, what="both shards")
        for shard, channel in channels.items():
            await emu.dispatch_message(
                channel_id=channel.id,
                author_id=world.alice.id,
                content=world.mention(f"question for shard {shard}"),
            )
        for shard, server in enumerate(servers):
            await eventually(lambda s=server: len(questions(s)) >= 1, what=f"shard {shard}")
        for bot in bots:
            await bot.drain()
        replied = {shard: answered(world, channel) for shard, channel in channels.items()}

    assert [p["shard"] for p in emu.gateway.identify_payloads] == [[0, SHARDS], [1, SHARDS]]
    for shard, server in enumerate(servers):
        assert questions(server) == [f"question for shard {shard}"]
    assert all(count == 1 for count in replied.values()), replied


def answered(world: World, channel: ChannelInfo) -> int:
    """The bot's answers about ``channel``: in it, or in the threads it opened from it."""
    places = [channel.id] + [
        thread.id for thread in world.emu.threads.values() if thread.parent_id == channel.id
    ]
    return sum(len(world.bot_messages(place)) for place in places)


@pytest.mark.parametrize(
    ("section", "sentence"),
    [
        ({"shard_count": 2, "shard_ids": [2]}, "shard ids run from 0 to shard_count - 1"),
        ({"shard_count": 2, "shard_ids": [1, 1]}, "must not list a shard twice"),
        ({"shard_count": 0}, "shard_count"),
    ],
)
def test_shard_settings_that_cannot_work_are_refused_naming_the_key(
    section: dict[str, object], sentence: str
) -> None:
    from knowrithm_bots.adapters.discord import DiscordAdapter

    with pytest.raises(ConfigError, match=sentence) as caught:
        DiscordAdapter.from_config(config={"token": "abc", **section})
    assert "adapters.discord.shard" in str(caught.value)
