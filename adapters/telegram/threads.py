"""Thread keys and message references: what a Telegram conversation and message are called.

A thread key is ``telegram:<bot id>:<chat id>`` for a private chat or a plain group (one
conversation per group), and ``telegram:<bot id>:<chat id>:<topic id>`` for a forum topic.
A message reference (``Posted.id``) is ``<bot id>:<chat id>:<message id>``: Telegram message
ids are only unique within one chat, and two bots see different ids in the same private chat.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "telegram"


@dataclass(frozen=True)
class ThreadKey:
    """Where one conversation lives: a chat, and a forum topic within it."""

    bot_id: int
    chat_id: int
    topic_id: int | None = None

    @property
    def is_private(self) -> bool:
        # Telegram gives users (and so private chats) positive ids, groups negative ones.
        return self.chat_id > 0

    def encode(self) -> str:
        key = f"{PREFIX}:{self.bot_id}:{self.chat_id}"
        return key if self.topic_id is None else f"{key}:{self.topic_id}"

    @classmethod
    def decode(cls, thread: str) -> ThreadKey:
        """Parse a key made by ``encode``; ValueError for anything else."""
        parts = thread.split(":")
        if parts[0] != PREFIX or len(parts) not in (3, 4):
            raise ValueError(f"{thread!r} is not a Telegram thread key")
        try:
            numbers = [int(part) for part in parts[1:]]
        except ValueError:
            raise ValueError(f"{thread!r} is not a Telegram thread key") from None
        topic = numbers[2] if len(numbers) == 3 else None
        return cls(bot_id=numbers[0], chat_id=numbers[1], topic_id=topic)


@dataclass(frozen=True)
class MessageRef:
    """One Telegram message as the core names it (``Posted.id`` / ``Reaction.message_id``)."""

    bot_id: int
    chat_id: int
    message_id: int

    def encode(self) -> str:
        return f"{self.bot_id}:{self.chat_id}:{self.message_id}"

    @classmethod
    def decode(cls, value: str) -> MessageRef:
        parts = value.split(":")
        try:
            bot_id, chat_id, message_id = (int(part) for part in parts)
        except ValueError:
            raise ValueError(f"{value!r} is not a Telegram message reference") from None
        return cls(bot_id=bot_id, chat_id=chat_id, message_id=message_id)
