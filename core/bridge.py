"""The platform-neutral heart: events in, Knowrithm conversations through, streamed replies out."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from knowrithm_bots.core.adapter import Adapter, SupportsFeedbackButtons
from knowrithm_bots.core.answer_leases import AnswerLeases
from knowrithm_bots.core.clock import Clock, SystemClock
from knowrithm_bots.core.commands import (
    HELP_TEXT,
    Command,
    CommandError,
    parse_command,
    parse_end_args,
)
from knowrithm_bots.core.config.models import (
    ContextSettings,
    ConversationSettings,
    FileSettings,
    RatingSettings,
)
from knowrithm_bots.core.errors import (
    BadRequestError,
    ConversationEndedError,
    ConversationStartError,
    KnowrithmBotsError,
    KnowrithmError,
    NotFoundError,
    PlatformError,
    PlatformRateLimited,
    ProtocolError,
    StoreError,
)
from knowrithm_bots.core.events import Author, Inbound, Origin, Reaction, adapter_of
from knowrithm_bots.core.knowrithm import (
    KnowrithmClient,
    Message,
    ReplyAccepted,
    ReplyDelta,
    ReplyDone,
    Resume,
)
from knowrithm_bots.core.merging import Batch, Batches
from knowrithm_bots.core.message_links import (
    ExpiredLink,
    Link,
    link_messages,
    look_up_link,
    too_old_to_rate,
)
from knowrithm_bots.core.observability import NO_METRICS, AnswerTiming, BotMetrics
from knowrithm_bots.core.pending_replies import PendingReplies, PendingReply, Tracker, key_of
from knowrithm_bots.core.question import attachments, compose, file_problems
from knowrithm_bots.core.ratings import rating_for
from knowrithm_bots.core.sessions import Session, Sessions
from knowrithm_bots.core.store import Store
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.streaming.shared_budgets import SharedBudgets
from knowrithm_bots.core.streaming.waiting import watched
from knowrithm_bots.core.text import clean_text
from knowrithm_bots.core.thread_queue import ThreadQueue
from knowrithm_bots.core.user_messages import (
    EMPTY_ANSWER,
    EMPTY_MESSAGE,
    NOTHING_TO_END,
    NOTHING_TO_STOP,
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


STOP_MARK = "⏹ stopped by {name}"


def _is_stop(event: Inbound) -> bool:
    command = parse_command(event.text)
    return command is not None and command.name == "stop"


def _with_stop_mark(shown: str, *, by: str) -> str:
    mark = STOP_MARK.format(name=by)
    shown = shown.rstrip()
    return f"{shown}\n\n{mark}" if shown else mark


class _Writing:
    """The Knowrithm side of the answer a thread is writing, which /stop can cancel."""

    def __init__(self, *, shown: Callable[[], list[str]]) -> None:
        self.stopped_by: str | None = None
        # The platform messages showing the answer: a Stop button on one of them stops it.
        self.shown = shown
        self._task: asyncio.Future[tuple[Message, str]] | None = None

    async def run(self, work: Awaitable[tuple[Message, str]]) -> tuple[Message, str]:
        self._task = asyncio.ensure_future(work)
        return await self._task

    def stop(self, *, by: str) -> None:
        self.stopped_by = by
        if self._task is not None:
            self._task.cancel()


class Bridge:
    """Receives every adapter's events (it is their ``EventSink``) and answers them.

    Messages of one thread are handled in arrival order; different threads run
    concurrently. At most ``settings.max_concurrent_threads`` of them wait on Knowrithm at
    once; a thread gives its place up as soon as Knowrithm has answered, while the answer is
    still being shown at the platform's pace, so a question never waits for other people's
    answers to be paced out. Any failure becomes one sentence in the thread.

    Each answer is recorded in the store before its first post (``PendingReplies``) and
    marked done only once it is final. A redelivered event whose answer is done is dropped;
    one whose answer this process is writing is dropped too; one whose answer an earlier
    process began (it crashed, or was stopped mid-answer) is finished. ``start`` finishes
    every such answer at once, without waiting for a redelivery: Knowrithm is asked for the
    answer (never sent the question again once it has it) and the messages already posted
    are edited into it.
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
        metrics: BotMetrics = NO_METRICS,
        context: ContextSettings | None = None,
        answer_lease: float | None = None,
        files: FileSettings | None = None,
        shared_budgets: SharedBudgets | None = None,
    ) -> None:
        self._client = client
        self._metrics = metrics
        self._store = store
        self._sessions = sessions
        self._adapters = dict(adapters)
        self._settings = settings or ConversationSettings()
        self._ratings = ratings or RatingSettings()
        self._context = context or ContextSettings()
        self._files = files or FileSettings()
        self._clock = clock or SystemClock()
        # Threads are bounded where they cost something: in their requests to Knowrithm.
        self._queue = ThreadQueue(concurrency=None)
        self._asking = asyncio.Semaphore(self._settings.max_concurrent_threads)
        # One pacer for every reply of every adapter: concurrent replies share the budgets.
        # With ``shared_budgets`` (Redis), other instances spend the platform-wide ones too.
        self._pacer = Pacer(clock=self._clock, metrics=metrics, shared=shared_budgets)
        metrics.watch_queue(lambda: self._queue.queued)
        self._sweeper: asyncio.Task[None] | None = None
        self._resumer: asyncio.Task[int] | None = None
        self._replies = PendingReplies(store=store)
        # Set when other instances share the store (see AnswerLeases); None: no other writer.
        self._leases = AnswerLeases(store=store, ttl=answer_lease)
        self._sharing: asyncio.Task[None] | None = None
        # The events whose answers this process is writing (or about to): their redeliveries
        # are dropped without asking the store.
        self._answering: set[str] = set()
        self._batches = Batches(max_chars=self._settings.max_input_chars)
        # The answer each thread is writing now, so that /stop can end it at once.
        self._writing: dict[str, _Writing] = {}

    # --- EventSink -----------------------------------------------------------------------

    async def on_message(self, event: Inbound) -> None:
        if event.author.is_bot or event.adapter not in self._adapters or self._queue.closed:
            return
        key = key_of(adapter=event.adapter, event_id=event.event_id)
        if key in self._answering:
            log.info("dropped redelivered event %s: its answer is being written", event.event_id)
            return
        self._answering.add(key)
        try:
            claim, record = await self._claim(event)
        except StoreError as exc:
            self._answering.discard(key)
            # Without the store nothing can be answered; say so instead of going silent.
            log.error("thread %s: %s", event.thread, exc)
            self._metrics.failure(adapter=event.adapter, error=exc)
            sentence = explain(exc)
            if not self._queue.closed:
                self._queue.submit(thread=event.thread, job=lambda: self._tell(event, sentence))
            return
        if self._queue.closed:
            # Intake closed while the store was asked: a redelivery after a restart answers.
            self._answering.discard(key)
            if claim == "new":
                with contextlib.suppress(StoreError):
                    await self._replies.release(event)
            return
        if claim == "done":
            self._answering.discard(key)
            log.info("dropped redelivered event %s", event.event_id)
            return
        if claim == "elsewhere":
            self._answering.discard(key)
            log.info("dropped redelivered event %s: another instance answers it", event.event_id)
            return
        if record is not None:
            log.info("event %s: finishing the answer an earlier run began", event.event_id)
        arrived = self._clock.monotonic()
        if record is None and _is_stop(event) and await self._stop(event):
            return
        if record is None and self._settings.busy == "merge" and self._mergeable(event):
            batch = self._batches.join(event)
            if batch is not None:
                self._queue.submit(
                    thread=event.thread, job=lambda: self._answer_batch(batch, arrived=arrived)
                )
            return
        # Whatever comes later must not be answered before this: it may not join a batch
        # that is waiting in front of it.
        self._batches.close(event.thread)
        self._queue.submit(
            thread=event.thread,
            job=lambda: self._handle_message(event, record=record, arrived=arrived),
        )

    async def _stop(self, event: Inbound) -> bool:
        """End the answer being written in ``event``'s thread; False when there is none (the
        command is then answered in turn, saying so)."""
        writing = self._writing.get(event.thread)
        if writing is None or writing.stopped_by is not None:
            return False
        writing.stop(by=event.author.display_name or "someone")
        log.info("thread %s: the answer was stopped by a person in the thread", event.thread)
        key = key_of(adapter=event.adapter, event_id=event.event_id)
        try:
            await self._replies.finish(event)
        except StoreError as exc:
            log.error("thread %s: could not mark /stop done: %s", event.thread, exc)
        finally:
            self._answering.discard(key)
        return True

    def _mergeable(self, event: Inbound) -> bool:
        """A plain question that can share one answer with its neighbours."""
        text = event.text.strip()
        return (
            bool(text)
            and parse_command(text) is None
            and len(text) <= self._settings.max_input_chars
        )

    async def _answer_batch(self, batch: Batch, *, arrived: float) -> None:
        """Answer the messages of ``batch`` as one question."""
        thread = batch.events[0].thread
        self._batches.started(batch)
        merged = batch.merged()
        if len(batch.events) > 1:
            log.info(
                "thread %s: %d messages sent during an answer go to Knowrithm as one",
                thread,
                len(batch.events),
            )
            try:
                # The carrier's record holds every text before the others count as answered,
                # so a crash in between loses none of them.
                await self._replies.save(PendingReply(event=merged))
                for event in batch.events[:-1]:
                    await self._replies.finish(event)
            except StoreError as exc:
                log.error("thread %s: could not record the merged messages: %s", thread, exc)
            finally:
                for event in batch.events[:-1]:
                    self._answering.discard(key_of(adapter=event.adapter, event_id=event.event_id))
        await self._handle_message(merged, record=None, arrived=arrived)

    async def _claim(self, event: Inbound) -> tuple[str, PendingReply | None]:
        """How far ``event`` got: new, done, elsewhere (another instance holds the lease on
        its answer), or pending with the record of its answer."""
        claim = await self._replies.claim(event)
        if claim == "done":
            return claim, None
        if not await self._leases.take(key_of(adapter=event.adapter, event_id=event.event_id)):
            return "elsewhere", None
        if claim == "new":
            return claim, None
        record = await self._replies.get(event)
        # An unreadable record was set aside: answer the event as if it were new.
        return ("pending", record) if record is not None else ("new", None)

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

    async def on_stop(self, *, thread: str, by: Author, message_id: str | None = None) -> bool:
        writing = self._writing.get(thread)
        if writing is None or writing.stopped_by is not None:
            return False
        if message_id is not None and message_id not in writing.shown():
            return False  # a button left on an earlier answer: that one has ended
        writing.stop(by=by.display_name or "someone")
        log.info("thread %s: the answer was stopped with its Stop button", thread)
        return True

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start ending idle conversations, and finishing the answers an earlier run left
        unfinished, in the background. Call it once the adapters have started."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="idle sweeper")
        if self._resumer is None:
            self._resumer = asyncio.create_task(self.resume_unfinished(), name="resumer")
        if self._sharing is None and self._leases.ttl is not None:
            self._sharing = asyncio.create_task(self._share_answers(), name="answer leases")

    async def resume_unfinished(self) -> int:
        """Queue every answer an earlier run left unfinished; the number queued."""
        queued = 0
        try:
            async for record in self._replies.unfinished():
                event = record.event
                key = record.key
                if event.adapter not in self._adapters:
                    log.warning("%s: no adapter %r in this bot to finish it", key, event.adapter)
                    continue
                if key in self._answering or self._queue.closed:
                    continue
                if not await self._leases.take(key):
                    continue  # another instance is writing it
                self._answering.add(key)
                log.info("thread %s: finishing an answer the last run left", event.thread)
                self._queue.submit(
                    thread=event.thread,
                    job=functools.partial(self._handle_message, event, record=record),
                )
                queued += 1
        except StoreError as exc:
            log.error("could not look for unfinished answers: %s", exc)
        return queued

    async def _share_answers(self) -> None:
        """With a shared store: keep the leases on the answers this instance writes, and
        finish the answers of instances that stopped renewing theirs (they died)."""
        ttl = self._leases.ttl
        assert ttl is not None
        keeper = asyncio.create_task(self._leases.keep(lambda: self._answering))
        try:
            while True:
                await self._clock.sleep(ttl)
                await self.resume_unfinished()
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def drain(self) -> None:
        """Wait until every event received so far has been answered."""
        await self._queue.drain()

    def close_intake(self) -> None:
        """Ignore events from now on without marking them seen, so a redelivery after a
        restart is still answered; events already received keep being answered."""
        self._queue.close()

    async def stop(self) -> None:
        """Stop sweeping and answering; events arriving afterwards are ignored, not marked seen."""
        for task in (self._sweeper, self._resumer, self._sharing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sweeper = self._resumer = self._sharing = None
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

    async def _handle_message(
        self, event: Inbound, *, record: PendingReply | None, arrived: float | None = None
    ) -> None:
        adapter = self._adapters[event.adapter]
        shown: list[str] = []
        tracker = Tracker(replies=self._replies, reply=record or PendingReply(event=event))
        timing = self._metrics.answer(adapter=event.adapter, since=arrived)
        try:
            shown = await self._respond(adapter, _cleaned(event), tracker, timing)
            # Final: shown in full, or a sentence saying why not. Only now is the event done;
            # a stop or crash before this leaves the record for the next run to finish.
            await tracker.finish()
        finally:
            timing.close()
            self._answering.discard(tracker.reply.key)
            await adapter.reply_done(thread=event.thread, message_ids=shown)

    async def _tell(self, event: Inbound, text: str) -> None:
        adapter = self._adapters[event.adapter]
        shown = await self._say(adapter, event.thread, text, reply_to=event.message_id)
        await adapter.reply_done(thread=event.thread, message_ids=shown)

    async def _respond(
        self, adapter: Adapter, event: Inbound, tracker: Tracker, timing: AnswerTiming
    ) -> list[str]:
        """Answer one message; the ids of the platform messages showing the response."""
        command = parse_command(event.text)
        if command is not None:
            result = await self._run_command(event, command)
            return await self._say(adapter, event.thread, result, reply_to=event.message_id)
        text = event.text.strip()
        if not text and not event.files:
            return await self._say(adapter, event.thread, EMPTY_MESSAGE, reply_to=event.message_id)
        if len(text) > self._settings.max_input_chars:
            limit = self._settings.max_input_chars
            notice = too_long(length=len(text), limit=limit)
            return await self._say(adapter, event.thread, notice, reply_to=event.message_id)
        problems = file_problems(event=event)
        if problems is not None and tracker.reply.stage == "received":
            # Said once, before the answer; the rest of the message is still answered.
            await self._say(adapter, event.thread, problems, reply_to=event.message_id)
        reply = ReplyStream(
            adapter=adapter,
            thread=event.thread,
            clock=self._clock,
            pacer=self._pacer,
            reply_to=event.message_id,
            adopted=tracker.reply.shown,
            on_posted=tracker.shown,
            on_first_text=timing.first_text,
            stoppable=True,
        )
        reply.start()
        writing = _Writing(shown=lambda: reply.message_ids)
        self._writing[event.thread] = writing
        try:
            try:
                answer, conversation_id = await writing.run(
                    self._ask_limited(adapter, event, text, reply, tracker)
                )
            except asyncio.CancelledError:
                if writing.stopped_by is None:
                    raise
                # Stopped by a person: what shows stays, marked; it is no answer to rate.
                marked = _with_stop_mark(reply.text, by=writing.stopped_by)
                return await reply.finish(text=marked)
            finally:
                if self._writing.get(event.thread) is writing:
                    del self._writing[event.thread]
            ids = await reply.finish(text=answer.content or EMPTY_ANSWER)
            timing.final_text()
            link = Link(conversation_id=conversation_id, message_id=answer.id, thread=event.thread)
            await link_messages(
                store=self._store,
                adapter=event.adapter,
                platform_message_ids=ids,
                link=link,
                days=self._ratings.link_days,
                now=self._clock.now(),
            )
            # Done before the buttons: they wait their turn in a budget the other answers
            # share, and a crash while they wait must not make the next run redo an answer
            # shown in full (rating by reaction still works without them).
            await tracker.finish()
            await self._offer_feedback(adapter, event.thread, ids)
            return ids
        except (KnowrithmBotsError, PlatformError) as exc:
            log.warning("thread %s: %s", event.thread, exc)
            self._metrics.failure(adapter=event.adapter, error=exc)
            return await self._fail(reply, event.thread, exc)
        except Exception as exc:
            log.exception("thread %s: unexpected failure", event.thread)
            self._metrics.failure(adapter=event.adapter, error=exc)
            return await self._fail(reply, event.thread, exc)
        except BaseException:
            await reply.aclose()
            raise

    async def _offer_feedback(self, adapter: Adapter, thread: str, ids: list[str]) -> None:
        """Rating buttons under a finished answer, where the adapter has them."""
        if not ids or not isinstance(adapter, SupportsFeedbackButtons):
            return
        if not adapter.feedback_buttons_in(thread=thread):
            return  # turned off: no turn taken from the budget the answers share
        # Adding the buttons is a platform call like an edit: it waits for its turn in the
        # shared budgets, and a 429 backs them off, so it cannot push answers into 429s.
        lane = self._pacer.route(adapter=adapter, thread=thread).lane("edit")
        await self._pacer.turn(lane=lane, since=self._clock.monotonic(), final=True)
        try:
            await adapter.offer_feedback(thread=thread, message_id=ids[-1])
        except PlatformRateLimited as exc:
            self._pacer.rate_limited(lane=lane, retry_after=exc.retry_after)
            log.warning("thread %s: rate limited adding rating buttons: %s", thread, exc)
        except PlatformError as exc:
            # The answer stands; it can still be rated with a reaction.
            log.warning("thread %s: could not add rating buttons: %s", thread, exc)
        else:
            self._pacer.succeeded(lane=lane)

    async def _open_telling(
        self, event: Inbound, *, replacing: str | None = None
    ) -> tuple[Session, bool]:
        """The thread's session and whether it was started now, after dropping its link to
        ``replacing`` if given."""
        try:
            # The lock covers only finding or starting the conversation, not the answer: a
            # long answer must not outlive the lock's lease and let a sweep in beside it.
            async with self._store.lock(Sessions.lock_key(event.thread)):
                if replacing is not None:
                    await self._sessions.forget(event.thread, conversation_id=replacing)
                return await self._sessions.open_telling(event)
        except (BadRequestError, NotFoundError, ProtocolError) as exc:
            # Refused before any message was sent: the user's wording is not the problem.
            raise ConversationStartError(
                f"No conversation for thread {event.thread}: {str(exc).rstrip('.')}.",
                status=exc.status,
                error_code=exc.error_code,
            ) from exc

    async def _ask_limited(
        self, adapter: Adapter, event: Inbound, text: str, reply: ReplyStream, tracker: Tracker
    ) -> tuple[Message, str]:
        """``_ask_watched`` within the bound on threads waiting for Knowrithm."""
        async with self._asking:
            return await self._ask_watched(adapter, event, text, reply, tracker)

    async def _ask_watched(
        self, adapter: Adapter, event: Inbound, text: str, reply: ReplyStream, tracker: Tracker
    ) -> tuple[Message, str]:
        """``_ask``, with a notice when the first words are slow and a limit on silence."""
        settings = self._settings
        return await watched(
            self._ask(event, text, reply, tracker),
            clock=self._clock,
            grew_at=lambda: reply.grew_at,
            notify=lambda: self._say(
                adapter, event.thread, settings.still_working_text, reply_to=event.message_id
            ),
            notice_after=settings.still_working_after_seconds,
            give_up_after=settings.answer_timeout_seconds,
        )

    async def _ask(
        self, event: Inbound, text: str, reply: ReplyStream, tracker: Tracker
    ) -> tuple[Message, str]:
        """The agent's answer and the conversation it belongs to."""
        begun = tracker.reply
        if begun.stage != "received" and begun.conversation_id is not None:
            # An earlier run sent (or began sending) the question there: its answer is there.
            resume = Resume(
                question_id=begun.question_id,
                maybe_sent=True,
                sending_at=begun.sending_at,
            )
            question = self._question(event, tracker)
            try:
                answer = await self._stream(
                    begun.conversation_id, question, reply, tracker, resume, event=event
                )
                return answer, answer.conversation_id or begun.conversation_id
            except (ConversationEndedError, NotFoundError) as exc:
                log.info(
                    "thread %s: the conversation of the unfinished answer is gone (%s)",
                    event.thread,
                    exc,
                )
                session, started = await self._open_telling(event, replacing=begun.conversation_id)
                return await self._ask_in(session, started, event, reply, tracker)
        session, started = await self._open_telling(event)
        return await self._ask_in(session, started, event, reply, tracker)

    async def _ask_in(
        self,
        session: Session,
        started: bool,
        event: Inbound,
        reply: ReplyStream,
        tracker: Tracker,
    ) -> tuple[Message, str]:
        """Send the question in ``session``'s conversation (or a new one, if that is gone)."""
        # Recorded with the send's own record (``_stream``, before the send), so that a
        # resumed send composes the same question.
        tracker.note(with_context=started)
        try:
            answer = await self._stream(
                session.conversation_id,
                self._question(event, tracker),
                reply,
                tracker,
                event=event,
            )
        except (ConversationEndedError, NotFoundError) as exc:
            # Ended or deleted on Knowrithm (or a store that outlived its server): the send was
            # refused, so the message never arrived and sending it once more is safe.
            log.info(
                "thread %s: conversation %s is gone on Knowrithm (%s); starting a new one",
                event.thread,
                session.conversation_id,
                exc,
            )
            session, _ = await self._open_telling(event, replacing=session.conversation_id)
            tracker.note(with_context=True)
            answer = await self._stream(
                session.conversation_id,
                self._question(event, tracker),
                reply,
                tracker,
                event=event,
            )
        return answer, answer.conversation_id or session.conversation_id

    def _question(self, event: Inbound, tracker: Tracker) -> str:
        """What Knowrithm receives: the words and files, after the thread's earlier messages
        when the conversation was started for this message."""
        return compose(event=event, with_context=tracker.reply.with_context, settings=self._context)

    async def _stream(
        self,
        conversation_id: str,
        text: str,
        reply: ReplyStream,
        tracker: Tracker,
        resume: Resume | None = None,
        *,
        event: Inbound,
    ) -> Message:
        if resume is None:
            await tracker.update(
                stage="sending",
                conversation_id=conversation_id,
                sending_at=self._clock.now(),
                question_id=None,
            )
        # Off by default: Knowrithm does not document the field's items (README, "Files").
        listed = attachments(event=event) if self._files.send_as_attachments else None
        events = self._client.stream_reply(
            conversation_id=conversation_id, text=text, resume=resume, attachments=listed
        )
        async with contextlib.aclosing(events):
            async for item in events:
                if isinstance(item, ReplyDelta):
                    if resume is None:
                        reply.feed(item.text)
                    # Resumed, the deltas start mid-answer: only the final text is shown.
                elif isinstance(item, ReplyAccepted):
                    await tracker.update(stage="accepted", question_id=item.question_id)
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
        if command.name == "stop":
            # Answers are stopped as /stop arrives; in turn, there is nothing left to stop.
            return NOTHING_TO_STOP
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
            f"I don't know the command /{command.name}. Try /help, /new, /stop or /end [1-5]"
            " [feedback]."
        )

    # --- reactions -----------------------------------------------------------------------

    async def _handle_reaction(self, event: Reaction) -> None:
        rating = rating_for(event.emoji, table=self._ratings.emoji)
        if rating is None:
            return
        link = await look_up_link(
            store=self._store,
            adapter=event.adapter,
            platform_message_id=event.message_id,
            now=self._clock.now(),
        )
        if link is None:
            return  # a reaction on something that is not one of the agent's answers
        if not event.added:
            # Knowrithm cannot take a rating back; the next reaction simply re-rates.
            return
        if isinstance(link, ExpiredLink):
            adapter = self._adapters[event.adapter]
            await self._say(adapter, link.thread, too_old_to_rate(days=self._ratings.link_days))
            return
        try:
            await self._client.rate_message(
                message_id=link.message_id, rating=rating, feedback=event.feedback
            )
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
