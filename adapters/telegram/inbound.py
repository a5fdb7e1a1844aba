"""Turns Telegram updates into the core's events, deciding which messages are for the bot."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from telegram import Chat, Message, MessageEntity, MessageReactionUpdated, ReactionType, Update
from telegram import User as TgUser

from knowrithm_bots.adapters.telegram.attachments import FileRef, file_refs, replied_context
from knowrithm_bots.adapters.telegram.commands import OWN_COMMANDS, read_command
from knowrithm_bots.adapters.telegram.config import TelegramConfig
from knowrithm_bots.adapters.telegram.threads import PREFIX, MessageRef, ThreadKey
from knowrithm_bots.core.config.models import ContextSettings
from knowrithm_bots.core.events import Author, Inbound, Origin, Reaction


@dataclass(frozen=True, kw_only=True)
class Deliver:
    """Hand ``event`` to the bridge, once the ``files`` it carries are read."""

    event: Inbound
    files: tuple[FileRef, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Notice:
    """Answer with ``text`` in ``thread`` without involving the agent (``sink.on_notice``).

    ``reply_to`` is the message it answers, as ``Inbound.message_id`` names it.
    """

    thread: str
    text: str
    reply_to: str | None


@dataclass(frozen=True)
class Ignore:
    """Nothing to do; ``reason`` is for the debug log."""

    reason: str


Decision = Deliver | Notice | Ignore


def _utf16_bounds(data: bytes, offset: int, length: int) -> tuple[int, int]:
    """The byte range of an entity's (offset, length) in UTF-16-LE ``data``, kept inside it.

    Offsets come from the platform: a negative or overlong one must not slice from the end.
    """
    start = min(max(offset, 0) * 2, len(data))
    return start, min(start + max(length, 0) * 2, len(data))


def _utf16_decode(data: bytes) -> str:
    # An entity edge inside a surrogate pair leaves half a character: show it as U+FFFD.
    return data.decode("utf-16-le", errors="replace")


def _utf16_cut(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` without the given (offset, length) spans, counted in UTF-16 code units.

    A space left doubled by the cut goes too: "ask @bot now" becomes "ask now".
    """
    data = text.encode("utf-16-le", errors="surrogatepass")
    for offset, length in sorted(spans, reverse=True):
        start, end = _utf16_bounds(data, offset, length)
        head, tail = data[:start], data[end:]
        if tail.startswith(b" \x00") and (not head or head.endswith(b" \x00")):
            tail = tail[2:]
        data = head + tail
    return _utf16_decode(data)


def _utf16_slice(text: str, entity: MessageEntity) -> str:
    data = text.encode("utf-16-le", errors="surrogatepass")
    start, end = _utf16_bounds(data, entity.offset, entity.length)
    return _utf16_decode(data[start:end])


def reaction_key(reaction: ReactionType) -> str | None:
    """The emoji a reaction stands for; custom emoji as ``custom_emoji:<id>``."""
    emoji = getattr(reaction, "emoji", None)
    if isinstance(emoji, str):
        return emoji
    custom = getattr(reaction, "custom_emoji_id", None)
    if isinstance(custom, str):
        return f"custom_emoji:{custom}"
    return None  # paid reactions carry no emoji


