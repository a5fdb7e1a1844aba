"""Posting, editing and deleting the bot's messages, with the agent's Markdown made Discord's."""

from __future__ import annotations

import discord

from knowrithm_bots.adapters.discord.errors import translated
from knowrithm_bots.adapters.discord.threads import MessageRef
from knowrithm_bots.core.adapter import Posted
from knowrithm_bots.core.errors import MessageNotFound, MessageTooLong
from knowrithm_bots.core.markup import to_discord_markdown, utf16_len

MAX_CONTENT = 2000
# Discord refuses blank content; a placeholder keeps the message until the next edit fills it.
BLANK_PLACEHOLDER = "…"


def render(text: str) -> str:
    """The agent's Markdown as Discord content (never blank)."""
    rendered = to_discord_markdown(text)
    return rendered if rendered.strip() else BLANK_PLACEHOLDER


def measure(text: str) -> int:
    """Rendered length in UTF-16 code units: never below Discord's own count, so safe."""
    return utf16_len(render(text))


def _checked(text: str) -> str:
    content = render(text)
    if utf16_len(content) > MAX_CONTENT:
        raise MessageTooLong(
            f"a Discord message holds {MAX_CONTENT} characters; this one has {utf16_len(content)}"
        )
    return content


class Outbound:
    """The REST side of the adapter; channel ids come from decoded thread keys.

    Works on partial objects (``get_partial_messageable``), so it needs no cache and the
    same code serves threads, DMs and channels. Mentions in the agent's text never ping
    anyone: the client is built with ``AllowedMentions.none()``.
    """

    def __init__(self, *, client: discord.Client) -> None:
        self._client = client

    def _channel(self, channel_id: int) -> discord.PartialMessageable:
        return self._client.get_partial_messageable(channel_id)

    async def post(
        self,
        *,
        channel_id: int,
        text: str,
        reply_to: int | None = None,
        view: discord.ui.View | None = None,
    ) -> Posted:
        """Post ``text``; as a reply to message ``reply_to`` of the same channel when given,
        with the components of ``view`` (the Stop button) under it.

        A reply to a message deleted meanwhile is posted as a plain message rather than
        refused, and it never pings the person replied to.
        """
        content = _checked(text)
        channel = self._channel(channel_id)
        with translated(action="posting a message"):
            if reply_to is None:
                message = await channel.send(content=content, view=view)  # type: ignore[arg-type]
            else:
                reference = discord.MessageReference(
                    message_id=reply_to, channel_id=channel_id, fail_if_not_exists=False
                )
                message = await channel.send(
                    content=content,
                    reference=reference,
                    view=view,  # type: ignore[arg-type]
                )
        return Posted(id=MessageRef(message_id=message.id).encode())

    async def edit(
        self, *, channel_id: int, message_id: int, text: str, view: discord.ui.View | None = None
    ) -> None:
        """Replace the content, and the components with ``view``'s (none: ``components: []``
        takes the Stop button away in the same call)."""
        content = _checked(text)
        partial = self._channel(channel_id).get_partial_message(message_id)
        with translated(action="editing a message", editing=True):
            await partial.edit(content=content, view=view)

    async def delete(self, *, channel_id: int, message_id: int) -> None:
        partial = self._channel(channel_id).get_partial_message(message_id)
        try:
            with translated(action="deleting a message", editing=True):
                await partial.delete()
        except MessageNotFound:
            return  # already gone: what the caller wanted

    async def typing(self, *, channel_id: int) -> None:
        with translated(action="showing typing"):
            await self._channel(channel_id).typing()
