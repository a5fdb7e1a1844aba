"""Builds update dicts shaped like the ones Telegram sends, with ids drawn from the emulator."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._markup import utf16_len
from ._world import World

ALICE: dict[str, Any] = {
    "id": 1001,
    "is_bot": False,
    "first_name": "Alice",
    "username": "alice",
    "language_code": "en",
}
BOB: dict[str, Any] = {"id": 1002, "is_bot": False, "first_name": "Bob", "username": "bob"}
OTHER_BOT: dict[str, Any] = {
    "id": 7000000999,
    "is_bot": True,
    "first_name": "Other Bot",
    "username": "other_helper_bot",
}
GROUP_ID = -1001000000001
FORUM_ID = -1001000000002
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,})?")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}")
_TOPIC_ICON_COLOR = 7322096


def auto_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram detects in users' text: a leading /command and @mentions."""
    found: list[dict[str, Any]] = []
    command = _COMMAND.match(text)
    if command:
        found.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))})
    for mention in _MENTION.finditer(text):
        found.append(
            {
                "type": "mention",
                "offset": utf16_len(text[: mention.start()]),
                "length": utf16_len(mention.group(0)),
            }
        )
    return found


def _reaction_type(emoji: str) -> dict[str, str]:
    custom, sep, emoji_id = emoji.partition(":")
    if sep and custom == "custom_emoji":
        return {"type": "custom_emoji", "custom_emoji_id": emoji_id}
    return {"type": "emoji", "emoji": emoji}


def _extension(file_name: str) -> str:
    _, dot, suffix = file_name.rpartition(".")
    return f".{suffix}" if dot else ""


