"""Send one chat message and follow its reply over SSE, falling back to task polling."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from knowrithm_bots.core.errors import (
    REPLY_LOST,
    AuthError,
    BadRequestError,
    ConversationEndedError,
    KnowrithmError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    UnavailableError,
)
from knowrithm_bots.core.knowrithm.error_mapping import error_from_response
from knowrithm_bots.core.knowrithm.models import (
    Message,
    ReplyAccepted,
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
)
from knowrithm_bots.core.knowrithm.parsing import as_int, as_str, parse_message
from knowrithm_bots.core.knowrithm.reply_history import (
    ChatShape,
    HistoryEntry,
    HistoryMark,
    ReplyHistory,
    find_question,
    mark_of,
    reply_after_mark,
    reply_to_user_message,
)
from knowrithm_bots.core.knowrithm.retry import Safety
from knowrithm_bots.core.knowrithm.session import HttpSession
from knowrithm_bots.core.knowrithm.sse import SSEEvent, SSEParser
from knowrithm_bots.core.knowrithm.tasks import (
    TaskPoller,
    task_failure,
    task_handle,
    task_payload,
    task_state,
)

logger = logging.getLogger(__name__)

_CHAT_EVENTS = frozenset({"chat_status", "chat_chunk", "chat_response"})
# A 200 of these types is an API answer, not an event stream (some proxies do this).
_NOT_A_STREAM = ("application/json", "text/html")
_SEND_ACTION = "send the message"
_REPLY_ACTION = "finish the reply"
_HISTORY_REPLY_ACTION = "add the reply to the conversation history"
# After a send failed without saying whether Knowrithm took the message, the history is read
# at these delays (seconds after the failure): a service that queued the message may store it
# a moment after its gateway gave up.
QUESTION_LOOKUPS = (0.0, 0.5, 1.5)


def ambiguous(exc: KnowrithmError) -> bool:
    """Whether a failed send may nevertheless have reached Knowrithm.

    Refusals (4xx, 429) mean it did not; a 5xx, a timeout, a broken connection or an answer
    that cannot be read leave it open.
    """
    if isinstance(exc, RateLimitedError | AuthError | BadRequestError | NotFoundError):
        return False
    if isinstance(exc, UnavailableError | ProtocolError):
        return True
    return exc.status is not None and (exc.status >= 500 or exc.status == 408)


@dataclass(frozen=True, kw_only=True)
class SendResult:
    """What the service said to a chat message: a task to follow, or the finished reply."""

    task_id: str | None = None
    message_id: str | None = None
    poll_url: str | None = None
    message: Message | None = None


def assistant_message(*, payload: Any, conversation_id: str) -> Message | None:
    """Return the assistant message held in a sync answer or task result, if there is one."""
    if not isinstance(payload, dict):
        return None
    candidate = payload.get("assistant_message")
    try:
        message = parse_message(
            body=candidate if isinstance(candidate, dict) else payload,
            conversation_id=conversation_id,
        )
    except ProtocolError:
        return None
    return message if message.role != "user" else None


def read_send_answer(
    *, body: Any, conversation_id: str, redact: Callable[[str], str]
) -> SendResult:
    """Interpret the answer to ``POST .../chat``: a task handle (202) or the reply itself (200)."""
    if not isinstance(body, dict):
        raise ProtocolError(
            f"Knowrithm could not {_SEND_ACTION}: it answered something unreadable."
        )
    source = body
    handle = task_handle(body=body)
    inner = body.get("data")
    if handle is None and isinstance(inner, dict):
        handle = task_handle(body=inner)
        source = inner if handle is not None else body
    if handle is not None:
        state = task_state(source)
        if state == "failed":
            raise task_failure(body=source, action=_REPLY_ACTION, redact=redact)
        if state == "done":
            done = assistant_message(payload=task_payload(source), conversation_id=conversation_id)
            if done is not None:
                return SendResult(message=done)
        user_id = as_str(source.get("message_id")) or as_str(source.get("user_message_id"))
        return SendResult(task_id=handle.task_id, message_id=user_id, poll_url=handle.poll_url)
    reply = assistant_message(payload=body, conversation_id=conversation_id)
    if reply is not None:
        return SendResult(message=reply)
    user_id = as_str(body.get("message_id")) or as_str(body.get("id"))
    return SendResult(message_id=user_id)


@dataclass(frozen=True, kw_only=True)
class Resume:
    """A send that an earlier process began: what it knew when it stopped.

    ``question_id`` is Knowrithm's id of the question once the send was accepted;
    ``maybe_sent`` says the send may have gone out (it began at ``sending_at``, epoch seconds),
    so the history is read before sending it again.
    """

    question_id: str | None = None
    maybe_sent: bool = False
    sending_at: float | None = None


def _mark_before(entries: list[HistoryEntry], *, question_id: str) -> HistoryMark:
    """The mark the send would have taken: the newest assistant message before the question."""
    ids = [entry.message.id for entry in entries]
    before = entries[: ids.index(question_id)] if question_id in ids else entries
    return mark_of(before)


class _StreamLost(Exception):
    """The SSE connection ended, broke or went silent."""


class _SSEReader:
    """Reads events from one open SSE response, bounding the silence between reads.

    The silence is watched by one timer per stream, re-armed only when it fires, rather than
    a timeout scope per read: a reply is read hundreds of times, each scheduling and
    cancelling a timer on the event loop's heap. The body is read as the transport delivers
    it, past httpx's decoding iterators, unless the server compressed it.
    """

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        self._chunks: AsyncIterator[bytes]
        if encoding in ("", "identity") and isinstance(response.stream, httpx.AsyncByteStream):
            self._chunks = aiter(response.stream)
        else:
            self._chunks = response.aiter_bytes()
        self._parser = SSEParser()
        self._pending: collections.deque[SSEEvent] = collections.deque()
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._reading: asyncio.Task[Any] | None = None
        self._since = 0.0
        self._idle = 0.0
        self._expired = False

    async def next(self, *, idle_timeout: float) -> SSEEvent:
        """Return the next event; raise ``_StreamLost`` at the end, on a break or on silence."""
        while not self._pending:
            chunk = await self._read(idle_timeout)
            if chunk is None:
                raise _StreamLost
            try:
                self._pending.extend(self._parser.feed_bytes(chunk))
            except ProtocolError as exc:
                # Nothing after an oversized line can be framed reliably: the stream is lost.
                logger.warning("Dropped the Knowrithm reply stream: %s", exc)
                raise _StreamLost from exc
        return self._pending.popleft()

    async def _read(self, idle_timeout: float) -> bytes | None:
        task = asyncio.current_task()
        assert task is not None
        self._since = now = self._loop.time()
        self._idle = idle_timeout
        due = now + idle_timeout
        if self._timer is None or self._timer.when() > due:
            self._arm(due)
        self._reading, self._expired = task, False
        cancelling = task.cancelling()
        try:
            return await anext(self._chunks, None)
        except asyncio.CancelledError:
            # The watchdog's cancel is ours to absorb; any other belongs to the caller.
            if self._expired and task.uncancel() <= cancelling:
                raise _StreamLost from TimeoutError(f"no event for {idle_timeout:g} s")
            raise
        except httpx.HTTPError as exc:
            raise _StreamLost from exc
        finally:
            self._reading = None

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._watch)

    def _watch(self) -> None:
        self._timer = None
        reading = self._reading
        if reading is None:
            return  # the next read arms it again
        due = self._since + self._idle
        if self._loop.time() < due:
            self._arm(due)
        elif not self._expired:
            self._expired = True
            reading.cancel()

    async def aclose(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        chunks = self._chunks
        if isinstance(chunks, AsyncGenerator):
            with contextlib.suppress(httpx.HTTPError):
                await chunks.aclose()
        await _close_quietly(self._response)


async def _close_quietly(response: httpx.Response) -> None:
    """Release the connection; a failure to close must not hide the reply's own outcome."""
    with contextlib.suppress(httpx.HTTPError):
        await response.aclose()


