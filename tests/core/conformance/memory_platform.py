"""A chat service in memory, a correct adapter for it, and its conformance harness.

The kit's own tests break this adapter in one way at a time and prove the kit notices.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from knowrithm_bots.core.adapter import Adapter, Budget, Capabilities, EventSink, Limits, Posted
from knowrithm_bots.core.errors import (
    MessageNotFound,
    MessageTooLong,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)
from knowrithm_bots.core.events import Author, Inbound, Origin, Reaction
from knowrithm_bots.core.testing.conformance import RETRY_AFTER, Failure, Features, Operation
from knowrithm_bots.core.thread_key import ThreadKeyCodec, key_fields

TOKEN = "memory-secret-token"
BOT_ID = "B-self"
MAX_LENGTH = 500


class ServiceError(Exception):
    """What the service's client library raises (its message shows the token, as some do)."""

    def __init__(self, status: int, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {reason} (token {TOKEN})")
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class Message:
    id: str
    author: str
    text: str


@dataclass
class MemoryService:
    """Chats of messages; connected bots receive every event through their own queue."""

    chats: defaultdict[str, list[Message]] = field(default_factory=lambda: defaultdict(list))
    listeners: list[asyncio.Queue[dict[str, Any]]] = field(default_factory=list)
    faults: defaultdict[str, deque[ServiceError]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def connect(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.listeners.append(queue)
        return queue

    def disconnect(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        if queue in self.listeners:
            self.listeners.remove(queue)

    def publish(self, event: dict[str, Any]) -> None:
        event = {"event_id": f"ev{next(self.ids)}", **event}
        for queue in self.listeners:
            queue.put_nowait(event)

    def write(self, *, chat: str, user: str, text: str, bot: bool) -> Message:
        message = Message(id=str(next(self.ids)), author=user, text=text)
        self.chats[chat].append(message)
        self.publish(
            {
                "type": "message",
                "chat": chat,
                "id": message.id,
                "user": user,
                "bot": bot,
                "text": text,
            }
        )
        return message

    # --- the API bots call -----------------------------------------------------------------

    def _admit(self, method: str, token: str) -> None:
        if self.faults[method]:
            raise self.faults[method].popleft()
        if token != TOKEN:
            raise ServiceError(401, "invalid_auth")

    async def send(self, *, token: str, chat: str, text: str) -> str:
        self._admit("send", token)
        if len(text) > MAX_LENGTH:
            raise ServiceError(400, "msg_too_long")
        message = Message(id=str(next(self.ids)), author=BOT_ID, text=text)
        self.chats[chat].append(message)
        return message.id

    async def update(self, *, token: str, chat: str, message_id: str, text: str) -> None:
        self._admit("update", token)
        message = next((m for m in self.chats[chat] if m.id == message_id), None)
        if message is None:
            raise ServiceError(404, "message_not_found")
        if len(text) > MAX_LENGTH:
            raise ServiceError(400, "msg_too_long")
        if message.text == text:
            raise ServiceError(400, "not_modified")
        message.text = text


@dataclass(frozen=True, kw_only=True)
class MemoryKey:
    """A thread key: the bot's account and the chat, as ``memory:<bot>:<chat>``."""

    bot: str
    chat: str

    def encode(self) -> str:
        return f"memory:{self.bot}:{self.chat}"

    @classmethod
    def decode(cls, thread: str) -> Self:
        bot, chat = key_fields(thread, prefix="memory", counts=(2,))
        if not bot or not chat:
            raise ValueError(f"{thread!r} is not a memory thread key")
        return cls(bot=bot, chat=chat)


def translate(exc: ServiceError) -> PlatformError:
    """The service's errors in the core tree, without the library's token-bearing message."""
    reason = f"the memory service answered {exc.status} {exc.reason}"
    if exc.status == 429:
        return PlatformRateLimited(reason, retry_after=exc.retry_after or 1.0)
    if exc.status == 404:
        return MessageNotFound(reason)
    if exc.status in (401, 403):
        return PlatformAuthError(reason)
    if exc.status >= 500:
        return PlatformUnavailable(reason)
    if exc.reason == "msg_too_long":
        return MessageTooLong(reason)
    return PlatformError(reason)


class MemoryAdapter(Adapter):
    """A correct adapter for ``MemoryService``."""

    name: ClassVar[str] = "memory"
    limits: ClassVar[Limits] = Limits(
        max_message_length=MAX_LENGTH,
        edit_interval=0.0,
        budgets=(
            Budget(scope="chat", rate=20.0, burst=20, kinds=("post", "edit")),
            Budget(scope="bot", rate=100.0, burst=100, shared_backoff=False),
        ),
    )
    capabilities: ClassVar[Capabilities] = Capabilities(reactions=True, typing=True)
    thread_codec: ClassVar[type[ThreadKeyCodec] | None] = MemoryKey

    def __init__(self, *, service: MemoryService, token: str = TOKEN) -> None:
        self.service = service
        self.token = token
        self._queue: asyncio.Queue[dict[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_config(cls, *, config: Mapping[str, Any]) -> MemoryAdapter:
        return cls(service=config["service"])

    async def start(self, *, sink: EventSink) -> None:
        if self._task is not None:
            return
        self._queue = self.service.connect()
        self._task = asyncio.create_task(self._listen(self._queue, sink), name="memory listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if self._queue is not None:
            self.service.disconnect(self._queue)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _listen(self, queue: asyncio.Queue[dict[str, Any]], sink: EventSink) -> None:
        while True:
            event = await queue.get()
            if self.ignores(event):
                continue
            origin = Origin(adapter=self.name, channel_id=event["chat"])
            author = self.author(event)
            thread = self.thread_key(event)
            if event["type"] == "message":
                await sink.on_message(
                    Inbound(
                        thread=thread,
                        event_id=event["event_id"],
                        text=event["text"],
                        author=author,
                        origin=origin,
                        message_id=event["id"],
                    )
                )
            else:
                await sink.on_reaction(
                    Reaction(
                        thread=thread,
                        event_id=event["event_id"],
                        message_id=self.reacted_id(event),
                        emoji=event["emoji"],
                        added=event["added"],
                        author=author,
                        origin=origin,
                    )
                )

    def ignores(self, event: Mapping[str, Any]) -> bool:
        return bool(event["user"] == BOT_ID or event["bot"])

    def author(self, event: Mapping[str, Any]) -> Author:
        return Author(id=event["user"], is_bot=event["bot"])

    def thread_key(self, event: Mapping[str, Any]) -> str:
        return MemoryKey(bot=BOT_ID, chat=event["chat"]).encode()

    def reacted_id(self, event: Mapping[str, Any]) -> str:
        return str(event["message_id"])

    def chat_of(self, thread: str) -> str:
        return MemoryKey.decode(thread).chat

    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        try:
            return Posted(
                id=await self.service.send(token=self.token, chat=self.chat_of(thread), text=text)
            )
        except ServiceError as exc:
            raise self.translate(exc) from None

    async def edit(self, *, thread: str, message_id: str, text: str) -> None:
        try:
            await self.service.update(
                token=self.token, chat=self.chat_of(thread), message_id=message_id, text=text
            )
        except ServiceError as exc:
            if exc.reason != "not_modified":
                raise self.translate(exc) from None

    async def typing(self, *, thread: str) -> None:
        return None

    def translate(self, exc: ServiceError) -> Exception:
        return translate(exc)


_FAULTS = {
    Failure.RATE_LIMITED: lambda: ServiceError(429, "ratelimited", retry_after=RETRY_AFTER),
    Failure.NOT_FOUND: lambda: ServiceError(404, "message_not_found"),
    Failure.AUTH: lambda: ServiceError(401, "invalid_auth"),
    Failure.UNAVAILABLE: lambda: ServiceError(503, "service_unavailable"),
}


class MemoryHarness:
    """Drives ``MemoryService`` for the kit; places are chat names."""

    def __init__(
        self, *, adapter: MemoryAdapter, service: MemoryService, features: Features | None = None
    ) -> None:
        self._adapter = adapter
        self.service = service
        self._features = features or Features(secrets=(TOKEN,))

    @property
    def adapter(self) -> MemoryAdapter:
        return self._adapter

    @property
    def features(self) -> Features:
        return self._features

    async def user_message(self, *, place: str, text: str) -> None:
        self.service.write(chat=place, user="U-ada", text=text, bot=False)

    async def bot_message(self, *, place: str, text: str) -> None:
        self.service.write(chat=place, user="B-other", text=text, bot=True)

    async def own_message(self, *, place: str, text: str) -> None:
        self.service.write(chat=place, user=BOT_ID, text=text, bot=True)

    async def react(self, *, place: str, emoji: str, added: bool) -> None:
        newest = [m for m in self.service.chats[place] if m.author == BOT_ID][-1]
        self.service.publish(
            {
                "type": "reaction",
                "chat": place,
                "message_id": newest.id,
                "emoji": emoji,
                "added": added,
                "user": "U-ada",
                "bot": False,
            }
        )

    async def visible(self, *, place: str) -> list[str]:
        return [m.text for m in self.service.chats[place] if m.author == BOT_ID]

    async def fail_next(self, *, failure: Failure, operation: Operation) -> None:
        method = "send" if operation == "post" else "update"
        self.service.faults[method].append(_FAULTS[failure]())