class UpdateBuilder:
    """Realistic update dicts; push them with `push_update` or `deliver_webhook`."""

    def __init__(self, *, world: World) -> None:
        self._world = world
        self._callback_ids = itertools.count(5_000_000_001)

    def private_chat(self, user: Mapping[str, Any] = ALICE) -> dict[str, Any]:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if user.get("username"):
            chat["username"] = user["username"]
        return self._world.add_chat(chat)

    def group_chat(
        self, *, chat_id: int = GROUP_ID, title: str = "Test Group", kind: str = "supergroup"
    ) -> dict[str, Any]:
        return self._world.add_chat({"id": chat_id, "type": kind, "title": title})

    def forum_chat(self, *, chat_id: int = FORUM_ID, title: str = "Test Forum") -> dict[str, Any]:
        return self._world.add_chat(
            {"id": chat_id, "type": "supergroup", "title": title, "is_forum": True}
        )

    def _message(
        self,
        *,
        chat: Mapping[str, Any],
        user: Mapping[str, Any],
        text: str | None,
        entities: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._world.next_message_id(int(chat["id"])),
            "from": dict(user),
            "chat": dict(chat),
            "date": self._world.now(),
        }
        if text is not None:
            message["text"] = text
            found = list(entities) if entities is not None else auto_entities(text)
            if found:
                message["entities"] = [dict(entity) for entity in found]
        return message

    def private_text(
        self,
        *,
        text: str,
        user: Mapping[str, Any] = ALICE,
        entities: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        chat = self.private_chat(user)
        return {"message": self._message(chat=chat, user=user, text=text, entities=entities)}

    def group_text(
        self,
        *,
        text: str,
        user: Mapping[str, Any] = ALICE,
        chat_id: int = GROUP_ID,
        title: str = "Test Group",
        entities: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        chat = self.group_chat(chat_id=chat_id, title=title)
        return {"message": self._message(chat=chat, user=user, text=text, entities=entities)}

    def topic_text(
        self,
        *,
        text: str,
        thread_id: int,
        user: Mapping[str, Any] = ALICE,
        chat_id: int = FORUM_ID,
        topic_name: str = "Questions",
    ) -> dict[str, Any]:
        """A message in a forum topic. As in Telegram, it replies to the topic's creation."""
        chat = self.forum_chat(chat_id=chat_id)
        message = self._message(chat=chat, user=user, text=text)
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        message["reply_to_message"] = {
            "message_id": thread_id,
            "from": dict(user),
            "chat": dict(chat),
            "date": self._world.now(),
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": topic_name, "icon_color": _TOPIC_ICON_COLOR},
        }
        return {"message": message}

    def reply_to_bot(
        self, *, text: str, chat_id: int, message_id: int, user: Mapping[str, Any] = ALICE
    ) -> dict[str, Any]:
        """A user's reply to a message the bot sent (looked up in the emulator)."""
        replied = self._world.message_dict(chat_id=chat_id, message_id=message_id)
        if replied is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        replied.pop("reply_to_message", None)
        message = self._message(chat=self._world.chats[chat_id], user=user, text=text)
        if "message_thread_id" in replied:
            message["message_thread_id"] = replied["message_thread_id"]
            if replied.get("is_topic_message"):
                message["is_topic_message"] = True
        message["reply_to_message"] = replied
        return {"message": message}

    def document(
        self,
        *,
        data: bytes,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        user: Mapping[str, Any] = ALICE,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """A message with a file (Bot API Document), its bytes kept for getFile."""
        chat = self._world.chats[chat_id] if chat_id is not None else self.private_chat(user)
        message = self._message(chat=chat, user=user, text=None)
        file_id, unique_id = self._world.add_file(data=data, extension=_extension(file_name))
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        self._caption(message, caption)
        return {"message": message}

    def photo(
        self,
        *,
        data: bytes,
        caption: str | None = None,
        user: Mapping[str, Any] = ALICE,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """A photo message: Bot API sends an array of PhotoSize, smallest first."""
        chat = self._world.chats[chat_id] if chat_id is not None else self.private_chat(user)
        message = self._message(chat=chat, user=user, text=None)
        sizes = []
        for width, part in ((90, data[: len(data) // 8]), (800, data)):
            file_id, unique_id = self._world.add_file(data=part, extension=".jpg")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "width": width,
                    "height": width * 3 // 4,
                    "file_size": len(part),
                }
            )
        message["photo"] = sizes
        self._caption(message, caption)
        return {"message": message}

    @staticmethod
    def _caption(message: dict[str, Any], caption: str | None) -> None:
        if caption is not None:
            message["caption"] = caption
            found = auto_entities(caption)
            if found:
                message["caption_entities"] = found

    def reply(
        self, *, text: str, chat_id: int, message_id: int, user: Mapping[str, Any] = ALICE
    ) -> dict[str, Any]:
        """A user's reply to any earlier message of the chat (the bot's or a person's)."""
        return self.reply_to_bot(text=text, chat_id=chat_id, message_id=message_id, user=user)

    def edited_text(self, *, original: Mapping[str, Any], text: str) -> dict[str, Any]:
        """An edit of an earlier user message (pass the update or the message it holds)."""
        message = dict(original.get("message", original))
        message["text"] = text
        message.pop("entities", None)
        found = auto_entities(text)
        if found:
            message["entities"] = found
        message["edit_date"] = self._world.now()
        return {"edited_message": message}

    def bot_text(
        self,
        *,
        text: str,
        chat_id: int = GROUP_ID,
        sender: Mapping[str, Any] = OTHER_BOT,
    ) -> dict[str, Any]:
        """A message another bot posted in a group."""
        chat = self._world.chats.get(chat_id) or self.group_chat(chat_id=chat_id)
        return {"message": self._message(chat=chat, user=sender, text=text)}

    def sticker(
        self, *, user: Mapping[str, Any] = ALICE, chat_id: int | None = None, emoji: str = "👍"
    ) -> dict[str, Any]:
        """A message holding only a sticker (no text)."""
        chat = self._world.chats[chat_id] if chat_id is not None else self.private_chat(user)
        message = self._message(chat=chat, user=user, text=None)
        message["sticker"] = {
            "file_id": "CAACAgIAAxkBAAEBstickerfileid",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return {"message": message}

    def reaction(
        self,
        *,
        chat_id: int,
        message_id: int,
        user: Mapping[str, Any] = ALICE,
        old: Sequence[str] = (),
        new: Sequence[str] = ("👍",),
    ) -> dict[str, Any]:
        """A message_reaction update (delivered only if listed in allowed_updates).

        An entry ``custom_emoji:<id>`` in `old` or `new` is a custom emoji reaction.
        """
        return {
            "message_reaction": {
                "chat": dict(self._world.chats[chat_id]),
                "message_id": message_id,
                "user": dict(user),
                "date": self._world.now(),
                "old_reaction": [_reaction_type(emoji) for emoji in old],
                "new_reaction": [_reaction_type(emoji) for emoji in new],
            }
        }

    def callback_query(
        self, *, chat_id: int, message_id: int, data: str, user: Mapping[str, Any] = ALICE
    ) -> dict[str, Any]:
        """A press on an inline button of a message the bot sent."""
        message = self._world.message_dict(chat_id=chat_id, message_id=message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        return {
            "callback_query": {
                "id": str(next(self._callback_ids)),
                "from": dict(user),
                "message": message,
                "chat_instance": f"instance{chat_id}",
                "data": data,
            }
        }
