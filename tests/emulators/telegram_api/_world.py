"""What the emulated Telegram knows: chats, message ids, users' messages, the bot's messages."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ._records import ApiError, BotIdentity, SentMessage, bad_request

_MESSAGE_KEYS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
)


class World:
    """Chats, per-chat message-id counters, and every message the bot could refer to."""

    def __init__(self, *, bot: BotIdentity, wall_clock: Callable[[], float] = time.time) -> None:
        self.bot = bot
        self.wall_clock = wall_clock
        self.chats: dict[int, dict[str, Any]] = {}
        self.sent: dict[tuple[int, int], SentMessage] = {}
        self.deleted: list[tuple[int, int]] = []
        self._usernames: dict[str, int] = {}
        self._last_message_id: dict[int, int] = {}
        self._user_messages: dict[tuple[int, int], dict[str, Any]] = {}
        # Files users sent: file_id -> (file_path, bytes), served under /file/bot<token>/.
        self.files: dict[str, tuple[str, bytes]] = {}
        self.file_downloads: list[str] = []

    def now(self) -> int:
        return int(self.wall_clock())

    def add_chat(self, chat: Mapping[str, Any]) -> dict[str, Any]:
        chat_id = int(chat["id"])
        merged = {**self.chats.get(chat_id, {}), **chat}
        self.chats[chat_id] = merged
        if merged.get("username"):
            self._usernames[str(merged["username"]).lower()] = chat_id
        return merged

    def resolve_chat(self, chat_id: Any) -> dict[str, Any]:
        """The chat a chat_id parameter names, or Telegram's "chat not found"."""
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            known = self._usernames.get(chat_id[1:].lower())
            if known is not None:
                return self.chats[known]
        elif isinstance(chat_id, int) and not isinstance(chat_id, bool) and chat_id in self.chats:
            return self.chats[chat_id]
        elif chat_id is None:
            raise bad_request("chat_id is empty")
        raise bad_request("chat not found")

    def next_message_id(self, chat_id: int) -> int:
        value = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = value
        return value

    def message_exists(self, *, chat_id: int, message_id: int) -> bool:
        key = (chat_id, message_id)
        if key in self.deleted:
            return False
        return key in self.sent or key in self._user_messages

    def note_update(self, update: Mapping[str, Any]) -> None:
        """Learn the chats and messages an incoming update reveals."""
        for key in _MESSAGE_KEYS:
            if isinstance(update.get(key), Mapping):
                self.note_message(update[key])
        callback = update.get("callback_query")
        if isinstance(callback, Mapping) and isinstance(callback.get("message"), Mapping):
            self.note_message(callback["message"])
        for key in ("message_reaction", "message_reaction_count", "my_chat_member"):
            payload = update.get(key)
            if isinstance(payload, Mapping) and isinstance(payload.get("chat"), Mapping):
                self.add_chat(payload["chat"])

    def note_message(self, message: Mapping[str, Any]) -> None:
        chat = self.add_chat(message["chat"])
        message_id = int(message["message_id"])
        if self._last_message_id.get(chat["id"], 0) < message_id:
            self._last_message_id[chat["id"]] = message_id
        key = (chat["id"], message_id)
        if key not in self.sent:
            self._user_messages[key] = dict(message)
        reply = message.get("reply_to_message")
        if isinstance(reply, Mapping) and "chat" in reply:
            self.note_message(reply)

    def add_file(self, *, data: bytes, extension: str) -> tuple[str, str]:
        """Keep ``data`` as a file a user sent; its (file_id, file_unique_id)."""
        number = len(self.files) + 1
        file_id = f"BQACAgIAAxkBAAEfile{number:04d}"
        self.files[file_id] = (f"documents/file_{number}{extension}", data)
        return file_id, f"AgADfile{number:04d}"

    def message_dict(self, *, chat_id: int, message_id: int) -> dict[str, Any] | None:
        key = (chat_id, message_id)
        if key in self.deleted:
            return None
        if key in self.sent:
            return self.render(self.sent[key])
        found = self._user_messages.get(key)
        return dict(found) if found is not None else None

    def require_sent(self, *, chat_id: int, message_id: Any, missing: str) -> SentMessage:
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise bad_request("message identifier is not specified")
        found = self.sent.get((chat_id, message_id))
        if found is not None:
            return found
        if self.message_exists(chat_id=chat_id, message_id=message_id):
            raise bad_request("message can't be edited")
        raise bad_request(missing)

    def render(self, sent: SentMessage, *, nested: bool = False) -> dict[str, Any]:
        """The Message object Telegram returns for a message the bot sent."""
        chat = self.chats[sent.chat_id]
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "from": self.bot.as_user(),
            "chat": dict(chat),
            "date": sent.date,
            "text": sent.text,
        }
        if sent.entities:
            message["entities"] = [dict(entity) for entity in sent.entities]
        if sent.message_thread_id is not None:
            message["message_thread_id"] = sent.message_thread_id
            if chat.get("is_forum"):
                message["is_topic_message"] = True
        if sent.edit_date is not None:
            message["edit_date"] = sent.edit_date
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        if sent.reply_to is not None and not nested:
            replied = self._reply_target(chat_id=sent.chat_id, message_id=sent.reply_to)
            if replied is not None:
                message["reply_to_message"] = replied
        return message

    def _reply_target(self, *, chat_id: int, message_id: int) -> dict[str, Any] | None:
        key = (chat_id, message_id)
        if key in self.sent:
            return self.render(self.sent[key], nested=True)
        found = self._user_messages.get(key)
        if found is None:
            return None
        # Telegram never nests a reply inside a replied-to message.
        return {name: value for name, value in found.items() if name != "reply_to_message"}


def ensure(condition: bool, error: ApiError) -> None:
    if not condition:
        raise error
