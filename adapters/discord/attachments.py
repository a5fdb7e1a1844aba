"""What a Discord message brings besides its words: its thread's earlier messages, the message
it replies to, and its files (read with ``Attachment.read``)."""

from __future__ import annotations

import logging

import discord

from knowrithm_bots.adapters.discord.messages import is_user_message, text_for_agent
from knowrithm_bots.core.attached_files import read_attached
from knowrithm_bots.core.config.models import FileSettings
from knowrithm_bots.core.events import ContextMessage, InboundFile

log = logging.getLogger(__name__)


def as_context(message: discord.Message, *, bot_id: int) -> ContextMessage | None:
    """``message`` as people saw it, or None when it holds nothing to read."""
    if message.author.id != bot_id and not is_user_message(message):
        return None  # a join notice, a pin, a thread-created marker
    text = text_for_agent(message, bot_id=bot_id)
    names = [f"[file {a.filename}]" for a in message.attachments]
    text = " ".join([text, *names]).strip()
    if not text:
        return None
    from_bot = message.author.id == bot_id
    return ContextMessage(author=message.author.display_name, text=text, from_bot=from_bot)


async def thread_context(
    message: discord.Message, *, thread: discord.Thread, bot_id: int, count: int
) -> tuple[ContextMessage, ...]:
    """The newest ``count`` messages of ``thread`` before ``message``, oldest first; with the
    message the thread was started from when the thread's start is within reach."""
    try:
        earlier = [m async for m in thread.history(limit=count, before=message)]
        if len(earlier) < count:
            starter = await _starter(thread)
            if starter is not None and starter.id != message.id:
                earlier.append(starter)
    except discord.HTTPException as exc:
        # Without Read Message History the answer goes on without the thread's history.
        log.warning("the earlier messages of thread %s could not be read (%s)", thread.id, exc)
        return ()
    found = (as_context(m, bot_id=bot_id) for m in reversed(earlier))
    return tuple(item for item in found if item is not None)


async def _starter(thread: discord.Thread) -> discord.Message | None:
    # A thread started from a channel message has that message's id; it lives in the
    # parent channel, outside the thread's history (a forum post's lives inside).
    parent = thread.parent
    if not isinstance(parent, discord.TextChannel):
        return None
    try:
        return await parent.fetch_message(thread.id)
    except discord.NotFound:
        return None  # a thread started on its own, or the message is gone


async def replied_context(message: discord.Message, *, bot_id: int) -> tuple[ContextMessage, ...]:
    """The message ``message`` replies to, as context (none when it replies to nothing)."""
    reference = message.reference
    if reference is None or reference.message_id is None:
        return ()
    replied = reference.resolved
    if replied is None and reference.channel_id == message.channel.id:
        # The gateway leaves it out when it could not load it: one REST call fetches it.
        try:
            replied = await message.channel.fetch_message(reference.message_id)
        except discord.HTTPException as exc:
            log.info("the replied-to message %s could not be read (%s)", reference.message_id, exc)
            return ()
    if not isinstance(replied, discord.Message):
        return ()  # deleted
    item = as_context(replied, bot_id=bot_id)
    return () if item is None else (item,)


async def read_files(
    message: discord.Message, *, settings: FileSettings
) -> tuple[InboundFile, ...]:
    """The files of ``message``; text-like ones downloaded from Discord's CDN."""
    return tuple(
        [
            await read_attached(
                name=attachment.filename,
                mime_type=attachment.content_type or "",
                size=attachment.size,
                download=attachment.read,
                settings=settings,
            )
            for attachment in message.attachments
        ]
    )
