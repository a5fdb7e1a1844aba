"""The Bot API methods the emulator answers (all but getUpdates), with Telegram's errors."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

from ._flood import FloodGate
from ._keyboards import CallbackQueries, checked_markup
from ._markup import MarkupError, parse_html, strip_text, utf16_len
from ._records import (
    ApiError,
    ChatActionRecord,
    DraftRecord,
    ReactionRecord,
    SentMessage,
    WebhookConfig,
    bad_request,
)
from ._world import World, ensure

MAX_TEXT_UTF16 = 4096
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# The emoji Telegram accepts in ReactionTypeEmoji (Bot API documentation).
_REACTION_EMOJI_TEXT = (
    "👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🤬 😢 🎉 🤩 🤮 💩 🙏 👌 🕊 🤡 🥱 🥴 😍 🐳 ❤️‍🔥 "
    "🌚 🌭 💯 🤣 ⚡ 🍌 🏆 💔 🤨 😐 🍓 🍾 💋 🖕 😈 😴 😭 🤓 👻 👨‍💻 👀 🎃 🙈 😇 "
    "😨 🤝 ✍ 🤗 🫡 🎅 🎄 ☃ 💅 🤪 🗿 🆒 💘 🙉 🦄 😘 💊 🙊 😎 👾 🤷‍♂️ 🤷 🤷‍♀️ 😡"
)
REACTION_EMOJI = frozenset(_REACTION_EMOJI_TEXT.split(" "))
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_DEFAULT_SCOPE = '{"type": "default"}'


class Methods:
    """Applies one Bot API call to the emulated state and returns its `result`."""

    def __init__(self, *, world: World, flood: FloodGate, clock: Callable[[], float]) -> None:
        self.world = world
        self.flood = flood
        self.clock = clock
        self.drafts: list[DraftRecord] = []
        self.reactions: list[ReactionRecord] = []
        self.chat_actions: list[ChatActionRecord] = []
        self.callback_queries = CallbackQueries(clock=clock)
        self.commands: dict[tuple[str, str], tuple[dict[str, str], ...]] = {}
        self.webhook: WebhookConfig | None = None
        self.allowed_updates: tuple[str, ...] | None = None
        self.drop_pending: Callable[[], None] = lambda: None
        self.custom_emoji: dict[str, str] = {}
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getMe": self.get_me,
            "logOut": lambda _params: True,
            "close": lambda _params: True,
            "deleteWebhook": self.delete_webhook,
            "setWebhook": self.set_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "sendMessageDraft": self.send_message_draft,
            "sendChatAction": self.send_chat_action,
            "setMessageReaction": self.set_message_reaction,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.callback_queries.answer,
            "getCustomEmojiStickers": self.get_custom_emoji_stickers,
            "getFile": self.get_file,
        }
        self.canonical = {name.lower(): name for name in [*self._handlers, "getUpdates"]}

    def call(self, *, method: str, params: dict[str, Any]) -> Any:
        return self._handlers[method](params)

    def _admit(self, method: str, chat_id: int) -> None:
        if not self.flood.applies_to(method):
            return
        retry_after = self.flood.admit(chat_id=chat_id)
        if retry_after is not None:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def get_me(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.world.bot.as_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates") is True:
            self.drop_pending()
        return True

    def set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url")
        ensure(isinstance(url, str), bad_request('parameter "url" is required'))
        secret = params.get("secret_token")
        if secret is not None:
            ensure(
                isinstance(secret, str) and bool(_SECRET_TOKEN.fullmatch(secret)),
                bad_request("secret token contains unallowed characters"),
            )
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = tuple(str(kind) for kind in allowed)
        if params.get("drop_pending_updates") is True:
            self.drop_pending()
        connections = params.get("max_connections")
        self.webhook = (
            WebhookConfig(
                url=url,
                secret_token=secret,
                allowed_updates=self.allowed_updates,
                max_connections=connections if isinstance(connections, int) else None,
            )
            if url
            else None
        )
        return True

    def get_webhook_info(self, _params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if self.webhook and self.webhook.max_connections:
            info["max_connections"] = self.webhook.max_connections
        if self.allowed_updates is not None:
            info["allowed_updates"] = list(self.allowed_updates)
        return info

    def _formatted(self, params: dict[str, Any], *, allow_empty: bool = False) -> tuple[str, Any]:
        raw = params.get("text")
        if raw is None and allow_empty:
            raw = ""
        if not isinstance(raw, str):
            raise bad_request("message text is empty")
        parse_mode = params.get("parse_mode")
        if parse_mode in (None, ""):
            entities = params.get("entities")
            text, parsed = strip_text(
                text=raw, entities=list(entities) if isinstance(entities, list) else []
            )
        elif str(parse_mode).lower() == "html":
            try:
                text, parsed = parse_html(raw)
            except MarkupError as exc:
                raise bad_request(f"can't parse entities: {exc}") from exc
        elif str(parse_mode).lower() in {"markdown", "markdownv2"}:
            # Markdown is accepted but not interpreted: the text is kept as sent.
            text, parsed = strip_text(text=raw, entities=[])
        else:
            raise bad_request(f'unsupported parse_mode "{parse_mode}"')
        ensure(bool(text) or allow_empty, bad_request("message text is empty"))
        ensure(utf16_len(text) <= MAX_TEXT_UTF16, bad_request("message is too long"))
        return text, tuple(parsed)

    def _thread_id(self, params: dict[str, Any]) -> int | None:
        thread = params.get("message_thread_id")
        return thread if isinstance(thread, int) and not isinstance(thread, bool) else None

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.world.resolve_chat(params.get("chat_id"))
        text, entities = self._formatted(params)
        reply_to = self._reply_to(chat_id=chat["id"], params=params)
        self._admit("sendMessage", chat["id"])
        markup = checked_markup(params.get("reply_markup"))
        sent = SentMessage(
            chat_id=chat["id"],
            message_id=self.world.next_message_id(chat["id"]),
            text=text,
            parse_mode=params.get("parse_mode"),
            entities=entities,
            message_thread_id=self._thread_id(params),
            reply_to=reply_to,
            reply_markup=markup,
            date=self.world.now(),
            source_text=params["text"],
        )
        self.world.sent[(sent.chat_id, sent.message_id)] = sent
        return self.world.render(sent)

    def _reply_to(self, *, chat_id: int, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            target, lenient = reply.get("message_id"), reply.get("allow_sending_without_reply")
        else:
            target = params.get("reply_to_message_id")
            lenient = params.get("allow_sending_without_reply")
        if not isinstance(target, int) or isinstance(target, bool):
            return None
        if self.world.message_exists(chat_id=chat_id, message_id=target):
            return target
        ensure(lenient is True, bad_request("message to be replied not found"))
        return None

    def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        ensure("inline_message_id" not in params, bad_request("MESSAGE_ID_INVALID"))
        chat = self.world.resolve_chat(params.get("chat_id"))
        current = self.world.require_sent(
            chat_id=chat["id"],
            message_id=params.get("message_id"),
            missing="message to edit not found",
        )
        try:
            text, entities = self._formatted(params)
        except ApiError as exc:
            if exc.description == "Bad Request: message is too long":
                raise bad_request("MESSAGE_TOO_LONG") from exc
            raise
        # Without reply_markup the edit drops the inline keyboard, as Telegram's does.
        markup = checked_markup(params.get("reply_markup"))
        unchanged = (
            text == current.text and entities == current.entities and markup == current.reply_markup
        )
        ensure(not unchanged, bad_request(NOT_MODIFIED))
        self._admit("editMessageText", chat["id"])
        edited = dataclasses.replace(
            current,
            text=text,
            entities=entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            source_text=params["text"],
            history=(*current.history, current.text),
            edit_date=self.world.now(),
        )
        self.world.sent[(edited.chat_id, edited.message_id)] = edited
        return self.world.render(edited)

    def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API editMessageReplyMarkup: replaces the message's inline keyboard (none given:
        removes it) and returns the edited Message; the text and its edit date stay."""
        ensure("inline_message_id" not in params, bad_request("MESSAGE_ID_INVALID"))
        chat = self.world.resolve_chat(params.get("chat_id"))
        current = self.world.require_sent(
            chat_id=chat["id"],
            message_id=params.get("message_id"),
            missing="message to edit not found",
        )
        markup = checked_markup(params.get("reply_markup"))
        ensure(markup != current.reply_markup, bad_request(NOT_MODIFIED))
        self._admit("editMessageReplyMarkup", chat["id"])
        edited = dataclasses.replace(current, reply_markup=markup)
        self.world.sent[(edited.chat_id, edited.message_id)] = edited
        return self.world.render(edited)

    def send_message_draft(self, params: dict[str, Any]) -> bool:
        chat = self.world.resolve_chat(params.get("chat_id"))
        ensure(chat.get("type") == "private", bad_request("TEXTDRAFT_PEER_INVALID"))
        draft_id = params.get("draft_id")
        if not isinstance(draft_id, int) or isinstance(draft_id, bool) or draft_id == 0:
            raise bad_request("DRAFT_ID_INVALID")
        text, _ = self._formatted(params, allow_empty=True)
        self._admit("sendMessageDraft", chat["id"])
        self.drafts.append(
            DraftRecord(
                chat_id=chat["id"],
                draft_id=draft_id,
                text=text,
                parse_mode=params.get("parse_mode"),
                message_thread_id=self._thread_id(params),
                time=self.clock(),
            )
        )
        return True

    def send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self.world.resolve_chat(params.get("chat_id"))
        action = params.get("action")
        ensure(action in CHAT_ACTIONS, bad_request("wrong parameter action in request"))
        self._admit("sendChatAction", chat["id"])
        self.chat_actions.append(
            ChatActionRecord(
                chat_id=chat["id"],
                action=str(action),
                message_thread_id=self._thread_id(params),
                time=self.clock(),
            )
        )
        return True

    def set_message_reaction(self, params: dict[str, Any]) -> bool:
        chat = self.world.resolve_chat(params.get("chat_id"))
        message_id = params.get("message_id")
        if not (
            isinstance(message_id, int)
            and self.world.message_exists(chat_id=chat["id"], message_id=message_id)
        ):
            raise bad_request("MESSAGE_ID_INVALID")
        reaction = params.get("reaction") or []
        if not isinstance(reaction, list):
            raise bad_request("REACTION_INVALID")
        ensure(len(reaction) <= 1, bad_request("REACTIONS_TOO_MANY"))
        for item in reaction:
            valid = isinstance(item, dict) and (
                (item.get("type") == "emoji" and item.get("emoji") in REACTION_EMOJI)
                or (item.get("type") == "custom_emoji" and bool(item.get("custom_emoji_id")))
            )
            ensure(valid, bad_request("REACTION_INVALID"))
        self.reactions.append(
            ReactionRecord(
                chat_id=chat["id"],
                message_id=message_id,
                reaction=tuple(reaction),
                is_big=params.get("is_big") is True,
                time=self.clock(),
            )
        )
        return True

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope")
        scope_key = json.dumps(scope, sort_keys=True) if isinstance(scope, dict) else _DEFAULT_SCOPE
        return scope_key, str(params.get("language_code") or "")

    def set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        ensure(len(commands) <= 100, bad_request("too many commands specified"))
        cleaned: list[dict[str, str]] = []
        for item in commands:
            ensure(isinstance(item, dict), bad_request("BOT_COMMAND_INVALID"))
            name, description = item.get("command"), item.get("description")
            ensure(
                isinstance(name, str) and bool(_COMMAND_NAME.fullmatch(name)),
                bad_request("BOT_COMMAND_INVALID"),
            )
            ensure(
                isinstance(description, str) and 1 <= len(description) <= 256,
                bad_request("BOT_COMMAND_DESCRIPTION_INVALID"),
            )
            cleaned.append({"command": str(name), "description": str(description)})
        self.commands[self._scope_key(params)] = tuple(cleaned)
        return True

    def get_my_commands(self, params: dict[str, Any]) -> list[dict[str, str]]:
        return [dict(item) for item in self.commands.get(self._scope_key(params), ())]

    def delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    def delete_message(self, params: dict[str, Any]) -> bool:
        chat = self.world.resolve_chat(params.get("chat_id"))
        message_id = params.get("message_id")
        if not (
            isinstance(message_id, int)
            and self.world.message_exists(chat_id=chat["id"], message_id=message_id)
        ):
            raise bad_request("message to delete not found")
        key = (chat["id"], message_id)
        self.world.sent.pop(key, None)
        self.world.deleted.append(key)
        return True

    def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        """Bot API getFile: "The file can then be downloaded via the link
        https://api.telegram.org/file/bot<token>/<file_path> ... guaranteed to be valid for at
        least 1 hour"; bots can download files of up to 20 MB."""
        file_id = params.get("file_id")
        found = self.world.files.get(file_id) if isinstance(file_id, str) else None
        if found is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        path, data = found
        if len(data) > 20 * 1024 * 1024:
            raise bad_request("file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": "AgAD" + file_id[-8:],
            "file_size": len(data),
            "file_path": path,
        }

    def get_custom_emoji_stickers(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Stickers of the known custom emoji in `custom_emoji_ids`; unknown ids are skipped."""
        ids = params.get("custom_emoji_ids")
        ensure(isinstance(ids, list), bad_request('parameter "custom_emoji_ids" is required'))
        ensure(len(ids) <= 200, bad_request("too many custom emoji identifiers specified"))
        return [
            {
                "file_id": f"CAACAgIAAx0custom{emoji_id}",
                "file_unique_id": f"AgADcustom{emoji_id}",
                "type": "custom_emoji",
                "width": 100,
                "height": 100,
                "is_animated": False,
                "is_video": False,
                "emoji": self.custom_emoji[str(emoji_id)],
                "custom_emoji_id": str(emoji_id),
            }
            for emoji_id in ids
            if str(emoji_id) in self.custom_emoji
        ]
