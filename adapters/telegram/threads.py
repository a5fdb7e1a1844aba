"""Thread keys and message references: what a Telegram conversation and message are called.

A thread key is ``telegram:<bot id>:<chat id>`` for a private chat or a group shared by its
members, and ``telegram:<bot id>:<chat id>:<topic id>`` for a forum topic. In a group where each
person has a conversation of their own (``group_sessions``), ``:u<user id>`` follows:
``telegram:<bot id>:<chat id>:u<user id>``, ``telegram:<bot id>:<chat id>:<topic id>:u<user id>``.
The user part only separates conversations: everything is still posted in the chat (or topic).
A message reference (``Posted.id``, ``Inbound.message_id``) is
``<bot id>:<chat id>:<message id>``: Telegram message ids are only unique within one chat,
and two bots see different ids in the same private chat.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Self

from knowrithm_bots.core.thread_key import key_fields

PREFIX = "telegram"

# Marks the user part of a per-person key (a topic id is a bare number).
_USER = "u"

# The only spelling str(int) produces: no sign but "-", no leading zeros, no "_" or spaces.
_INTEGER = re.compile(r"0|-?[1-9][0-9]*")


def _integers(fields: list[str]) -> list[int]:
    """``fields`` as integers; ValueError unless each is spelt as ``str(int)`` spells it."""
    if not all(_INTEGER.fullmatch(field) for field in fields):
        raise ValueError("not an integer")
    return [int(field) for field in fields]


@dataclass(frozen=True, kw_only=True)
class ThreadKey:
    """Where one conversation lives: a chat, a forum topic within it, and the person whose
    conversation it is when group members each have their own."""

    bot_id: int
    chat_id: int
    topic_id: int | None = None
    user_id: int | None = None

    @property
    def is_private(self) -> bool:
        # Telegram gives users (and so private chats) positive ids, groups negative ones.
        return self.chat_id > 0

    def encode(self) -> str:
        key = f"{PREFIX}:{self.bot_id}:{self.chat_id}"
        if self.topic_id is not None:
            key = f"{key}:{self.topic_id}"
        return key if self.user_id is None else f"{key}:{_USER}{self.user_id}"

    @classmethod
    def decode(cls, thread: str) -> Self:
        """The key ``encode`` made ``thread`` from; ValueError for anything else."""
        try:
            fields = key_fields(thread, prefix=PREFIX, counts=(2, 3, 4))
            # The user part is marked, so that it cannot be read as a topic, nor a topic as it.
            user = fields.pop()[len(_USER) :] if fields[-1].startswith(_USER) else None
            numbers = _integers(fields if user is None else [*fields, user])
            if len(fields) == 4 or (user is not None and len(fields) < 2):
                raise ValueError("a fourth field must be the user part")
        except ValueError:
            raise ValueError(f"{thread!r} is not a Telegram thread key") from None
        return cls(
            bot_id=numbers[0],
            chat_id=numbers[1],
            topic_id=numbers[2] if len(fields) == 3 else None,
            user_id=None if user is None else numbers[-1],
        )


@dataclass(frozen=True, kw_only=True)
class MessageRef:
    """One Telegram message as the core names it (``Posted.id`` / ``Reaction.message_id``)."""

    bot_id: int
    chat_id: int
    message_id: int

    def encode(self) -> str:
        return f"{self.bot_id}:{self.chat_id}:{self.message_id}"

    @classmethod
    def decode(cls, value: str) -> Self:
        """The reference ``encode`` made ``value`` from; ValueError for anything else."""
        fields = value.split(":")
        try:
            if len(fields) != 3:
                raise ValueError("wrong number of fields")
            bot_id, chat_id, message_id = _integers(fields)
        except ValueError:
            raise ValueError(f"{value!r} is not a Telegram message reference") from None
        return cls(bot_id=bot_id, chat_id=chat_id, message_id=message_id)
