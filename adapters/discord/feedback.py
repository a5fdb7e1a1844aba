"""Rating buttons under answers: a row of two message components, and their clicks as reactions.

Discord (https://discord.com/developers/docs/components/reference#button): buttons live in
an action row on the message, added here by editing the message's ``components`` only, so
its content stays. A click reaches the bot over the gateway as an INTERACTION_CREATE of
type 3 (MESSAGE_COMPONENT) carrying the button's ``custom_id`` and the message; it must be
answered within 3 seconds through the interaction callback endpoint, here with a message
flagged EPHEMERAL (64) that only the clicker sees
(https://discord.com/developers/docs/interactions/receiving-and-responding).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import discord

from knowrithm_bots.adapters.discord.config import DiscordConfig
from knowrithm_bots.adapters.discord.errors import translated
from knowrithm_bots.adapters.discord.inbound import Identity
from knowrithm_bots.adapters.discord.threads import Kind, MessageRef, ThreadKey
from knowrithm_bots.core.adapter import EventSink
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.events import Author, Origin, Reaction

log = logging.getLogger(__name__)

# custom_id is 1-100 characters and comes back verbatim. It names only the verdict: the
# message is the one the buttons are on (Discord puts it in the interaction).
UP, DOWN = "knowrithm:rate:up", "knowrithm:rate:down"
EMOJI = {UP: "👍", DOWN: "👎"}
NOT_ALLOWED = "Sorry, this bot is not available here."


def thanks(emoji: str) -> str:
    return f"Thanks, rated {emoji}"


def feedback_view() -> discord.ui.View:
    """The row of 👍 and 👎 buttons, as a view discord.py only renders.

    Stopped before use: discord.py then does not keep it to dispatch clicks to callbacks
    (which would expire with the view's timeout); every click comes to ``on_interaction``.
    """
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(emoji="👍", custom_id=UP, style=discord.ButtonStyle.secondary))
    view.add_item(
        discord.ui.Button(emoji="👎", custom_id=DOWN, style=discord.ButtonStyle.secondary)
    )
    view.stop()
    return view


class FeedbackButtons:
    """Adds the buttons to an answer and turns their clicks into reactions for the sink."""

    def __init__(
        self,
        *,
        client: discord.Client,
        identity: Identity,
        config: DiscordConfig,
        sink: EventSink,
    ) -> None:
        self._client = client
        self._me = identity
        self._config = config
        self._sink = sink

    async def offer(self, *, channel_id: int, message_id: int) -> None:
        """Put the buttons under message ``message_id``, leaving its content as it is."""
        partial = self._client.get_partial_messageable(channel_id).get_partial_message(message_id)
        with translated(action="adding rating buttons", editing=True):
            await partial.edit(view=feedback_view())

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Rate and acknowledge a click on a rating button; other interactions are not ours."""
        if interaction.type is not discord.InteractionType.component:
            return
        data: Mapping[str, object] = interaction.data or {}
        verdict = EMOJI.get(str(data.get("custom_id", "")))
        message = interaction.message
        if verdict is None or message is None or message.author.id != self._me.bot_id:
            return
        place = self._place(interaction)
        if place is None or interaction.user.bot:
            await self._acknowledge(interaction, NOT_ALLOWED)
            return
        thread, origin = place
        user = interaction.user
        await self._sink.on_reaction(
            Reaction(
                thread=thread,
                # Unique per click, and the same when the gateway replays it after a RESUME.
                event_id=f"interaction:{interaction.id}",
                message_id=MessageRef(message_id=message.id).encode(),
                emoji=verdict,
                added=True,
                author=Author(id=str(user.id), display_name=user.display_name),
                origin=origin,
            )
        )
        await self._acknowledge(interaction, thanks(verdict))

    async def _acknowledge(self, interaction: discord.Interaction, text: str) -> None:
        try:
            with translated(action="answering a button click"):
                await interaction.response.send_message(text, ephemeral=True)
        except PlatformError as exc:
            # The rating stands; the clicker sees "interaction failed" instead of the note.
            log.warning("%s", exc)

    def _key(self, kind: Kind, channel_id: int) -> str:
        return ThreadKey(
            application_id=self._me.application_id, kind=kind, channel_id=channel_id
        ).encode()

    def _place(self, interaction: discord.Interaction) -> tuple[str, Origin] | None:
        """The thread key and origin of the clicked message, or None where the bot may not
        answer (a guild or channel off the allow lists, DMs turned off)."""
        channel_id = interaction.channel_id
        if channel_id is None:
            return None
        guild_id = interaction.guild_id
        if guild_id is None:
            if not self._config.direct_messages:
                return None
            origin = Origin(adapter="discord", channel_id=str(channel_id), is_direct=True)
            return self._key("dm", channel_id), origin
        channel = interaction.channel
        parent = channel.parent_id if isinstance(channel, discord.Thread) else None
        guilds, channels = self._config.allowed_guilds, self._config.allowed_channels
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
            return self._key("channel", channel_id), origin
        origin = Origin(
            adapter="discord",
            channel_id=str(parent or channel_id),
            workspace_id=str(guild_id),
            thread_id=str(channel_id),
        )
        return self._key("thread", channel_id), origin
