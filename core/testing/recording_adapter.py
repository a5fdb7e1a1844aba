"""An in-memory adapter that records every outbound call, to test the core without a platform."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from knowrithm_bots.core.adapter import Adapter, Capabilities, EventSink, Limits, Posted
from knowrithm_bots.core.errors import MessageNotFound, PlatformError
from knowrithm_bots.core.events import Author, Inbound, Origin, Reaction


@dataclass(frozen=True, kw_only=True)
class RecordedCall:
    """One outbound call: ``kind`` is post, edit, delete or typing."""

    kind: str
    thread: str
    message_id: str | None
    text: str | None
    at: float
    reply_to: str | None = None


@dataclass
class _Message:
    thread: str
    text: str


class RecordingAdapter(Adapter):
    """A platform that lives in memory.

    Tests inject user events with ``say``/``react`` and read what the bot made visible with
    ``visible``/``messages_in``. ``fail_next`` queues platform errors for the next outbound
    calls, to prove the core's retry and fallback paths.
    """

    name: ClassVar[str] = "recording"
    limits: ClassVar[Limits] = Limits(max_message_length=4000, edit_interval=0.0)
    capabilities: ClassVar[Capabilities] = Capabilities(
        edit=True, reactions=True, typing=True, delete=True
    )

    def __init__(self, *, limits: Limits | None = None, name: str | None = None) -> None:
        if limits is not None:
            self.limits = limits  # type: ignore[misc]
        if name is not None:
            self.name = name  # type: ignore[misc]
        self.calls: list[RecordedCall] = []
        self.messages: dict[str, _Message] = {}
        self.sink: EventSink | None = None
        self.stopped = 0
        self._ids = itertools.count(1)
        self._events = itertools.count(1)
        self._failures: list[PlatformError] = []
        self._changed = asyncio.Condition()

    @classmethod
    def from_config(cls, *, config: Mapping[str, Any]) -> RecordingAdapter:
        return cls()

    async def start(self, *, sink: EventSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.stopped += 1

    # --- fault injection -------------------------------------------------------------------

    def fail_next(self, error: PlatformError, *, count: int = 1) -> None:
        self._failures.extend([error] * count)

    def _maybe_fail(self) -> None:
        if self._failures:
            raise self._failures.pop(0)

    # --- outbound --------------------------------------------------------------------------

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        self.calls.append(
            RecordedCall(
                kind="post",
                thread=thread,
                message_id=None,
                text=text,
                at=self._now(),
                reply_to=reply_to,
            )
        )
        self._maybe_fail()
        if self.measure(text) > self.limits.max_message_length:
            raise PlatformError(f"message of {len(text)} characters is over the limit")
        message_id = f"m{next(self._ids)}"
        self.messages[message_id] = _Message(thread=thread, text=text)
        await self._notify()
        return Posted(id=message_id)

    async def edit(self, *, thread: str, message_id: str, text: str) -> None:
        self.calls.append(
            RecordedCall(
                kind="edit", thread=thread, message_id=message_id, text=text, at=self._now()
            )
        )
        self._maybe_fail()
        message = self.messages.get(message_id)
        if message is None:
            raise MessageNotFound(f"message {message_id} does not exist")
        if self.measure(text) > self.limits.max_message_length:
            raise PlatformError(f"message of {len(text)} characters is over the limit")
        message.text = text
        await self._notify()

    async def delete(self, *, thread: str, message_id: str) -> None:
        self.calls.append(
            RecordedCall(
                kind="delete", thread=thread, message_id=message_id, text=None, at=self._now()
            )
        )
        self._maybe_fail()
        self.messages.pop(message_id, None)
        await self._notify()

    async def typing(self, *, thread: str) -> None:
        self.calls.append(
            RecordedCall(kind="typing", thread=thread, message_id=None, text=None, at=self._now())
        )

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- what users see --------------------------------------------------------------------

    def messages_in(self, thread: str) -> list[str]:
        return [m.text for m in self.messages.values() if m.thread == thread]

    def message_ids_in(self, thread: str) -> list[str]:
        return [i for i, m in self.messages.items() if m.thread == thread]

    def visible(self, thread: str) -> str:
        return "".join(self.messages_in(thread))

    def count(self, kind: str, *, thread: str | None = None) -> int:
        return sum(1 for c in self.calls if c.kind == kind and thread in (None, c.thread))

    async def wait_for_messages(self, thread: str, *, count: int, within: float = 5.0) -> list[str]:
        """Wait until ``thread`` holds at least ``count`` messages; return their texts."""

        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.messages_in(thread)) >= count)

        await asyncio.wait_for(enough(), within)
        return self.messages_in(thread)

    # --- inbound ---------------------------------------------------------------------------

    def thread_key(self, chat: str) -> str:
        return f"{self.name}:{chat}"

    async def say(
        self,
        text: str,
        *,
        chat: str = "general",
        user: str = "u1",
        display_name: str = "Ada Lovelace",
        direct: bool = False,
        external: bool = False,
        is_bot: bool = False,
        event_id: str | None = None,
        channel_name: str | None = None,
    ) -> Inbound:
        assert self.sink is not None, "start() the adapter first"
        event_id = event_id or f"e{next(self._events)}"
        event = Inbound(
            thread=self.thread_key(chat),
            event_id=event_id,
            message_id=f"user-{event_id}",
            text=text,
            author=Author(id=user, display_name=display_name, is_bot=is_bot, external=external),
            origin=Origin(
                adapter=self.name,
                channel_id=chat,
                workspace_id="w1",
                channel_name=channel_name,
                is_direct=direct,
            ),
        )
        await self.sink.on_message(event)
        return event

    async def react(
        self,
        message_id: str,
        *,
        emoji: str,
        chat: str = "general",
        user: str = "u1",
        added: bool = True,
        event_id: str | None = None,
    ) -> Reaction:
        assert self.sink is not None, "start() the adapter first"
        event = Reaction(
            thread=self.thread_key(chat),
            event_id=event_id or f"r{next(self._events)}",
            message_id=message_id,
            emoji=emoji,
            added=added,
            author=Author(id=user, display_name=user),
            origin=Origin(adapter=self.name, channel_id=chat, workspace_id="w1"),
        )
        await self.sink.on_reaction(event)
        return event
