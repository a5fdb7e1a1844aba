"""Reading discord.py messages: who wrote them, whether they name the bot, and their text."""

from __future__ import annotations

import re

import discord

from knowrithm_bots.core.events import Author

THREAD_NAME_LIMIT = 90  # Discord allows 100; leave room for the ellipsis and emoji
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_USER_MESSAGE_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def is_user_message(message: discord.Message) -> bool:
    """A message a person typed (not a join notice, pin, thread-created marker ...)."""
    return message.type in _USER_MESSAGE_TYPES and message.webhook_id is None


def _bot_role_ids(message: discord.Message, *, bot_id: int) -> set[int]:
    """The bot's own managed role, when the message mentions that instead of the bot."""
    return {
        role.id
        for role in message.role_mentions
        if role.tags is not None and role.tags.bot_id == bot_id
    }


def mentions_bot(message: discord.Message, *, bot_id: int) -> bool:
    if any(user.id == bot_id for user in message.mentions):
        return True
    if _bot_role_ids(message, bot_id=bot_id):
        return True  # picking the bot from Discord's list sometimes inserts its role
    return any(int(found) == bot_id for found in _USER_MENTION.findall(message.content))


def text_for_agent(message: discord.Message, *, bot_id: int) -> str:
    """The message text with the bot's mention removed and other mentions made readable."""
    names = {user.id: user.display_name for user in message.mentions}

    def replace(match: re.Match[str]) -> str:
        user_id = int(match.group(1))
        if user_id == bot_id:
            return ""
        name = names.get(user_id)
        return f"@{name}" if name else match.group(0)

    text = _USER_MENTION.sub(replace, message.content)
    for role_id in _bot_role_ids(message, bot_id=bot_id):
        text = text.replace(f"<@&{role_id}>", "")
    return text.strip()


def content_hidden(message: discord.Message, *, intent_on: bool) -> bool:
    """True when Discord blanked the content because the message-content intent is off.

    Discord sends no content, attachments or embeds for guild messages that do not mention
    the bot unless the intent is on; a person cannot send a message with none of them.
    """
    return (
        not intent_on
        and message.guild is not None
        and not message.content
        and not message.attachments
        and not message.embeds
        and not message.stickers
    )


def thread_name(text: str, *, author: str) -> str:
    """A thread title from the question's first line, or from who asked."""
    first = " ".join(text.split("\n", 1)[0].split())
    if not first:
        return f"Question from {author}"[:THREAD_NAME_LIMIT] or "Question"
    if len(first) > THREAD_NAME_LIMIT:
        return first[: THREAD_NAME_LIMIT - 1].rstrip() + "…"
    return first


def author_of(user: discord.abc.User, *, external: bool = False) -> Author:
    return Author(
        id=str(user.id),
        display_name=user.display_name,
        is_bot=user.bot,
        external=external,
    )