class Translator:
    """Decides, for one bot, what each update means.

    ``thread_of`` maps a message the bot posted to the thread key it was posted in (reaction
    updates do not say which forum topic the message is in).
    """

    def __init__(
        self,
        *,
        bot_id: int,
        username: str,
        config: TelegramConfig,
        thread_of: Callable[[MessageRef], str | None],
        context: ContextSettings | None = None,
    ) -> None:
        self._bot_id = bot_id
        self._username = username
        self._config = config
        self._thread_of = thread_of
        self._context = context or ContextSettings()

    # --- who and where ---------------------------------------------------------------------

    def allowed(self, *, chat_id: int, user_id: int) -> bool:
        chats, users = self._config.allowed_channels, self._config.allowed_users
        return (chats is None or chat_id in chats) and (users is None or user_id in users)

    def _author(self, message: Message) -> Author | None:
        sender_chat = message.sender_chat
        if sender_chat is not None:
            # An anonymous group admin or a channel writing in the group: the chat speaks.
            return Author(id=str(sender_chat.id), display_name=sender_chat.title or "")
        if message.from_user is None:
            return None
        return self.author_of(message.from_user)

    def author_of(self, user: TgUser) -> Author:
        staff = self._config.staff_users
        return Author(
            id=str(user.id),
            display_name=user.full_name or (f"@{user.username}" if user.username else ""),
            is_bot=user.is_bot,
            external=staff is not None and user.id not in staff,
            # No email: Telegram never shows one, and a username can change hands.
            first_name=user.first_name or None,
            last_name=user.last_name or None,
        )

    def _thread(self, message: Message, author: Author) -> ThreadKey:
        chat = message.chat
        topic = (
            message.message_thread_id
            if chat.is_forum and message.is_topic_message and message.message_thread_id
            else None
        )
        # The author's id is a chat's when an anonymous admin or a channel writes: that chat
        # then has a conversation of its own, like a person.
        own = chat.type != Chat.PRIVATE and self._config.per_user(topic=topic is not None)
        return ThreadKey(
            bot_id=self._bot_id,
            chat_id=chat.id,
            topic_id=topic,
            user_id=int(author.id) if own else None,
        )

    def _origin(self, chat: Chat, key: ThreadKey) -> Origin:
        if chat.type == Chat.PRIVATE:
            name = f"@{chat.username}" if chat.username else (chat.full_name or str(chat.id))
        else:
            name = chat.title or str(chat.id)
        return Origin(
            adapter=PREFIX,
            channel_id=str(chat.id),
            workspace_id=str(self._bot_id),
            thread_id=None if key.topic_id is None else str(key.topic_id),
            channel_name=name,
            is_direct=chat.type == Chat.PRIVATE,
        )

    # --- addressing ------------------------------------------------------------------------

    def _mentions(self, text: str, entities: Sequence[MessageEntity]) -> list[MessageEntity]:
        """The entities that mention this bot."""
        wanted = f"@{self._username}".lower()
        found = []
        for entity in entities:
            by_name = (
                entity.type == MessageEntity.MENTION
                and _utf16_slice(text, entity).lower() == wanted
            )
            by_id = (
                entity.type == MessageEntity.TEXT_MENTION
                and entity.user is not None
                and entity.user.id == self._bot_id
            )
            if by_name or by_id:
                found.append(entity)
        return found

    def _replies_to_bot(self, message: Message) -> bool:
        replied = message.reply_to_message
        # In forums every message replies to the topic's creation message: not to the bot.
        return (
            replied is not None
            and replied.forum_topic_created is None
            and replied.from_user is not None
            and replied.from_user.id == self._bot_id
        )

    # --- updates ---------------------------------------------------------------------------

    def message(self, update: Update) -> Decision:
        """What to do with a ``message`` or ``edited_message`` update."""
        edited = update.edited_message is not None
        message = update.edited_message or update.message
        if message is None:
            return Ignore("not a message")
        if message.is_automatic_forward:
            return Ignore("a channel post forwarded into its discussion group")
        if _is_service(message):
            return Ignore("a service message")
        author = self._author(message)
        if author is None:
            return Ignore("no sender")
        if author.id == str(self._bot_id):
            return Ignore("the bot's own message")
        if author.is_bot:
            return Ignore("another bot's message")
        chat = message.chat
        private = chat.type == Chat.PRIVATE
        text = message.text if message.text is not None else (message.caption or "")
        entities = message.entities if message.text is not None else message.caption_entities
        command = read_command(text, username=self._username)
        if command is not None and command.for_us is False:
            return Ignore("a command for another bot")
        mentions = self._mentions(text, entities)
        refs = tuple(file_refs(message))
        addressed = (
            private
            or bool(mentions)
            or self._replies_to_bot(message)
            or (command is not None and (command.for_us or command.name in OWN_COMMANDS))
            or (self._config.group_mode == "all" and (bool(text.strip()) or bool(refs)))
        )
        if not addressed:
            return Ignore("a group message not addressed to the bot")
        key = self._thread(message, author)
        thread = key.encode()
        ref = MessageRef(bot_id=self._bot_id, chat_id=chat.id, message_id=message.message_id)
        if not self.allowed(chat_id=chat.id, user_id=int(author.id)):
            notice = self._config.not_allowed_notice
            if notice is None:
                return Ignore("a chat or user not on the allow list")
            return Notice(thread=thread, text=notice, reply_to=ref.encode())
        if edited:
            notice = self._config.edited_notice
            if not private or notice is None:
                return Ignore("an edited message")
            return Notice(thread=thread, text=notice, reply_to=ref.encode())
        if command is not None:
            text = command.text
        elif mentions:
            text = _utf16_cut(text, [(m.offset, m.length) for m in mentions])
        event = Inbound(
            thread=thread,
            event_id=f"{self._bot_id}:{update.update_id}",
            text=text.strip(),
            author=author,
            origin=self._origin(chat, key),
            message_id=ref.encode(),
            context=(
                replied_context(message, bot_id=self._bot_id, clean=self.words)
                if self._context.enabled
                else ()
            ),
        )
        return Deliver(event=event, files=refs)

    def words(self, message: Message) -> str:
        """A message's text or caption without its mentions of this bot."""
        text = message.text if message.text is not None else (message.caption or "")
        entities = message.entities if message.text is not None else message.caption_entities
        mentions = self._mentions(text, entities)
        if mentions:
            text = _utf16_cut(text, [(m.offset, m.length) for m in mentions])
        return text.strip()

    def reactions(self, update: Update) -> list[Reaction]:
        """The removals then additions a ``message_reaction`` update holds (👍→👎 is both)."""
        changed: MessageReactionUpdated | None = update.message_reaction
        if changed is None or changed.user is None or changed.user.is_bot:
            return []  # anonymous reactions cannot be attributed to a person
        chat, user = changed.chat, changed.user
        if not self.allowed(chat_id=chat.id, user_id=user.id):
            return []
        ref = MessageRef(bot_id=self._bot_id, chat_id=chat.id, message_id=changed.message_id)
        key = ThreadKey(bot_id=self._bot_id, chat_id=chat.id)
        thread = self._thread_of(ref) or key.encode()
        old = [k for k in map(reaction_key, changed.old_reaction) if k is not None]
        new = [k for k in map(reaction_key, changed.new_reaction) if k is not None]
        author = self.author_of(user)
        origin = self._origin(chat, ThreadKey.decode(thread))
        changes = [(emoji, False) for emoji in old if emoji not in new]
        changes += [(emoji, True) for emoji in new if emoji not in old]
        return [
            Reaction(
                thread=thread,
                event_id=f"{self._bot_id}:{update.update_id}:{'+' if added else '-'}{emoji}",
                message_id=ref.encode(),
                emoji=emoji,
                added=added,
                author=author,
                origin=origin,
            )
            for emoji, added in changes
        ]


_SERVICE_FIELDS = (
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "channel_chat_created",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "pinned_message",
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "general_forum_topic_hidden",
    "general_forum_topic_unhidden",
    "message_auto_delete_timer_changed",
    "video_chat_started",
    "video_chat_ended",
    "video_chat_scheduled",
    "video_chat_participants_invited",
    "write_access_allowed",
    "users_shared",
    "chat_shared",
    "boost_added",
)


def _is_service(message: Message) -> bool:
    """Membership changes, pins, topic events...: nothing anyone said to the bot."""
    return any(getattr(message, name, None) for name in _SERVICE_FIELDS)
