"""The Telegram adapter: python-telegram-bot in, the core's events out, answers back."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from knowrithm_bots.adapters.telegram.commands import MENU
from knowrithm_bots.adapters.telegram.config import TelegramConfig, load_config
from knowrithm_bots.adapters.telegram.custom_emoji import CustomEmojiNames
from knowrithm_bots.adapters.telegram.errors import translate
from knowrithm_bots.adapters.telegram.inbound import Deliver, Ignore, Notice, Translator
from knowrithm_bots.adapters.telegram.native_stream import DraftStream
from knowrithm_bots.adapters.telegram.outbound import Sender
from knowrithm_bots.adapters.telegram.redact import redaction_scope
from knowrithm_bots.adapters.telegram.render import measure
from knowrithm_bots.adapters.telegram.reply_targets import ReplyTargets
from knowrithm_bots.adapters.telegram.threads import MessageRef, ThreadKey
from knowrithm_bots.core.adapter import (
    Adapter,
    Budget,
    Capabilities,
    EventSink,
    Limits,
    NativeStream,
    Posted,
)
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.errors import MessageNotFound, PlatformError
from knowrithm_bots.core.streaming import Layout

log = logging.getLogger(__name__)

MAX_MESSAGE_UTF16 = 4096
# message_reaction is only delivered when asked for by name.
ALLOWED_UPDATES = ("message", "edited_message", "message_reaction")
# Recent update ids, so a webhook retry is not delivered twice within one process.
_SEEN_UPDATES = 4096
# Which thread each bot message was posted in, for reactions to it.
_REMEMBERED_MESSAGES = 10_000

TelegramApp = Application[Any, Any, Any, Any, Any, Any]

_RETRY_AFTER_WARNING = r".*`retry_after` will be of type"


def _silence_retry_after_warning() -> None:
    """Ignore PTB's warning about RetryAfter's future type, once per process.

    PTB warns on every RetryAfter it builds; the adapter reads both types, so the warning
    is only noise in the operator's log. Added only when absent, so a restart neither adds
    a second copy nor moves it ahead of filters the operator set since.
    """
    for action, message, category, _module, _line in warnings.filters:
        if (
            action == "ignore"
            and category is PTBDeprecationWarning
            and message is not None
            and message.pattern == _RETRY_AFTER_WARNING
        ):
            return
    warnings.filterwarnings("ignore", message=_RETRY_AFTER_WARNING, category=PTBDeprecationWarning)


class TelegramAdapter(Adapter):
    """A Telegram bot (polling or webhook) that answers in private chats, groups and topics.

    Private chats stream the answer as a message draft and then send it as one message;
    groups get a reply that grows by edits. See the package docstring for the behaviour
    users see.
    """

    name: ClassVar[str] = "telegram"
    limits: ClassVar[Limits] = Limits(
        max_message_length=MAX_MESSAGE_UTF16,
        # No per-message limit is known: the budgets pace every call, and a per-message
        # wait would only hold back a final text.
        edit_interval=0.0,
        # Telegram publishes none of these; they are the commonly observed safe pace, and
        # a 429 slows the engine down further.
        budgets=(
            Budget(scope="chat", rate=1.0, per=1.0, burst=3),
            Budget(scope="group", rate=20.0, per=60.0, burst=5),
            Budget(scope="bot", rate=30.0, per=1.0, burst=30, shared_backoff=False),
        ),
    )
    capabilities: ClassVar[Capabilities] = Capabilities(
        edit=True, reactions=True, typing=True, native_stream=True, delete=True
    )

    def __init__(self, *, config: TelegramConfig) -> None:
        self._config = config
        self._secret = config.token.get_secret_value()
        webhook_secret = config.webhook_secret
        self._redaction = redaction_scope(
            token=self._secret,
            others=() if webhook_secret is None else (webhook_secret.get_secret_value(),),
        )
        self._app: TelegramApp | None = None
        self._sink: EventSink | None = None
        self._translator: Translator | None = None
        self._sender: Sender | None = None
        self._custom_emoji: CustomEmojiNames | None = None
        self._bot_id: int | None = None
        self._targets = ReplyTargets()
        self._posted: Lru[str, str] = Lru(size=_REMEMBERED_MESSAGES)
        self._seen: Lru[int, bool] = Lru(size=_SEEN_UPDATES)

    @classmethod
    def from_config(cls, *, config: Mapping[str, Any]) -> TelegramAdapter:
        return cls(config=load_config(config))

    @property
    def config(self) -> TelegramConfig:
        return self._config

    @property
    def bot_id(self) -> int:
        """The bot's Telegram user id (known once started)."""
        if self._bot_id is None:
            raise PlatformError("the Telegram adapter is not started")
        return self._bot_id

    # --- lifecycle -----------------------------------------------------------------------

    def _build(self) -> TelegramApp:
        app: TelegramApp = (
            ApplicationBuilder()
            .token(self._secret)
            .base_url(self._config.bot_api_url)
            .base_file_url(self._config.bot_file_url)
            .concurrent_updates(False)
            .job_queue(None)
            .build()
        )
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        return app

    async def start(self, *, sink: EventSink) -> None:
        if self._app is not None:
            return
        self._redaction.install()
        _silence_retry_after_warning()
        app = self._build()
        try:
            await app.initialize()
        except TelegramError as exc:
            await app.bot.shutdown()
            self._redaction.remove()
            raise translate(exc, secret=self._secret) from None
        self._app, self._sink = app, sink
        try:
            await self._connect(app)
        except BaseException:
            await self.stop()
            raise

    async def _connect(self, app: TelegramApp) -> None:
        bot = app.bot
        self._bot_id = bot.id
        self._sender = Sender(bot=bot, formatting=self._config.formatting, secret=self._secret)
        self._custom_emoji = CustomEmojiNames(bot=bot)
        self._translator = Translator(
            bot_id=bot.id,
            username=bot.username,
            config=self._config,
            thread_of=lambda ref: self._posted.get(ref.encode()),
        )
        try:
            await bot.set_my_commands(MENU)
        except TelegramError as exc:
            log.warning(
                "could not register the command menu: %s", translate(exc, secret=self._secret)
            )
        updater = app.updater
        assert updater is not None
        try:
            if self._config.mode == "polling":
                await updater.start_polling(
                    timeout=self._config.poll_timeout,
                    allowed_updates=list(ALLOWED_UPDATES),
                    error_callback=self._on_poll_error,
                )
            else:
                secret = self._config.webhook_secret
                assert secret is not None
                await updater.start_webhook(
                    listen=self._config.webhook_listen,
                    port=self._config.webhook_port,
                    url_path=self._config.webhook_path,
                    webhook_url=self._config.webhook_url,
                    secret_token=secret.get_secret_value(),
                    allowed_updates=list(ALLOWED_UPDATES),
                )
        except TelegramError as exc:
            raise translate(exc, secret=self._secret) from None
        except OSError as exc:
            raise PlatformError(
                f"cannot listen for webhooks on {self._config.webhook_listen}:"
                f"{self._config.webhook_port}: {exc.strerror or exc}"
            ) from None
        await app.start()
        log.info("Telegram bot @%s is running (%s)", bot.username, self._config.mode)

    async def stop(self) -> None:
        app, self._app = self._app, None
        if app is None:
            return
        self._sender = None  # later calls fail as "not started", not inside the library
        try:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
        except TelegramError as exc:
            log.warning(
                "Telegram did not shut down cleanly: %s", translate(exc, secret=self._secret)
            )
        finally:
            self._redaction.remove()

    # --- inbound -------------------------------------------------------------------------

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        sink, translator = self._sink, self._translator
        if sink is None or translator is None or update.update_id in self._seen:
            return
        self._seen.put(update.update_id, value=True)
        if update.message_reaction is not None:
            reactions = translator.reactions(update)
            if self._custom_emoji is not None:
                reactions = await self._custom_emoji.resolve(reactions)
            for reaction in reactions:
                await sink.on_reaction(reaction)
            return
        decision = translator.message(update)
        if isinstance(decision, Deliver):
            if decision.reply_to is not None:
                self._targets.delivered(thread=decision.event.thread, message_id=decision.reply_to)
            await sink.on_message(decision.event)
        elif isinstance(decision, Notice):
            await self._notice(decision)
        elif isinstance(decision, Ignore):
            log.debug("update %s ignored: %s", update.update_id, decision.reason)

    async def _notice(self, notice: Notice) -> None:
        assert self._sender is not None
        try:
            await self._sender.send(
                chat_id=notice.chat_id,
                topic_id=notice.topic_id,
                reply_to=notice.reply_to,
                markdown=notice.text,
            )
        except PlatformError as exc:
            log.warning("could not post a notice in chat %s: %s", notice.chat_id, exc)

    async def _on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The redaction scope covers this logger: a token in the error is hidden.
        error = context.error
        log.error("handling a Telegram update failed: %s: %s", type(error).__name__, error)

    def _on_poll_error(self, error: TelegramError) -> None:
        log.warning("polling Telegram failed: %s", translate(error, secret=self._secret))

    # --- outbound ------------------------------------------------------------------------

    def _key(self, thread: str) -> ThreadKey:
        try:
            key = ThreadKey.decode(thread)
        except ValueError as exc:
            raise PlatformError(str(exc)) from None
        if key.bot_id != self._bot_id:
            raise PlatformError(f"thread {thread} belongs to another Telegram bot")
        return key

    def _sending(self) -> Sender:
        if self._sender is None:
            raise PlatformError("the Telegram adapter is not started")
        return self._sender

    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        key = self._key(thread)
        sender = self._sending()
        quote = None if key.is_private else self._targets.quote_for_post(thread=thread)
        message_id = await sender.send(
            chat_id=key.chat_id, topic_id=key.topic_id, reply_to=quote, markdown=text
        )
        ref = MessageRef(key.bot_id, key.chat_id, message_id).encode()
        self._posted.put(ref, value=thread)
        return Posted(id=ref)

    def _ref(self, key: ThreadKey, message_id: str) -> MessageRef:
        try:
            ref = MessageRef.decode(message_id)
        except ValueError as exc:
            raise MessageNotFound(str(exc)) from None
        if (ref.bot_id, ref.chat_id) != (key.bot_id, key.chat_id):
            raise MessageNotFound(f"message {message_id} is not in this thread")
        return ref

    async def edit(self, *, thread: str, message_id: str, text: str) -> None:
        key = self._key(thread)
        ref = self._ref(key, message_id)
        await self._sending().edit(chat_id=ref.chat_id, message_id=ref.message_id, markdown=text)

    async def delete(self, *, thread: str, message_id: str) -> None:
        key = self._key(thread)
        ref = self._ref(key, message_id)
        assert self._app is not None
        try:
            await self._app.bot.delete_message(chat_id=ref.chat_id, message_id=ref.message_id)
        except TelegramError as exc:
            if "not found" in exc.message.lower():
                return  # already gone: the goal is reached
            raise translate(exc, secret=self._secret) from None

    async def typing(self, *, thread: str) -> None:
        key = self._key(thread)
        await self._sending().typing(chat_id=key.chat_id, topic_id=key.topic_id)

    async def reply_done(self, *, thread: str, message_ids: Sequence[str]) -> None:
        self._targets.done(thread=thread)

    async def open_native_stream(self, *, thread: str) -> NativeStream | None:
        key = self._key(thread)
        if not (self._config.stream_drafts and key.is_private):
            return None  # drafts exist only in private chats
        return DraftStream(
            sender=self._sending(),
            chat_id=key.chat_id,
            topic_id=key.topic_id,
            layout=Layout(limit=self.limits.max_message_length, measure=self.measure),
        )

    def measure(self, text: str) -> int:
        return measure(text, formatting=self._config.formatting)

    def budget_keys(self, *, thread: str) -> Mapping[str, str]:
        try:
            key = ThreadKey.decode(thread)
        except ValueError:
            return super().budget_keys(thread=thread)  # post() then names the garbled key
        chat = f"{key.bot_id}:{key.chat_id}"
        keys = {"thread": thread, "chat": chat, "bot": str(key.bot_id)}
        if not key.is_private:
            keys["group"] = chat  # the per-group minute budget does not apply to people
        return keys
