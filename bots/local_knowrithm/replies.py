"""Accepting chat messages and generating the agent's replies in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from knowrithm_bots.bots.local_knowrithm.agent import Agent
from knowrithm_bots.bots.local_knowrithm.event_shapes import DocumentedShapes, StreamingShapes
from knowrithm_bots.bots.local_knowrithm.events import EventHub
from knowrithm_bots.bots.local_knowrithm.faults import Faults
from knowrithm_bots.bots.local_knowrithm.records import StoredMessage, StoredTask, utc_now
from knowrithm_bots.bots.local_knowrithm.state import LocalState

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\S+\s*")


def split_words(text: str) -> list[str]:
    """Words with their trailing whitespace; joining the pieces gives back `text` exactly."""
    pieces = _WORD.findall(text)
    if not pieces:
        return [text] if text else []
    lead = text[: len(text) - len("".join(pieces))]
    pieces[0] = lead + pieces[0]
    return pieces


@dataclass(frozen=True)
class Pacing:
    """How fast replies are written."""

    word_delay: float = 0.0
    first_token_delay: float = 0.0


class Cadence:
    """The times of one answer's words: ``every`` seconds apart on a timeline fixed at its
    first word, not a pause after each write.

    No public source describes this: the documented service sends no deltas at all
    (KNOWRITHM_API.md, "chat_chunk"), and a streaming deployment's pace is undocumented. It
    is this server's choice, made so that it invents no link between answers. A pause after
    each write let the server's own delays add up, and two answers whose words once met in
    one turn of its loop were written in step from then on (ten answers begun 3 ms apart,
    all in the same millisecond by their hundredth word), which no separate model calls
    would do. A whole word behind (a reply held by a test), it starts afresh.
    """

    def __init__(self, every: float) -> None:
        self._every = every
        self._loop = asyncio.get_running_loop()
        self._due = self._loop.time()

    async def wait(self) -> None:
        """Until the next word is due; at least one turn of the loop, even at zero delay, so
        that streams write each word as it comes."""
        now = self._loop.time()
        self._due += self._every
        if self._due < now - self._every:
            self._due = now
        await asyncio.sleep(max(0.0, self._due - now))


@dataclass(frozen=True)
class AcceptedChat:
    """What POST .../chat reports back in task mode."""

    task: StoredTask
    user_message: StoredMessage
    queued_event_id: int


class ReplyRunner:
    """Stores user messages, runs reply generation tasks and cancels them on stop."""

    def __init__(
        self,
        *,
        state: LocalState,
        hub: EventHub,
        faults: Faults,
        agent: Agent,
        pacing: Pacing,
        documented: bool = False,
    ) -> None:
        self._state = state
        self._hub = hub
        self._faults = faults
        self._agent = agent
        self._pacing = pacing
        self._shapes = DocumentedShapes() if documented else StreamingShapes()
        self._tasks: set[asyncio.Task[None]] = set()

    def accept(
        self,
        *,
        conversation_id: str,
        text: str,
        attachments: list[dict[str, Any]] | None = None,
    ) -> AcceptedChat:
        """Store the user message, emit `queued`, and start writing the reply."""
        history, user_message = self._store_question(
            conversation_id=conversation_id, text=text, attachments=attachments
        )
        task = StoredTask(id=str(uuid.uuid4()), kind="chat")
        self._state.tasks[task.id] = task
        cut = self._faults.take_stream_cut()
        channel = self._hub.channel(conversation_id=conversation_id)
        channel.begin_reply(task_id=task.id, cut=cut is not None)
        queued = channel.publish(
            name="chat_status",
            data=self._shapes.ids(task=task, user_message=user_message, status="queued"),
            task_id=task.id,
        )
        job = asyncio.create_task(
            self._run(task=task, user_message=user_message, history=history, cut=cut),
            name=f"local-knowrithm-reply-{task.id}",
        )
        self._tasks.add(job)
        job.add_done_callback(self._tasks.discard)
        return AcceptedChat(task=task, user_message=user_message, queued_event_id=queued.id)

    async def answer_now(
        self,
        *,
        conversation_id: str,
        text: str,
        attachments: list[dict[str, Any]] | None = None,
    ) -> StoredMessage:
        """Sync chat mode: store the question, write the whole reply, return it; no events."""
        history, user_message = self._store_question(
            conversation_id=conversation_id, text=text, attachments=attachments
        )
        await asyncio.sleep(self._pacing.first_token_delay)
        answer = self._agent.reply(question=text, history=history)
        for index, _ in enumerate(split_words(answer)):
            await self._faults.wait_while_held(words_written=index)
            await asyncio.sleep(self._pacing.word_delay)
        return self._store_answer(user_message=user_message, answer=answer)

    async def stop(self) -> None:
        """Cancel every reply still being written and wait for them to end."""
        jobs = list(self._tasks)
        for job in jobs:
            job.cancel()
        for job in jobs:
            with contextlib.suppress(asyncio.CancelledError):
                await job

    def _store_question(
        self, *, conversation_id: str, text: str, attachments: list[dict[str, Any]] | None
    ) -> tuple[tuple[StoredMessage, ...], StoredMessage]:
        history = tuple(self._state.messages.get(conversation_id, ()))
        user_message = StoredMessage(
            id=str(uuid.uuid4()),
            conversation_id=conversation_id,
            role="user",
            content=text,
            created_at=utc_now(),
            attachments=attachments,
        )
        self._state.add_message(message=user_message)
        self._state.chat_requests.append((conversation_id, text))
        return history, user_message

    def _store_answer(self, *, user_message: StoredMessage, answer: str) -> StoredMessage:
        reply = StoredMessage(
            id=str(uuid.uuid4()),
            conversation_id=user_message.conversation_id,
            role="assistant",
            content=answer,
            created_at=utc_now(),
            metadata=dict(self._faults.reply_metadata),
        )
        self._state.add_message(message=reply)
        return reply

    async def _run(
        self,
        *,
        task: StoredTask,
        user_message: StoredMessage,
        history: Sequence[StoredMessage],
        cut: int | None,
    ) -> None:
        channel = self._hub.channel(conversation_id=user_message.conversation_id)
        shapes = self._shapes
        try:
            await asyncio.sleep(0)
            channel.publish(
                name="chat_status",
                data=shapes.ids(task=task, user_message=user_message, status="in_progress"),
                task_id=task.id,
                cut=cut is not None and cut <= 0,
            )
            await asyncio.sleep(self._pacing.first_token_delay)
            answer = self._agent.reply(question=user_message.content, history=history)
            emit_chunks = self._faults.emit_chunks and shapes.chunks
            cadence = Cadence(self._pacing.word_delay)
            for index, piece in enumerate(split_words(answer)):
                await self._faults.wait_while_held(words_written=index)
                if emit_chunks:
                    channel.publish(
                        name="chat_chunk",
                        data={
                            **shapes.ids(task=task, user_message=user_message),
                            "content": piece,
                            "index": index,
                        },
                        task_id=task.id,
                        cut=cut is not None and index == cut - 1,
                    )
                await cadence.wait()
        except Exception as exc:
            logger.warning("local agent failed to reply: %s", exc)
            task.status, task.error = "failed", f"The agent failed to reply: {exc}"
            channel.end_reply(task_id=task.id)
            failure = shapes.failed_response(
                conversation_id=user_message.conversation_id, task=task
            )
            if failure is not None:
                channel.publish(name="chat_response", data=failure, task_id=task.id)
            channel.publish(
                name="chat_status",
                data={
                    **shapes.ids(task=task, user_message=user_message, status="failed"),
                    "error": task.error,
                },
                task_id=task.id,
            )
            return
        except asyncio.CancelledError:
            task.status, task.error = "failed", "The server stopped before the reply was done"
            channel.end_reply(task_id=task.id)
            raise
        reply = self._store_answer(user_message=user_message, answer=answer)
        task.status, task.result = "completed", reply.to_json()
        channel.publish(
            name="chat_response",
            data=shapes.response(task=task, reply=reply, reply_to=user_message.id),
            task_id=task.id,
        )
        channel.end_reply(task_id=task.id)
        channel.publish(
            name="chat_status",
            data=shapes.ids(task=task, user_message=user_message, status="completed"),
            task_id=task.id,
        )
