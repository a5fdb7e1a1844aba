"""Where an interaction happened, as a thread key and origin, within the configured allow lists."""

from __future__ import annotations

import discord

from knowrithm_bots.adapters.discord.config import DiscordConfig
from knowrithm_bots.adapters.discord.threads import Kind, ThreadKey, conversation_of
from knowrithm_bots.core.events import Origin


def interaction_place(
    interaction: discord.Interaction, *, config: DiscordConfig, application_id: int
) -> tuple[str, Origin] | None:
    """The thread key and origin of the channel an interaction came from, or None where the
    bot may not answer (a guild or channel off the allow lists, DMs turned off).

    With ``group_sessions: per_user`` the key is the user's own conversation there: a
    command or a Stop button acts on what is theirs, as their typed command would.
    """

    def key(kind: Kind, channel_id: int) -> str:
        place = ThreadKey(application_id=application_id, kind=kind, channel_id=channel_id)
        per_user = config.group_sessions == "per_user"
        return conversation_of(place, user_id=interaction.user.id, per_user=per_user).encode()

    channel_id = interaction.channel_id
    if channel_id is None:
        return None
    guild_id = interaction.guild_id
    if guild_id is None:
        if not config.direct_messages:
            return None
        origin = Origin(adapter="discord", channel_id=str(channel_id), is_direct=True)
        return key("dm", channel_id), origin
    channel = interaction.channel
    parent = channel.parent_id if isinstance(channel, discord.Thread) else None
    guilds, channels = config.allowed_guilds, config.allowed_channels
    if guilds is not None and guild_id not in guilds:
        return None
    if channels is not None and not {channel_id, parent} & set(channels):
        return None
    if isinstance(channel, discord.TextChannel):
        origin = Origin(
            adapter="discord",
            channel_id=str(channel_id),
            workspace_id=str(guild_id),
            channel_name=channel.name,
        )
        return key("channel", channel_id), origin
    origin = Origin(
        adapter="discord",
        channel_id=str(parent or channel_id),
        workspace_id=str(guild_id),
        thread_id=str(channel_id),
    )
    return key("thread", channel_id), origin
