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
from knowrithm_bots.adapters.discord.controls import (
    STOP,
    THANKS_FOR_REASON,
    reason_modal,
    submitted_reason,
)
from knowrithm_bots.adapters.discord.errors import translated
from knowrithm_bots.adapters.discord.inbound import Identity
from knowrithm_bots.adapters.discord.places import interaction_place
from knowrithm_bots.adapters.discord.threads import MessageRef
from knowrithm_bots.core.adapter import EventSink
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.events import Author, Origin, Reaction
from knowrithm_bots.core.user_messages import NOTHING_OF_YOURS_TO_STOP, STOP_CLICK_TOO_LATE, STOPPED

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
        """Rate and acknowledge a click on a rating button, stop an answer on a click on its
        Stop button, take a reason from the modal a 👎 opened; other interactions are not
        ours."""
        data: Mapping[str, object] = interaction.data or {}
        if interaction.type is discord.InteractionType.modal_submit:
            await self._on_reason(interaction, data)
            return
        if interaction.type is not discord.InteractionType.component:
            return
        custom_id = str(data.get("custom_id", ""))
        verdict = EMOJI.get(custom_id)
        message = interaction.message
        if (verdict is None and custom_id != STOP) or message is None:
            return
        if message.author.id != self._me.bot_id:
            return
        place = self._place(interaction)
        if place is None or interaction.user.bot:
            await self._acknowledge(interaction, NOT_ALLOWED)
            return
        thread, origin = place
        user = interaction.user
        if verdict is None:
            # Discord only shows the button to people who can see the channel.
            stopped = await self._sink.on_stop(
                thread=thread,
                by=Author(id=str(user.id), display_name=user.display_name),
                message_id=MessageRef(message_id=message.id).encode(),
            )
            await self._acknowledge(interaction, STOPPED if stopped else self._nothing_to_stop())
            return
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
        if verdict == EMOJI[DOWN]:
            # The modal is the click's answer; the 👎 counts whether or not a reason follows.
            try:
                with translated(action="asking why an answer was rated 👎"):
                    await interaction.response.send_modal(reason_modal(message_id=message.id))
                return
            except PlatformError as exc:
                log.warning("%s", exc)
        await self._acknowledge(interaction, thanks(verdict))

    async def _on_reason(
        self, interaction: discord.Interaction, data: Mapping[str, object]
    ) -> None:
        """The reason from a "Tell us why" modal: the 👎 again, with it as feedback."""
        submitted = submitted_reason(data)
        if submitted is None:
            return
        message_id, reason = submitted
        place = self._place(interaction)
        if place is None or interaction.user.bot:
            await self._acknowledge(interaction, NOT_ALLOWED)
            return
        thread, origin = place
        user = interaction.user
        await self._sink.on_reaction(
            Reaction(
                thread=thread,
                event_id=f"interaction:{interaction.id}",
                message_id=MessageRef(message_id=message_id).encode(),
                emoji=EMOJI[DOWN],
                added=True,
                author=Author(id=str(user.id), display_name=user.display_name),
                origin=origin,
                feedback=reason,
            )
        )
        await self._acknowledge(interaction, THANKS_FOR_REASON)

    async def _acknowledge(self, interaction: discord.Interaction, text: str) -> None:
        try:
            with translated(action="answering a button click"):
                await interaction.response.send_message(text, ephemeral=True)
        except PlatformError as exc:
            # The rating stands; the clicker sees "interaction failed" instead of the note.
            log.warning("%s", exc)

    def _nothing_to_stop(self) -> str:
        per_user = self._config.group_sessions == "per_user"
        return NOTHING_OF_YOURS_TO_STOP if per_user else STOP_CLICK_TOO_LATE

    def _place(self, interaction: discord.Interaction) -> tuple[str, Origin] | None:
        """The thread key and origin of the clicked message (with ``group_sessions:
        per_user``, the clicker's own conversation there), or None where the bot may not
        answer (a guild or channel off the allow lists, DMs turned off)."""
        return interaction_place(
            interaction, config=self._config, application_id=self._me.application_id
        )
