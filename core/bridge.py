"""The platform-neutral heart: events in, Knowrithm conversations through, streamed replies out."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, TypeVar

from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.clock import Clock, SystemClock
from knowrithm_bots.core.commands import (
    HELP_TEXT,
    Command,
    CommandError,
    parse_command,
    parse_end_args,
)
from knowrithm_bots.core.config.models import ConversationSettings, RatingSettings
from knowrithm_bots.core.errors import (
    BadRequestError,
    ConversationEndedError,
    ConversationStartError,
    KnowrithmBotsError,
    KnowrithmError,
    NotFoundError,
    PlatformError,
    ProtocolError,
    StoreError,
)
from knowrithm_bots.core.events import Author, Inbound, Origin, Reaction, adapter_of
from knowrithm_bots.core.knowrithm import KnowrithmClient, Message, ReplyDelta, ReplyDone
from knowrithm_bots.core.message_links import Link, find_link, link_messages
from knowrithm_bots.core.ratings import rating_for
from knowrithm_bots.core.sessions import Session, Sessions
from knowrithm_bots.core.store import Store
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.streaming.waiting import watched
from knowrithm_bots.core.text import clean_text
from knowrithm_bots.core.thread_queue import ThreadQueue
from knowrithm_bots.core.user_messages import (
    EMPTY_ANSWER,
    EMPTY_MESSAGE,
    NOTHING_TO_END,
    explain,
    too_long,
)

log = logging.getLogger(__name__)

EVENT_TTL = 24 * 3600.0
# Purging reads every stored record and blocks the store meanwhile, while the only keys that
# expire (event marks) do so after a day: once an hour is plenty.
PURGE_INTERVAL = 3600.0

_Record = TypeVar("_Record", Author, Origin)


def _encodable_fields(record: _Record) -> _Record:
    """A copy of the dataclass ``record`` with each of its text fields made encodable."""
    texts: dict[str, Any] = {
        field.name: clean_text(value)
        for field in dataclasses.fields(record)
        if isinstance(value := getattr(record, field.name), str)
    }
    return dataclasses.replace(record, **texts)


def _cleaned(event: Inbound) -> Inbound:
    """``event`` with every text that reaches Knowrithm made encodable.

    Lone surrogates (a JSON escape like ``\\ud800``, bytes a terminal could not decode)
    cannot be encoded as UTF-8, so the request carrying them would fail to be built: they
    become U+FFFD. The thread, event and message ids stay as the adapter made them: the
    adapter gets them back, and the event id was stored as seen before this point.
    """
    return dataclasses.replace(
        event,
        text=clean_text(event.text),
        author=_encodable_fields(event.author),
        origin=_encodable_fields(event.origin),
    )


def _rating_not_saved(error: KnowrithmError) -> str:
    """The sentence for a rating Knowrithm did not take; the answer, not a message, was rated."""
    if isinstance(error, NotFoundError):
        reason = "Knowrithm no longer has that answer."
    elif isinstance(error, ConversationEndedError):
        reason = "the conversation of that answer has ended on Knowrithm."
    elif isinstance(error, BadRequestError):
        reason = "Knowrithm refused it."
    else:
        reason = explain(error)
    return "Your rating was not saved: " + reason


class Bridge:
    """Receives every adapter's events (it is their ``EventSink``) and answers them.

    Messages of one thread are handled in arrival order; different threads run
    concurrently up to ``settings.max_concurrent_threads``. Redelivered events (same
    adapter and event id) are dropped. Any failure becomes one sentence in the thread.
    """

    def __init__(
        self,
        *,
        client: KnowrithmClient,
        store: Store,
        sessions: Sessions,
        adapters: Mapping[str, Adapter],
        settings: ConversationSettings | None = None,
        ratings: RatingSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._sessions = sessions
        self._adapters = dict(adapters)
        self._settings = settings or ConversationSettings()
        self._ratings = ratings or RatingSettings()
        self._clock = clock or SystemClock()
        self._queue = ThreadQueue(concurrency=self._settings.max_concurrent_threads)
        # One pacer for every reply of every adapter: concurrent replies share the budgets.
        self._pacer = Pacer(clock=self._clock)
        self._sweeper: asyncio.Task[None] | None = None

    # --- EventSink -----------------------------------------------------------------------

    async def on_message(self, event: Inbound) -> None:
        if event.author.is_bot or event.adapter not in self._adapters or self._queue.closed:
            return
        try:
            first = await self._first_delivery(event)
        except StoreError as exc:
            # Without the store nothing can be answered; say so instead of going silent.
            log.error("thread %s: %s", event.thread, exc)
            sentence = explain(exc)
            if not self._queue.closed:
                self._queue.submit(thread=event.thread, job=lambda: self._tell(event, sentence))
            return
        if first is None:
            return
        if not first:
            log.info("dropped redelivered event %s", event.event_id)
            return
        self._queue.submit(thread=event.thread, job=lambda: self._handle_message(event))

    async def on_reaction(self, event: Reaction) -> None:
        if event.author.is_bot or event.adapter not in self._adapters or self._queue.closed:
            return
        try:
            first = await self._first_delivery(event)
        except StoreError as exc:
            log.error("reaction in %s not recorded: %s", event.thread, exc)
            return
        if first:
            self._queue.submit(thread=event.thread, job=lambda: self._handle_reaction(event))

    async def on_notice(self, *, thread: str, text: str, reply_to: str | None = None) -> None:
        try:
            adapter = self._adapters[adapter_of(thread)]
        except (KeyError, ValueError):
            log.error("a notice for thread %r names no adapter of this bot", thread)
            return
        if self._queue.closed:
            return

        async def post() -> None:
            shown = await self._say(adapter, thread, text, reply_to=reply_to)
            if not shown:
                log.warning("could not post a notice in thread %s", thread)

        self._queue.submit(thread=thread, job=post)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start ending idle conversations in the background."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="idle sweeper")

    async def drain(self) -> None:
        """Wait until every event received so far has been answered."""
        await self._queue.drain()

    def close_intake(self) -> None:
        """Ignore events from now on without marking them seen, so a redelivery after a
        restart is still answered; events already received keep being answered."""
        self._queue.close()

    async def stop(self) -> None:
        """Stop sweeping and answering; events arriving afterwards are ignored, not marked seen."""
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        await self._queue.cancel()

    async def expire_idle(self) -> int:
        """End every conversation idle past the timeout; the number ended."""
        ended = 0
        for thread in await self._sessions.idle_threads():
            try:
                async with self._store.lock(Sessions.lock_key(thread)):
                    if await self._sessions.expire(thread):
                        ended += 1
                        log.info("ended idle conversation of thread %s", thread)
            except KnowrithmBotsError as exc:
                # Kept for the next sweep: the link is only dropped once Knowrithm confirmed.
                log.warning("could not end idle thread %s: %s", thread, exc)
        return ended

    # --- messages ------------------------------------------------------------------------

    async def _first_delivery(self, event: Inbound | Reaction) -> bool | None:
        """Mark the event seen: True the first time, False for a redelivery, None when intake
        closed while the store was asked (the mark is taken back, so that a redelivery after
        a restart is still answered)."""
        key = f"event:{event.adapter}:{event.event_id}"
        first = await self._store.add_if_absent(key, value=1, ttl=EVENT_TTL)
        if not self._queue.closed:
            return first
        if first:
            await self._store.delete(key)
        return None

    async def _handle_message(self, event: Inbound) -> None:
        adapter = self._adapters[event.adapter]
        shown: list[str] = []
        try:
            shown = await self._respond(adapter, _cleaned(event))
        finally:
            await adapter.reply_done(thread=event.thread, message_ids=shown)

    async def _tell(self, event: Inbound, text: str) -> None:
        adapter = self._adapters[event.adapter]
        shown = await self._say(adapter, event.thread, text, reply_to=event.message_id)
        await adapter.reply_done(thread=event.thread, message_ids=shown)

    async def _respond(self, adapter: Adapter, event: Inbound) -> list[str]:
        """Answer one message; the ids of the platform messages showing the response."""
        command = parse_command(event.text)
        if command is not None:
            result = await self._run_command(event, command)
            return await self._say(adapter, event.thread, result, reply_to=event.message_id)
        text = event.text.strip()
        if not text:
            return await self._say(adapter, event.thread, EMPTY_MESSAGE, reply_to=event.message_id)
        if len(text) > self._settings.max_input_chars:
            limit = self._settings.max_input_chars
            notice = too_long(length=len(text), limit=limit)
            return await self._say(adapter, event.thread, notice, reply_to=event.message_id)
        reply = ReplyStream(
            adapter=adapter,
            thread=event.thread,
            clock=self._clock,
            pacer=self._pacer,
            reply_to=event.message_id,
        )
        reply.start()
        try:
            answer, conversation_id = await self._ask_watched(adapter, event, text, reply)
            ids = await reply.finish(text=answer.content or EMPTY_ANSWER)
            link = Link(conversation_id=conversation_id, message_id=answer.id, thread=event.thread)
            await link_messages(
                store=self._store, adapter=event.adapter, platform_message_ids=ids, link=link
            )
            return ids
        except (KnowrithmBotsError, PlatformError) as exc:
            log.warning("thread %s: %s", event.thread, exc)
            return await self._fail(reply, event.thread, exc)
        except Exception as exc:
            log.exception("thread %s: unexpected failure", event.thread)
            return await self._fail(reply, event.thread, exc)
        except BaseException:
            await reply.aclose()
            raise

    async def _open(self, event: Inbound, *, replacing: str | None = None) -> Session:
        """The thread's session, after dropping its link to ``replacing`` if given."""
        try:
            # The lock covers only finding or starting the conversation, not the answer: a
            # long answer must not outlive the lock's lease and let a sweep in beside it.
            async with self._store.lock(Sessions.lock_key(event.thread)):
                if replacing is not None:
                    await self._sessions.forget(event.thread, conversation_id=replacing)
                return await self._sessions.open(event)
        except (BadRequestError, NotFoundError, ProtocolError) as exc:
            # Refused before any message was sent: the user's wording is not the problem.
            raise ConversationStartError(
                f"No conversation for thread {event.thread}: {str(exc).rstrip('.')}.",
                status=exc.status,
                error_code=exc.error_code,
            ) from exc

    async def _ask_watched(
        self, adapter: Adapter, event: Inbound, text: str, reply: ReplyStream
    ) -> tuple[Message, str]:
        """``_ask``, with a notice when the first words are slow and a limit on silence."""
        settings = self._settings
        return await watched(
            self._ask(event, text, reply),
            clock=self._clock,
            grew_at=lambda: reply.grew_at,
            notify=lambda: self._say(
                adapter, event.thread, settings.still_working_text, reply_to=event.message_id
            ),
            notice_after=settings.still_working_after_seconds,
            give_up_after=settings.answer_timeout_seconds,
        )

    async def _ask(self, event: Inbound, text: str, reply: ReplyStream) -> tuple[Message, str]:
        """The agent's answer and the conversation it belongs to."""
        session = await self._open(event)
        try:
            answer = await self._stream(session, text, reply)
        except (ConversationEndedError, NotFoundError) as exc:
            # Ended or deleted on Knowrithm (or a store that outlived its server): the send was
            # refused, so the message never arrived and sending it once more is safe.
            log.info(
                "thread %s: conversation %s is gone on Knowrithm (%s); starting a new one",
                event.thread,
                session.conversation_id,
                exc,
            )
            session = await self._open(event, replacing=session.conversation_id)
            answer = await self._stream(session, text, reply)
        return answer, answer.conversation_id or session.conversation_id

    async def _stream(self, session: Session, text: str, reply: ReplyStream) -> Message:
        events = self._client.stream_reply(conversation_id=session.conversation_id, text=text)
        async with contextlib.aclosing(events):
            async for item in events:
                if isinstance(item, ReplyDelta):
                    reply.feed(item.text)
                elif isinstance(item, ReplyDone):
                    return item.message
        raise KnowrithmError("Knowrithm's reply stream ended without a final message")

    async def _fail(self, reply: ReplyStream, thread: str, exc: BaseException) -> list[str]:
        try:
            return await reply.fail(notice=explain(exc))
        except Exception as platform_exc:
            log.error("could not tell thread %s about a failure: %s", thread, platform_exc)
            await reply.aclose()
            return reply.message_ids

    async def _say(
        self, adapter: Adapter, thread: str, text: str, *, reply_to: str | None = None
    ) -> list[str]:
        """Post a notice through the shared pacer, so it waits out 429s like answers do."""
        notice = ReplyStream(
            adapter=adapter, thread=thread, clock=self._clock, pacer=self._pacer, reply_to=reply_to
        )
        try:
            return await notice.finish(text=text)
        except Exception as exc:
            log.error("could not post to thread %s: %s", thread, exc)
            await notice.aclose()
            return notice.message_ids
        except BaseException:
            await notice.aclose()  # cancelled: stop the shielded worker too
            raise

    # --- commands ------------------------------------------------------------------------

    async def _run_command(self, event: Inbound, command: Command) -> str:
        """The sentence that answers ``command``."""
        try:
            return await self._command_answer(event, command)
        except CommandError as exc:
            return str(exc)
        except KnowrithmBotsError as exc:
            return explain(exc)

    async def _command_answer(self, event: Inbound, command: Command) -> str:
        if command.name == "help" or command.name == "start":
            return HELP_TEXT
        if command.name == "new":
            async with self._store.lock(Sessions.lock_key(event.thread)):
                await self._sessions.end(thread=event.thread)
            return "Done: your next message starts a new conversation."
        if command.name == "end":
            args = parse_end_args(command.args, max_feedback=self._settings.max_input_chars)
            async with self._store.lock(Sessions.lock_key(event.thread)):
                ended = await self._sessions.end(
                    thread=event.thread, rating=args.rating, feedback=args.feedback
                )
            if ended is None:
                return NOTHING_TO_END
            rated = f", rated {args.rating}/5" if args.rating else ""
            return f"Conversation ended{rated}. Thank you! Write again any time to start a new one."
        return (
            f"I don't know the command /{command.name}. Try /help, /new or /end [1-5] [feedback]."
        )

    # --- reactions -----------------------------------------------------------------------

    async def _handle_reaction(self, event: Reaction) -> None:
        rating = rating_for(event.emoji, table=self._ratings.emoji)
        if rating is None:
            return
        link = await find_link(
            store=self._store, adapter=event.adapter, platform_message_id=event.message_id
        )
        if link is None:
            return  # a reaction on something that is not one of the agent's answers
        if not event.added:
            # Knowrithm cannot take a rating back; the next reaction simply re-rates.
            return
        try:
            await self._client.rate_message(message_id=link.message_id, rating=rating)
        except KnowrithmError as exc:
            # The link knows where the rated answer lives; after a restart the adapter's
            # guess at the reaction's thread may be wrong (a topic or thread root lost).
            log.warning("rating in %s failed: %s", link.thread, exc)
            adapter = self._adapters[event.adapter]
            await self._say(adapter, link.thread, _rating_not_saved(exc))

    # --- idle expiry ---------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        interval = min(60.0, self._settings.idle_minutes * 60 / 4)
        last_purge: float | None = None
        while True:
            await self._clock.sleep(interval)
            try:
                await self.expire_idle()
                now = self._clock.monotonic()
                if last_purge is None or now - last_purge >= PURGE_INTERVAL:
                    # Counted from the attempt: a failing purge is not retried every sweep.
                    last_purge = now
                    await self._store.purge_expired()
            except Exception:
                # The sweeper must outlive any one bad sweep, or idle conversations pile up.
                log.exception("idle sweep failed")
