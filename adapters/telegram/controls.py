"""The Stop button on a streaming answer, and the 👎 "Tell us why" force-reply prompt.

Bot API: the Stop button is an inline keyboard (https://core.telegram.org/bots/api#inlinekeyboardmarkup)
sent with the answer's post and edits; editMessageText without ``reply_markup`` takes it
away, so the final edit removes it at no extra cost. The prompt is a message with
``ForceReply`` (https://core.telegram.org/bots/api#forcereply): with ``selective`` only the
users @mentioned in its text see the reply box, so it mentions the presser; their reply
(a message whose ``reply_to_message`` is the prompt) is the reason, never a question.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReactionTypeEmoji,
    ReplyParameters,
)
from telegram import User as TgUser
from telegram.constants import ParseMode

from knowrithm_bots.adapters.telegram.errors import translated
from knowrithm_bots.adapters.telegram.threads import MessageRef, ThreadKey
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.errors import PlatformError

log = logging.getLogger(__name__)

STOP = "answer:stop"
STOP_KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("⏹ Stop", callback_data=STOP)]])
ASK_WHY = "tell us why (reply to this message)"
# As on Slack and Discord, whose reason boxes hold this much.
MAX_REASON = 1000
# The reason box shows 64 characters at most.
_PLACEHOLDER = "What was wrong with the answer?"
# Prompts still waiting for their reason; older ones are forgotten (a reply then is a question).
_REMEMBERED_PROMPTS = 2_000


@dataclass(frozen=True, kw_only=True)
class Asked:
    """A prompt waiting for ``user_id``'s reason about ``answer`` in ``thread``."""

    answer: MessageRef
    thread: str
    user_id: int


class ReasonPrompts:
    """Sends "Tell us why" prompts and recognises the replies to them."""

    def __init__(self, *, bot: Bot, secret: str) -> None:
        self._bot = bot
        self._secret = secret
        self._waiting: Lru[tuple[int, int], Asked] = Lru(size=_REMEMBERED_PROMPTS)

    async def ask(self, *, thread: str, answer: MessageRef, user: TgUser) -> None:
        """Ask ``user`` why they rated ``answer`` 👎, quoting it."""
        key = ThreadKey.decode(thread)
        # A text mention works for people without a username too, and makes them the one
        # the selective force-reply is for.
        who = f'<a href="tg://user?id={user.id}">{html.escape(user.full_name or "you")}</a>'
        text = f"{who}, {ASK_WHY}"
        with translated(action="asking why an answer was rated 👎", secret=self._secret):
            prompt = await self._bot.send_message(
                chat_id=answer.chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                message_thread_id=key.topic_id,
                reply_parameters=ReplyParameters(
                    message_id=answer.message_id, allow_sending_without_reply=True
                ),
                reply_markup=ForceReply(selective=True, input_field_placeholder=_PLACEHOLDER),
            )
        self._waiting.put(
            (answer.chat_id, prompt.message_id),
            value=Asked(answer=answer, thread=thread, user_id=user.id),
        )

    def reason(self, message: Message) -> tuple[Asked, str] | None:
        """The prompt ``message`` answers and the reason it gives; None when it is not the
        asked person's reply to a waiting prompt (it is then an ordinary message)."""
        replied = message.reply_to_message
        user = message.from_user
        text = (message.text or message.caption or "").strip()
        if replied is None or user is None or not text:
            return None
        key = (message.chat.id, replied.message_id)
        asked = self._waiting.get(key)
        if asked is None or asked.user_id != user.id:
            return None
        self._waiting.pop(key)
        return asked, text[:MAX_REASON]

    async def thank(self, message: Message) -> None:
        """Acknowledge a reason with a reaction on it: nothing more is posted in the chat."""
        try:
            with translated(action="thanking for a reason", secret=self._secret):
                await self._bot.set_message_reaction(
                    chat_id=message.chat.id,
                    message_id=message.message_id,
                    reaction=[ReactionTypeEmoji("👍")],
                )
        except PlatformError as exc:
            log.warning("%s", exc)
