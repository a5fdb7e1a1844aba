"""Bot API calls that show text: send, edit, draft and typing, with the plain-text retry."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.error import TelegramError

from knowrithm_bots.adapters.telegram.errors import is_not_modified, translated
from knowrithm_bots.adapters.telegram.render import Formatting, Rendered, plain, render
from knowrithm_bots.core.errors import MarkupRejected, MessageNotFound

log = logging.getLogger(__name__)

T = TypeVar("T")


class Sender:
    """Performs outbound calls for the adapter and raises only ``core.errors`` types."""

    def __init__(self, *, bot: Bot, formatting: Formatting, secret: str) -> None:
        self._bot = bot
        self._formatting = formatting
        self._secret = secret

    async def _formatted(
        self,
        markdown: str,
        call: Callable[[Rendered], Awaitable[T]],
        *,
        action: str,
        native_stream: bool = False,
    ) -> T:
        """Run ``call`` with the formatted text, and once more as plain text if Telegram
        cannot parse the formatting (the words matter more than the styling)."""
        rendered = render(markdown, formatting=self._formatting)
        try:
            with translated(action=action, secret=self._secret, native_stream=native_stream):
                return await call(rendered)
        except MarkupRejected as exc:
            if rendered.parse_mode is None:
                raise
            log.info("%s; sending plain text", exc)
        with translated(action=action, secret=self._secret, native_stream=native_stream):
            return await call(plain(markdown))

    async def send(
        self,
        *,
        chat_id: int,
        topic_id: int | None,
        reply_to: int | None,
        markdown: str,
        keyboard: InlineKeyboardMarkup | None = None,
    ) -> int:
        """Post a new message, quoting message ``reply_to`` if it still exists, with
        ``keyboard`` under it; its id."""
        reply = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )

        async def call(rendered: Rendered) -> Message:
            return await self._bot.send_message(
                chat_id=chat_id,
                text=rendered.text,
                parse_mode=rendered.parse_mode,
                message_thread_id=topic_id,
                reply_parameters=reply,
                reply_markup=keyboard,
            )

        message = await self._formatted(markdown, call, action="posting a message")
        return message.message_id

    async def edit(
        self,
        *,
        chat_id: int,
        message_id: int,
        markdown: str,
        keyboard: InlineKeyboardMarkup | None = None,
    ) -> None:
        """Replace a message's text and keyboard (none: the keyboard it had goes, as
        editMessageText without reply_markup does); an unchanged message is success."""

        async def call(rendered: Rendered) -> None:
            try:
                await self._bot.edit_message_text(
                    text=rendered.text,
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=rendered.parse_mode,
                    reply_markup=keyboard,
                )
            except TelegramError as exc:
                # Not a failure: the message already shows this text.
                if not is_not_modified(exc):
                    raise

        await self._formatted(markdown, call, action="editing a message")

    async def draft(
        self, *, chat_id: int, topic_id: int | None, draft_id: int, markdown: str
    ) -> None:
        """Show ``markdown`` as the chat's animated draft (private chats only).

        A refusal raises ``NativeStreamUnavailable``, so the engine posts instead.
        """

        async def call(rendered: Rendered) -> None:
            await self._bot.send_message_draft(
                chat_id=chat_id,
                draft_id=draft_id,
                text=rendered.text,
                message_thread_id=topic_id,
                parse_mode=rendered.parse_mode,
            )

        await self._formatted(markdown, call, action="showing the draft", native_stream=True)

    async def delete(self, *, chat_id: int, message_id: int) -> None:
        """Delete a message; one that is already gone is success."""
        try:
            with translated(action="deleting a message", secret=self._secret):
                await self._bot.delete_message(chat_id=chat_id, message_id=message_id)
        except MessageNotFound:
            return  # the goal is reached

    async def typing(self, *, chat_id: int, topic_id: int | None) -> None:
        with translated(action="showing that the bot is typing", secret=self._secret):
            await self._bot.send_chat_action(
                chat_id=chat_id, action="typing", message_thread_id=topic_id
            )
