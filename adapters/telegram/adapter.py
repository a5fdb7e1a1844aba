"""The Telegram adapter: python-telegram-bot in, the core's events out, answers back."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from knowrithm_bots.adapters.telegram.commands import MENU
from knowrithm_bots.adapters.telegram.config import TelegramConfig
from knowrithm_bots.adapters.telegram.controls import STOP_KEYBOARD, ReasonPrompts
from knowrithm_bots.adapters.telegram.custom_emoji import CustomEmojiNames
from knowrithm_bots.adapters.telegram.dispatch import Dispatcher
from knowrithm_bots.adapters.telegram.errors import translate, translated
from knowrithm_bots.adapters.telegram.feedback import FeedbackButtons
from knowrithm_bots.adapters.telegram.inbound import Translator
from knowrithm_bots.adapters.telegram.native_stream import DraftStream
from knowrithm_bots.adapters.telegram.outbound import Sender
from knowrithm_bots.adapters.telegram.polling import ScreenedPolling
from knowrithm_bots.adapters.telegram.redact import redaction_scope
from knowrithm_bots.adapters.telegram.render import measure
from knowrithm_bots.adapters.telegram.threads import MessageRef, ThreadKey
from knowrithm_bots.adapters.telegram.webhook import WebhookListener
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
from knowrithm_bots.core.errors import (
    MessageNotFound,
    PlatformAuthError,
    PlatformError,
    PlatformUnavailable,
)
from knowrithm_bots.core.streaming import Layout

log = logging.getLogger(__name__)

MAX_MESSAGE_UTF16 = 4096
# message_reaction is only delivered when asked for by name; callback_query is a rating press.
ALLOWED_UPDATES = ("message", "edited_message", "message_reaction", "callback_query")
# Recent update ids, so a webhook retry is not delivered twice within one process.
_SEEN_UPDATES = 4096
# Which thread each bot message was posted in, for reactions to it.
_REMEMBERED_MESSAGES = 10_000
# Updates PTB runs at once; each only queues its events, so this bounds a burst, not work.
_CONCURRENT_UPDATES = 64
# Threads whose events are handed to the sink at once.
_CONCURRENT_THREADS = 64
# How long stop() keeps handing over updates already received before dropping them.
_HANDOVER_ON_STOP = 5.0
NOT_RUNNING = "the Telegram adapter is not running (not started yet, or stopped)"
TOKEN_REFUSED = (
    "Telegram rejected the bot token while polling for updates, so the bot cannot receive "
    "messages any more: check adapters.telegram.token"
)

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
    groups get a reply that grows by edits. docs/adapters/telegram.md describes what users
    see.
    """

    name: ClassVar[str] = "telegram"
    limits: ClassVar[Limits] = Limits(
        max_message_length=MAX_MESSAGE_UTF16,
        # No per-message limit is known: the budgets pace every call, and a per-message
        # wait would only hold back a final text.
        edit_interval=0.0,
        # Telegram publishes none of these; they are the commonly observed safe pace, and
        # a 429 slows the engine down further. They charge chat actions (typing) too:
        # Telegram answers those with "Flood control exceeded" as well (reported in
        # altryne/chatGPT-telegram-bot#52), and PTB's AIORateLimiter counts every request
        # that names a chat against the chat's and the group's limits.
        budgets=(
            Budget(scope="chat", rate=1.0, per=1.0, burst=3),
            Budget(scope="group", rate=20.0, per=60.0, burst=5),
            # ~30 messages per second per bot, counted over any one second: a token bucket
            # lets through its whole burst plus a second of its rate within one second, so
            # burst + rate must stay within 30 (30 + 30 let 60 through). Telegram counts the
            # calls as they arrive, and under load (200 answers starting at once) the calls
            # of one second arrive bunched: 8 + 22 met 4-10 429s there, 6 + 20 up to 3;
            # 4 + 20 leaves a margin of 6 calls for that.
            Budget(scope="bot", rate=20.0, per=1.0, burst=4, shared_backoff=False),
        ),
        # core.telegram.org/bots/api#sendchataction: "The status is set for 5 seconds or less".
        typing_shows_for=5.0,
    )
    capabilities: ClassVar[Capabilities] = Capabilities(
        edit=True, reactions=True, typing=True, native_stream=True, delete=True
    )
    config_model: ClassVar[type[TelegramConfig]] = TelegramConfig
    thread_codec: ClassVar[type[ThreadKey]] = ThreadKey

    def __init__(self, *, config: TelegramConfig) -> None:
        self._config = config
        self._secret = config.token.get_secret_value()
        webhook_secret = config.webhook_secret
        self._redaction = redaction_scope(
            token=self._secret,
            others=() if webhook_secret is None else (webhook_secret.get_secret_value(),),
        )
        self._app: TelegramApp | None = None
        self._dispatcher: Dispatcher | None = None
        self._sender: Sender | None = None
        self._buttons: FeedbackButtons | None = None
        self._bot_id: int | None = None
        self._posted: Lru[str, str] = Lru(size=_REMEMBERED_MESSAGES)
        self._seen: Lru[int, bool] = Lru(size=_SEEN_UPDATES)
        self._closed = asyncio.Event()
        self._failure: PlatformError | None = None
        self._listener: WebhookListener | None = None

    @classmethod
    def from_config(cls, *, config: Mapping[str, Any]) -> TelegramAdapter:
        return cls(config=cls.config_model.load(config, prefix=f"adapters.{cls.name}"))

    @property
    def config(self) -> TelegramConfig:
        return self._config

    @property
    def bot_id(self) -> int:
        """The bot's Telegram user id (known once started)."""
        if self._bot_id is None:
            raise PlatformUnavailable(NOT_RUNNING)
        return self._bot_id

    # --- lifecycle -----------------------------------------------------------------------

    def _build(self) -> TelegramApp:
        # Polling and webhook deliveries both enter PTB's update queue, whose fetcher starts
        # one task per update in arrival order; the dispatcher keeps each chat in order.
        builder = (
            ApplicationBuilder()
            .token(self._secret)
            .base_url(self._config.bot_api_url)
            .base_file_url(self._config.bot_file_url)
            .concurrent_updates(_CONCURRENT_UPDATES)
            .job_queue(None)
        )
        if self._config.mode == "polling":
            # Steps over poison updates, which would otherwise stall polling forever.
            builder = builder.get_updates_request(
                ScreenedPolling(on_token_refused=self._token_refused)
            )
        app: TelegramApp = builder.build()
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        return app

    async def start(self, *, sink: EventSink) -> None:
        if self._app is not None:
            return
        self._closed.clear()
        self._failure = None
        self._redaction.install()
        _silence_retry_after_warning()
        app = self._build()
        try:
            with translated(action="signing in", secret=self._secret):
                await app.initialize()
        except BaseException:
            await app.bot.shutdown()
            self._redaction.remove()
            raise
        self._app = app
        try:
            await self._connect(app, sink)
        except BaseException:
            await self.stop()
            raise

    async def _connect(self, app: TelegramApp, sink: EventSink) -> None:
        bot = app.bot
        self._bot_id = bot.id
        self._sender = Sender(bot=bot, formatting=self._config.formatting, secret=self._secret)
        translator = Translator(
            bot_id=bot.id,
            username=bot.username,
            config=self._config,
            thread_of=lambda ref: self._posted.get(ref.encode()),
            context=self.context_settings,
        )
        prompts = ReasonPrompts(bot=bot, secret=self._secret)
        # Presses are handled even with the buttons turned off: keyboards already shown work.
        self._buttons = FeedbackButtons(
            bot=bot,
            secret=self._secret,
            translator=translator,
            thread_of=lambda ref: self._posted.get(ref.encode()),
            not_allowed=self._config.not_allowed_notice,
            prompts=prompts,
        )
        self._dispatcher = Dispatcher(
            buttons=self._buttons,
            sink=sink,
            translator=translator,
            custom_emoji=CustomEmojiNames(bot=bot, secret=self._secret),
            concurrency=_CONCURRENT_THREADS,
            bot=bot,
            files=self.file_settings,
            prompts=prompts,
        )
        try:
            with translated(action="registering the command menu", secret=self._secret):
                await bot.set_my_commands(MENU)
        except PlatformError as exc:
            log.warning("%s", exc)  # the bot works without its menu
        updater = app.updater
        assert updater is not None
        if self._config.mode == "polling":
            with translated(action="starting to poll for updates", secret=self._secret):
                await updater.start_polling(
                    timeout=self._config.poll_timeout,
                    allowed_updates=list(ALLOWED_UPDATES),
                    error_callback=self._on_poll_error,
                )
        else:
            await self._listen(app)
        await app.start()
        log.info("Telegram bot @%s is running (%s)", bot.username, self._config.mode)

    async def _listen(self, app: TelegramApp) -> None:
        """Webhook mode: serve the webhook, then tell Telegram where it is."""
        config = self._config
        secret = config.webhook_secret
        assert secret is not None and config.webhook_url is not None
        listener = WebhookListener(
            host=config.webhook_listen,
            port=config.webhook_port,
            path=config.webhook_path,
            secret=secret.get_secret_value(),
            bot=app.bot,
            queue=app.update_queue,
        )
        listen = f"{config.webhook_listen}:{config.webhook_port}"
        with translated(action="setting the webhook", secret=self._secret, listen=listen):
            await listener.start()
        self._listener = listener
        with translated(action="setting the webhook", secret=self._secret):
            await app.bot.set_webhook(
                url=config.webhook_url,
                secret_token=secret.get_secret_value(),
                allowed_updates=list(ALLOWED_UPDATES),
            )

    async def stop(self) -> None:
        app, self._app = self._app, None
        if app is None:
            return
        self._closed.set()
        self._sender = None  # later calls fail as "not running", not inside the library
        self._buttons = None
        try:
            await self._stop_receiving(app)
        finally:
            await self._release(app)

    async def _stop_receiving(self, app: TelegramApp) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.stop()
        try:
            with translated(action="stopping", secret=self._secret):
                if app.updater is not None and app.updater.running:
                    # Re-raises what ended polling (a refused token): reported, not fatal.
                    await app.updater.stop()
        except PlatformError as exc:
            log.warning("Telegram did not stop polling cleanly: %s", exc)
        try:
            with translated(action="stopping", secret=self._secret):
                if app.running:
                    # Runs the updates already fetched (Telegram counts them as delivered)
                    # through _on_update, so the dispatcher must still take them.
                    await app.stop()
        except PlatformError as exc:
            log.warning("Telegram did not stop cleanly: %s", exc)

    async def _release(self, app: TelegramApp) -> None:
        dispatcher, self._dispatcher = self._dispatcher, None
        try:
            if dispatcher is not None:
                await dispatcher.close(within=_HANDOVER_ON_STOP)
            with translated(action="shutting down", secret=self._secret):
                await app.shutdown()
        except PlatformError as exc:
            log.warning("Telegram did not shut down cleanly: %s", exc)
        finally:
            self._redaction.remove()

    async def wait_closed(self) -> None:
        """Return once stopped; raise ``PlatformAuthError`` once Telegram has refused the
        token mid-run (python-telegram-bot then stops polling for good)."""
        await self._closed.wait()
        if self._failure is not None:
            raise self._failure

    @property
    def connected(self) -> bool:
        """Polling (or serving the webhook) with python-telegram-bot's application running."""
        app = self._app
        if app is None or self._closed.is_set() or not app.running:
            return False
        if self._config.mode == "polling":
            return app.updater is not None and app.updater.running
        return self._listener is not None

    def _token_refused(self) -> None:
        if self._app is None or self._closed.is_set():
            return  # the last poll of a stop: nothing is lost any more
        self._failure = PlatformAuthError(TOKEN_REFUSED)
        self._closed.set()

    # --- inbound -------------------------------------------------------------------------

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        # PTB runs several of these at once. They start in arrival order, and nothing before
        # this point waits unless PTB's concurrency limit is reached, whose waiters resume
        # first in, first out; dispatch() does not await either, so each chat's updates are
        # queued in the order they arrived.
        dispatcher = self._dispatcher
        if dispatcher is None or update.update_id in self._seen:
            return
        self._seen.put(update.update_id, value=True)
        dispatcher.dispatch(update)

    async def _on_error(self, _update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The redaction scope covers this logger: a token in the error is hidden.
        error = context.error
        log.error("handling a Telegram update failed: %s: %s", type(error).__name__, error)

    def _on_poll_error(self, error: TelegramError) -> None:
        # PTB retries on its own; this only reports the failure it is handed.
        reported = translate(error, action="polling for updates", secret=self._secret)
        log.warning("%s", reported)

    # --- outbound ------------------------------------------------------------------------

    def _sending(self) -> Sender:
        if self._sender is None:
            raise PlatformUnavailable(NOT_RUNNING)
        return self._sender

    def _key(self, thread: str) -> ThreadKey:
        try:
            key = ThreadKey.decode(thread)
        except ValueError as exc:
            raise PlatformError(str(exc)) from None
        if key.bot_id != self._bot_id:
            raise PlatformError(f"thread {thread} belongs to another Telegram bot")
        return key

    @staticmethod
    def _quote(key: ThreadKey, reply_to: str | None) -> int | None:
        """The message a post quotes: the one it answers, and only in groups, where several
        people talk at once (in a private chat a quote would show nothing new)."""
        if reply_to is None or key.is_private:
            return None
        try:
            ref = MessageRef.decode(reply_to)
        except ValueError:
            log.debug("not quoting %r: not a Telegram message reference", reply_to)
            return None
        if (ref.bot_id, ref.chat_id) != (key.bot_id, key.chat_id):
            return None
        return ref.message_id

    def stop_button_in(self, *, thread: str) -> bool:
        """``SupportsStopButton``: on group answers, and private ones when drafts are off
        or refused (a draft carries no keyboard); ``stop_button: false`` turns it off."""
        return self._config.stop_button

    async def post(
        self, *, thread: str, text: str, reply_to: str | None = None, stop_button: bool = False
    ) -> Posted:
        sender = self._sending()
        key = self._key(thread)
        message_id = await sender.send(
            chat_id=key.chat_id,
            topic_id=key.topic_id,
            reply_to=self._quote(key, reply_to),
            markdown=text,
            keyboard=STOP_KEYBOARD if stop_button else None,
        )
        ref = MessageRef(bot_id=key.bot_id, chat_id=key.chat_id, message_id=message_id).encode()
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

    async def edit(
        self, *, thread: str, message_id: str, text: str, stop_button: bool = False
    ) -> None:
        sender = self._sending()
        ref = self._ref(self._key(thread), message_id)
        await sender.edit(
            chat_id=ref.chat_id,
            message_id=ref.message_id,
            markdown=text,
            keyboard=STOP_KEYBOARD if stop_button else None,
        )

    async def delete(self, *, thread: str, message_id: str) -> None:
        sender = self._sending()
        ref = self._ref(self._key(thread), message_id)
        await sender.delete(chat_id=ref.chat_id, message_id=ref.message_id)

    def feedback_buttons_in(self, *, thread: str) -> bool:
        """``SupportsFeedbackButtons``: unless ``feedback_buttons: false``."""
        return self._config.feedback_buttons

    async def offer_feedback(self, *, thread: str, message_id: str) -> None:
        """``SupportsFeedbackButtons``: an inline keyboard of 👍 and 👎 under the answer."""
        if not self._config.feedback_buttons:
            return
        buttons = self._buttons
        if buttons is None:
            raise PlatformUnavailable(NOT_RUNNING)
        ref = self._ref(self._key(thread), message_id)
        await buttons.offer(chat_id=ref.chat_id, message_id=ref.message_id)

    async def typing(self, *, thread: str) -> None:
        sender = self._sending()
        key = self._key(thread)
        await sender.typing(chat_id=key.chat_id, topic_id=key.topic_id)

    async def open_native_stream(self, *, thread: str) -> NativeStream | None:
        sender = self._sending()
        key = self._key(thread)
        if not (self._config.stream_drafts and key.is_private):
            return None  # drafts exist only in private chats
        return DraftStream(
            sender=sender,
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
