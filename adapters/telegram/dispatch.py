"""Hands each Telegram update to the sink: in order within a chat or topic, chats side by side."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Sequence

from telegram import Bot, Message, Update

from knowrithm_bots.adapters.telegram.attachments import read_files
from knowrithm_bots.adapters.telegram.controls import ReasonPrompts
from knowrithm_bots.adapters.telegram.custom_emoji import CustomEmojiNames
from knowrithm_bots.adapters.telegram.feedback import FeedbackButtons
from knowrithm_bots.adapters.telegram.inbound import Deliver, Notice, Translator
from knowrithm_bots.core.adapter import EventSink
from knowrithm_bots.core.config.models import FileSettings
from knowrithm_bots.core.events import Reaction
from knowrithm_bots.core.thread_queue import Job, ThreadQueue

log = logging.getLogger(__name__)


class Dispatcher:
    """Turns updates into the sink's events through a ``ThreadQueue`` keyed by thread key.

    Handing an event over awaits (the bridge asks its store; a custom emoji reaction asks
    Telegram what it stands for), so a second update of a chat must not start before the
    first is handed over; an update of another chat need not wait. ``dispatch`` itself never
    awaits: called in the order updates arrive, it queues them in that order.
    """

    def __init__(
        self,
        *,
        sink: EventSink,
        translator: Translator,
        custom_emoji: CustomEmojiNames,
        concurrency: int,
        bot: Bot | None = None,
        files: FileSettings | None = None,
        buttons: FeedbackButtons | None = None,
        prompts: ReasonPrompts | None = None,
    ) -> None:
        self._buttons = buttons
        self._prompts = prompts
        self._sink = sink
        self._bot = bot
        self._files = files or FileSettings()
        self._translator = translator
        self._custom_emoji = custom_emoji
        self._queue = ThreadQueue(concurrency=concurrency)

    def dispatch(self, update: Update) -> None:
        """Queue what ``update`` means behind the earlier updates of its thread."""
        if self._queue.closed:
            return  # stopping: left unacknowledged to the bridge, as if never received
        try:
            handover = self._handover(update)
        except Exception as exc:
            # update_check lets through only updates shaped as the Bot API documents; one
            # that still trips the translation is skipped like any other poison update.
            log.warning(
                "Telegram update %s was skipped: the adapter could not read it (%s)",
                update.update_id,
                type(exc).__name__,
            )
            return
        if handover is not None:
            thread, job = handover
            self._queue.submit(thread=thread, job=functools.partial(self._logged, job))

    def _handover(self, update: Update) -> tuple[str, Job] | None:
        sink = self._sink
        if update.callback_query is not None:
            # A press on a rating button: rated in its thread's turn, like a reaction.
            return None if self._buttons is None else self._buttons.handover(update, sink=sink)
        if update.message_reaction is not None:
            reactions = self._translator.reactions(update)
            if not reactions:
                return None
            # One update is one person's change on one message: a single thread.
            return reactions[0].thread, functools.partial(self._hand_reactions, reactions)
        if update.message is not None and self._prompts is not None and self._buttons:
            reason = self._prompts.reason(update.message)
            if reason is not None:
                # A reason for a 👎: it rates again with feedback, and never reaches the agent.
                asked, text = reason
                event = self._buttons.reason_event(update.message, asked=asked, text=text)
                job = functools.partial(self._hand_reason, event, update.message)
                return asked.thread, job
        decision = self._translator.message(update)
        if isinstance(decision, Deliver):
            return decision.event.thread, functools.partial(self._deliver, decision)
        if isinstance(decision, Notice):
            notice = functools.partial(
                sink.on_notice,
                thread=decision.thread,
                text=decision.text,
                reply_to=decision.reply_to,
            )
            return decision.thread, notice
        log.debug("update %s ignored: %s", update.update_id, decision.reason)
        return None

    async def _deliver(self, decision: Deliver) -> None:
        event = decision.event
        if decision.files and self._bot is not None:
            # Read here, in the thread's turn: a download must not let a later message by.
            files = await read_files(bot=self._bot, refs=list(decision.files), settings=self._files)
            event = dataclasses.replace(event, files=files)
        await self._sink.on_message(event)

    async def _hand_reason(self, event: Reaction, message: Message) -> None:
        await self._sink.on_reaction(event)
        if self._prompts is not None:
            await self._prompts.thank(message)

    async def _hand_reactions(self, reactions: Sequence[Reaction]) -> None:
        for reaction in await self._custom_emoji.resolve(reactions):
            await self._sink.on_reaction(reaction)

    @staticmethod
    async def _logged(job: Job) -> None:
        # Logged here rather than by the queue: this module's logger is inside the adapter's
        # redaction scope, so a token quoted in the failure is hidden.
        try:
            await job()
        except Exception as exc:
            log.error("handling a Telegram update failed: %s: %s", type(exc).__name__, exc)

    async def close(self, *, within: float) -> None:
        """Hand over what was queued, for at most ``within`` seconds, then drop the rest.

        Returns once no task of the queue is left running.
        """
        self._queue.close()
        try:
            await asyncio.wait_for(self._queue.drain(), within)
        except TimeoutError:
            log.warning("stopped with Telegram updates not yet handed over")
        finally:
            await self._queue.cancel()  # nothing left after a drain; else what the sink holds