def _event_payload(event: SSEEvent) -> tuple[str, dict[str, Any] | None] | None:
    """Return (event name, JSON payload) for chat events, None for anything else.

    The payload is None for a chat event whose data is not a JSON object.
    """
    name = event.event
    if name not in _CHAT_EVENTS and name != "message":
        return None
    try:
        payload = json.loads(event.data)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        return (name, None) if name in _CHAT_EVENTS else None
    if name == "message":
        # Some deployments send unnamed events that carry their type inside the data.
        name = as_str(payload.get("event")) or as_str(payload.get("type")) or ""
        if name not in _CHAT_EVENTS:
            return None
    return name, payload


class ReplyRun:
    """One ``stream_reply`` call: stream first, send once, then read or poll for the answer."""

    def __init__(
        self,
        *,
        http: HttpSession,
        poller: TaskPoller,
        conversation_id: str,
        text: str,
        idle_timeout: float,
        reply_timeout: float,
        shape: ChatShape,
        resume: Resume | None = None,
        attachments: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self._http = http
        self._poller = poller
        self._conversation_id = conversation_id
        self._path = f"/v1/conversation/{quote(conversation_id, safe='')}"
        self._history = ReplyHistory(http=http, conversation_id=conversation_id, path=self._path)
        self._shape = shape
        self._mark: HistoryMark | None = None
        self._text = text
        self._body: dict[str, Any] = {"message": text}
        if attachments:
            self._body["attachments"] = [dict(item) for item in attachments]
        self._idle_timeout = idle_timeout
        self._reply_timeout = reply_timeout
        self._reader: _SSEReader | None = None
        self._reconnected = False
        self._finished = False
        self._last_event_id: str | None = None
        self._seen_chunks: set[int] = set()
        self._resume = resume
        self._sending_at: float | None = resume.sending_at if resume is not None else None
        # Set when the last event matched only for want of ids (the documented service).
        self._matched_blind = False

    async def events(self) -> AsyncGenerator[ReplyEvent, None]:
        """Yield ``ReplyAccepted`` once Knowrithm has the question, the reply's deltas, and
        then exactly one ``ReplyDone``."""
        try:
            self._reader = await self._open(last_event_id=None, after_send=False)
            sent: SendResult | None = None
            if self._resume is not None:
                sent = await self._already_sent(self._resume)
                if sent is not None:
                    yield ReplyAccepted(question_id=sent.message_id)
                    # The stream was opened first, so an answer that finishes from now on
                    # shows there; one that finished before is in the history already.
                    found = await self._from_history(sent)
                    if found is not None:
                        yield ReplyDone(found)
                        return
            if sent is None:
                if self._shape.needs_mark:
                    self._mark = await self._history.mark()
                sent = await self._send_surely()
                yield ReplyAccepted(question_id=sent.message_id, task_id=sent.task_id)
                if sent.message is not None:
                    yield ReplyDone(sent.message)
                    return
            deadline = asyncio.get_running_loop().time() + self._reply_timeout
            try:
                while (event := await self._next_from_stream(sent, deadline=deadline)) is not None:
                    yield event
                    if isinstance(event, ReplyDone):
                        return
                final = await self._fallback(sent)
            except (ConversationEndedError, NotFoundError) as exc:
                # The send was accepted: reporting "ended" or "not found" would make a caller
                # send it again in a new conversation, duplicating it.
                raise UnavailableError(
                    "Knowrithm accepted the message, but the conversation ended or vanished"
                    " before its reply could be read.",
                    error_code=REPLY_LOST,
                ) from exc
            yield ReplyDone(final)
        finally:
            await self._close_reader()

    async def _open(self, *, last_event_id: str | None, after_send: bool) -> _SSEReader | None:
        """Open the SSE stream; None when streaming is unavailable and polling must do.

        Only an open before the send raises: a refusal then means the send would be refused
        too. A reconnect after an accepted send never raises, so nothing suggests a resend.
        """
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        try:
            response = await self._http.open_stream(
                path=f"{self._path}/messages/stream",
                headers=headers,
                read_timeout=self._idle_timeout,
            )
        except httpx.HTTPError:
            return None
        content_type = response.headers.get("Content-Type", "").lower()
        if response.status_code == 200 and not content_type.startswith(_NOT_A_STREAM):
            return _SSEReader(response)
        if response.status_code < 400:
            await _close_quietly(response)
            return None
        try:
            await response.aread()
        except httpx.HTTPError:
            return None
        finally:
            await _close_quietly(response)
        error = error_from_response(
            response=response, action="open the reply stream", redact=self._http.redact
        )
        # Before the send, sending would fail the same way; any other refusal, and every
        # refusal of a reconnect, only costs the live view.
        if not after_send and isinstance(error, AuthError | ConversationEndedError):
            raise error
        return None

    async def _close_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.aclose()

    async def _send(self) -> SendResult:
        timeout = self._http.timeout
        answer = await self._http.call(
            method="POST",
            path=f"{self._path}/chat",
            action=_SEND_ACTION,
            safety=Safety.ONCE,
            json=self._body,
            # A deployment that answers synchronously needs the whole generation time.
            http_timeout=httpx.Timeout(timeout, read=max(timeout, self._reply_timeout)),
        )
        return read_send_answer(
            body=answer.body, conversation_id=self._conversation_id, redact=self._http.redact
        )

    async def _send_surely(self) -> SendResult:
        """Send the question; after a failure that leaves open whether Knowrithm took it,
        look for it in the history and send it once more only when it is not there."""
        sending_at = self._sending_at = time.time()
        try:
            sent = await self._send()
        except KnowrithmError as exc:
            if not ambiguous(exc):
                raise
            first = exc
        else:
            return self._learnt_from(sent)
        logger.warning("%s Looking for the message in the conversation history.", first)
        try:
            found = await self._question_in_history(not_before=sending_at)
        except KnowrithmError as exc:
            logger.warning("The history could not be read either: %s", exc)
            raise first from None
        if found is not None:
            logger.info("Knowrithm has the message after all; waiting for its reply.")
            return found
        logger.info("Knowrithm does not have the message; sending it once more.")
        return self._learnt_from(await self._send())

    def _learnt_from(self, sent: SendResult) -> SendResult:
        """``sent``, after noting whether this deployment names the question when it queues."""
        if sent.message is None:
            self._shape.names_user_message = sent.message_id is not None
        return sent

    async def _already_sent(self, resume: Resume) -> SendResult | None:
        """Where a resumed send stands: Knowrithm's question to follow, or None to send it."""
        if resume.question_id is not None:
            return SendResult(message_id=resume.question_id)
        if not resume.maybe_sent:
            return None
        return await self._question_in_history(not_before=resume.sending_at, lookups=(0.0,))

    async def _question_in_history(
        self, *, not_before: float | None, lookups: tuple[float, ...] = QUESTION_LOOKUPS
    ) -> SendResult | None:
        """The question as Knowrithm stored it, read from the history; None if not there."""
        waited = 0.0
        for delay in lookups:
            if delay > waited:
                await self._http.sleep(delay - waited)
                waited = delay
            entries = await self._history.newest()
            question = find_question(entries, text=self._text, not_before=not_before)
            if question is not None:
                self._mark = _mark_before(entries, question_id=question.id)
                return SendResult(message_id=question.id)
        return None

    async def _next_from_stream(self, sent: SendResult, *, deadline: float) -> ReplyEvent | None:
        """The next event of this reply, or None when the stream is gone and polling must do."""
        loop = asyncio.get_running_loop()
        while self._reader is not None and not self._finished:
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise _StreamLost
                event = await self._reader.next(idle_timeout=min(self._idle_timeout, remaining))
            except _StreamLost:
                await self._close_reader()
                if self._reconnected or loop.time() >= deadline:
                    return None
                # One reconnect, resuming after the last event seen; replays are deduplicated.
                self._reconnected = True
                self._reader = await self._open(last_event_id=self._last_event_id, after_send=True)
                continue
            if event.id is not None:
                self._last_event_id = event.id
            self._matched_blind = False
            result = self._on_event(event, sent)
            if (
                isinstance(result, ReplyDone)
                and self._matched_blind
                and not await self._answers_this_send(result.message, sent)
            ):
                logger.info("Skipped a late answer to an earlier message on the reply stream.")
                continue
            if result is not None:
                return result
        await self._close_reader()
        return None

    async def _answers_this_send(self, reply: Message, sent: SendResult) -> bool:
        """Whether ``reply``, matched without ids, answers this send rather than an earlier
        question whose answer comes late (given up on, or stopped).

        A conversation answers its questions in order, so the history pairs each assistant
        message with the oldest question still unanswered before it. True when the history
        cannot tell.
        """
        try:
            entries = await self._history.newest()
        except KnowrithmError:
            return True
        messages = [entry.message for entry in entries]
        ids = [message.id for message in messages]
        question: Message | None
        if sent.message_id is not None and sent.message_id in ids:
            question = messages[ids.index(sent.message_id)]
        else:
            question = find_question(entries, text=self._text, not_before=self._sending_at)
        if question is None:
            return True
        unanswered: list[str] = []
        for message in messages:
            if message.role == "user":
                unanswered.append(message.id)
            elif message.id == reply.id:
                return bool(unanswered) and unanswered[0] == question.id
            elif unanswered:
                unanswered.pop(0)
        # Not listed yet: it is this send's only if no earlier question still waits.
        return not unanswered or unanswered[0] == question.id

    def _matches(self, name: str, payload: dict[str, Any], sent: SendResult) -> bool:
        conversation_id = as_str(payload.get("conversation_id"))
        if conversation_id is not None and conversation_id != self._conversation_id:
            return False
        task_id = as_str(payload.get("task_id"))
        if sent.task_id is not None and task_id is not None:
            return task_id == sent.task_id
        nested = payload.get("message")
        refs = {
            as_str(payload.get("message_id")),
            as_str(payload.get("reply_to")),
            as_str(nested.get("reply_to")) if isinstance(nested, dict) else None,
        } - {None}
        if sent.message_id is not None and refs:
            return sent.message_id in refs
        if task_id is None and not refs and name == "chat_response":
            # The documented service's answer names neither the task nor the user message
            # (knowrithm-docs tmp-widget.js `handleChatResponse`). The stream is this
            # conversation's, opened before the send: the first finished answer on it is this
            # one, unless an earlier question's answer (one given up on, or stopped) comes
            # late; ``_answers_this_send`` asks the history.
            self._matched_blind = True
            return True
        # Nothing to match on: the stream is per conversation and sends there are serialised.
        self._matched_blind = sent.task_id is None and sent.message_id is None
        return self._matched_blind

    def _on_event(self, event: SSEEvent, sent: SendResult) -> ReplyEvent | None:
        parsed = _event_payload(event)
        if parsed is None:
            return None
        name, payload = parsed
        if payload is None:
            # The event cannot even be matched to a send. Raising would tell the caller to
            # send again, duplicating a message Knowrithm already accepted.
            if name == "chat_response":
                self._lose_stream(f"a {name} event whose data is not a JSON object")
            else:
                logger.debug("Skipped a %s event whose data is not a JSON object.", name)
            return None
        if not self._matches(name, payload, sent):
            return None
        if name == "chat_chunk":
            index = as_int(payload.get("index"))
            if index is not None:
                if index in self._seen_chunks:
                    return None
                self._seen_chunks.add(index)
            content = payload.get("content")
            return ReplyDelta(content) if isinstance(content, str) and content else None
        if name == "chat_response":
            if task_state(payload) == "failed":
                raise task_failure(body=payload, action=_REPLY_ACTION, redact=self._http.redact)
            try:
                reply = parse_message(body=payload, conversation_id=self._conversation_id)
            except ProtocolError:
                self._lose_stream(f"a {name} event without a message id or text")
                return None
            # The documented widget is ready for a chat_response carrying the user's own
            # message (tmp-widget.js); that is never the answer.
            return None if reply.role == "user" else ReplyDone(reply)
        state = task_state(payload)
        if state == "failed":
            raise task_failure(body=payload, action=_REPLY_ACTION, redact=self._http.redact)
        if state == "done":
            # Finished without a chat_response we could read: fetch the answer instead.
            self._finished = True
        return None

    def _lose_stream(self, what: str) -> None:
        """Stop reading the stream: the reply is then read from the task or the history."""
        logger.warning("Knowrithm sent %s; reading the reply without the stream.", what)
        self._finished = True

    async def _fallback(self, sent: SendResult) -> Message:
        """Wait for the reply without the stream: poll the task, then read the history."""
        if sent.task_id is not None:
            status = await self._poller.wait(
                task_id=sent.task_id, poll_url=sent.poll_url, action=_REPLY_ACTION
            )
            found = assistant_message(
                payload=task_payload(status), conversation_id=self._conversation_id
            )
            if found is not None:
                return found
        return await self._poller.until(
            check=lambda: self._from_history(sent), action=_HISTORY_REPLY_ACTION
        )

    async def _from_history(self, sent: SendResult) -> Message | None:
        """The assistant message answering ``sent`` in the history; None until it is there.

        Never the newest assistant message as such: that is often the previous turn's answer.
        """
        entries = await self._history.newest()
        if sent.message_id is not None:
            found = reply_to_user_message(entries, user_message_id=sent.message_id)
            if found is not None:
                return found
            if any(entry.message.id == sent.message_id for entry in entries):
                return None
            # The history does not know the id the send gave: learn to mark before sending.
            self._shape.names_user_message = False
        if self._mark is None:
            # No mark from before the send: whatever is there now counts as old. Safe, but a
            # reply that already landed is then missed and the wait ends in a timeout.
            self._mark = mark_of(entries)
            return None
        return reply_after_mark(entries, mark=self._mark)
