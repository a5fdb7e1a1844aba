"""Rating buttons under answers: the inline keyboard, and its clicks turned into reactions.

Bot API (https://core.telegram.org/bots/api#inlinekeyboardmarkup): an inline keyboard rides
on the message; a press on a callback button arrives as a ``callback_query`` update, which
Telegram delivers in groups whatever the bot's rights (unlike ``message_reaction``). The
press must be answered with ``answerCallbackQuery`` (the client shows a progress bar until
then), and the answer's text is shown to the presser alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import (
    Bot,
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    Update,
)
from telegram.error import TelegramError

from knowrithm_bots.adapters.telegram.controls import (
    STOP,
    Asked,
    ReasonPrompts,
)
from knowrithm_bots.adapters.telegram.errors import is_not_modified, translated
from knowrithm_bots.adapters.telegram.inbound import Translator
from knowrithm_bots.adapters.telegram.threads import PREFIX, MessageRef, ThreadKey
from knowrithm_bots.core.adapter import EventSink
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.events import Origin, Reaction
from knowrithm_bots.core.thread_queue import Job
from knowrithm_bots.core.user_messages import NOTHING_OF_YOURS_TO_STOP, STOP_CLICK_TOO_LATE, STOPPED

log = logging.getLogger(__name__)

# callback_data is 1-64 bytes and comes back verbatim. It names only the verdict: the message
# is the one the keyboard is on (the query carries it), so a forged press can only rate a
# message its sender can see, as a reaction could.
UP, DOWN = "rate:up", "rate:down"
EMOJI = {UP: "👍", DOWN: "👎"}
KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton("👍", callback_data=UP), InlineKeyboardButton("👎", callback_data=DOWN)]]
)
# answerCallbackQuery text: 0-200 characters.
_MAX_ANSWER = 200


def thanks(emoji: str) -> str:
    return f"Thanks, rated {emoji}"


class FeedbackButtons:
    """Adds the keyboard to an answer, and hands its presses to the sink as reactions."""

    def __init__(
        self,
        *,
        bot: Bot,
        secret: str,
        translator: Translator,
        thread_of: Callable[[MessageRef], str | None],
        not_allowed: str | None,
        prompts: ReasonPrompts | None = None,
    ) -> None:
        self._prompts = prompts
        self._bot = bot
        self._secret = secret
        self._translator = translator
        self._thread_of = thread_of
        self._not_allowed = not_allowed

    async def offer(self, *, chat_id: int, message_id: int) -> None:
        """Put the 👍/👎 keyboard on a message; one already showing it is success."""
        with translated(action="adding rating buttons", secret=self._secret):
            try:
                await self._bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=message_id, reply_markup=KEYBOARD
                )
            except TelegramError as exc:
                if not is_not_modified(exc):
                    raise

    def handover(self, update: Update, *, sink: EventSink) -> tuple[str, Job] | None:
        """The thread a press belongs to and the job that rates and answers it; None when the
        update is no press on a rating button (then it is answered at once)."""
        query = update.callback_query
        if query is None:
            return None
        verdict = EMOJI.get(query.data or "")
        message = query.message
        if message is None:
            # A button on an inline-mode message: none of ours. Stop the progress bar.
            return f"{PREFIX}-callback:{query.id}", lambda: self._answer(query, None)
        chat = message.chat
        user = query.from_user
        ref = MessageRef(bot_id=self._bot.id, chat_id=chat.id, message_id=message.message_id)
        thread = self._thread_of(ref) or _thread(self._bot.id, message).encode()
        if (verdict is None and query.data != STOP) or user.is_bot:
            return thread, lambda: self._answer(query, None)  # not a button of ours
        if not self._translator.allowed(chat_id=chat.id, user_id=user.id):
            return thread, lambda: self._answer(query, self._not_allowed)
        if verdict is None:
            owner = ThreadKey.decode(thread).user_id
            if owner is not None and owner != user.id:
                # A conversation per person: one person does not stop another's answer.
                return thread, lambda: self._answer(query, NOTHING_OF_YOURS_TO_STOP)

            async def stop() -> None:
                stopped = await sink.on_stop(
                    thread=thread, by=self._translator.author_of(user), message_id=ref.encode()
                )
                await self._answer(query, STOPPED if stopped else STOP_CLICK_TOO_LATE)

            return thread, stop
        reaction = Reaction(
            thread=thread,
            # A webhook retry or a re-fetched poll carries the same query id: one rating.
            event_id=f"{self._bot.id}:callback:{query.id}",
            message_id=ref.encode(),
            emoji=verdict,
            added=True,
            author=self._translator.author_of(user),
            origin=_origin(self._bot.id, chat, ThreadKey.decode(thread)),
        )

        async def rate() -> None:
            await sink.on_reaction(reaction)
            await self._answer(query, thanks(verdict))
            if verdict == EMOJI[DOWN] and self._prompts is not None:
                try:
                    await self._prompts.ask(thread=thread, answer=ref, user=user)
                except PlatformError as exc:
                    log.warning("%s", exc)  # the 👎 stands without its reason

        return thread, rate

    def reason_event(self, message: Message, *, asked: Asked, text: str) -> Reaction:
        """The 👎 again, now with ``text`` as its feedback, from the reply to a prompt."""
        user = message.from_user
        assert user is not None  # ReasonPrompts.reason only matches replies from a person
        return Reaction(
            thread=asked.thread,
            event_id=f"{self._bot.id}:reason:{message.chat.id}:{message.message_id}",
            message_id=asked.answer.encode(),
            emoji=EMOJI[DOWN],
            added=True,
            author=self._translator.author_of(user),
            origin=_origin(self._bot.id, message.chat, ThreadKey.decode(asked.thread)),
            feedback=text,
        )

    async def _answer(self, query: CallbackQuery, text: str | None) -> None:
        try:
            with translated(action="answering a button press", secret=self._secret):
                await query.answer(text=None if text is None else text[:_MAX_ANSWER])
        except PlatformError as exc:
            # The rating stands; the presser only misses the note (a query expires in
            # seconds, so a late answer is refused).
            log.warning("%s", exc)


def _thread(bot_id: int, message: MaybeInaccessibleMessage) -> ThreadKey:
    """The thread of a message the bot no longer remembers posting, from the message itself."""
    topic = None
    if isinstance(message, Message) and message.chat.is_forum and message.is_topic_message:
        topic = message.message_thread_id
    return ThreadKey(bot_id=bot_id, chat_id=message.chat.id, topic_id=topic)


def _origin(bot_id: int, chat: Chat, key: ThreadKey) -> Origin:
    if chat.type == Chat.PRIVATE:
        name = f"@{chat.username}" if chat.username else (chat.full_name or str(chat.id))
    else:
        name = chat.title or str(chat.id)
    return Origin(
        adapter=PREFIX,
        channel_id=str(chat.id),
        workspace_id=str(bot_id),
        thread_id=None if key.topic_id is None else str(key.topic_id),
        channel_name=name,
        is_direct=chat.type == Chat.PRIVATE,
    )
