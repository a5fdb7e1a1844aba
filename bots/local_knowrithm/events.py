"""Per-conversation event log and fan-out to the open SSE streams of that conversation."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any

HISTORY_SIZE = 2000  # the spec asks for at least 1000 remembered events per conversation


@dataclass(frozen=True)
class StreamEvent:
    """One emitted event; `cut` marks where a one-shot stream cut takes effect."""

    id: int
    name: str
    data: dict[str, Any]
    task_id: str | None
    cut: bool = False


class Subscription:
    """One open stream's inbox; a None item means the server is closing the stream."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue()

    def close(self) -> None:
        """Ask the stream to end after what it has already received."""
        self.queue.put_nowait(None)


class ConversationChannel:
    """Numbers a conversation's events, remembers them and hands them to subscribers."""

    def __init__(self, *, history_size: int = HISTORY_SIZE, replay: bool = True) -> None:
        self._replay = replay
        self._next_id = 1
        self._log: deque[StreamEvent] = deque(maxlen=history_size)
        self._subscribers: set[Subscription] = set()
        self._in_flight: set[str] = set()
        self._armed_cuts: set[str] = set()
        self._ended = False

    def begin_reply(self, *, task_id: str, cut: bool = False) -> None:
        """Mark a reply as in flight, so late subscribers get its events replayed."""
        self._in_flight.add(task_id)
        if cut:
            self._armed_cuts.add(task_id)

    def end_reply(self, *, task_id: str) -> None:
        """The reply's final answer has been emitted; stop replaying it to newcomers."""
        self._in_flight.discard(task_id)
        self._forget_if_ended()

    def claim_cut(self, *, task_id: str | None) -> bool:
        """True once per armed reply: the caller is the stream that gets cut."""
        if task_id is None or task_id not in self._armed_cuts:
            return False
        self._armed_cuts.discard(task_id)
        return True

    def publish(
        self, *, name: str, data: dict[str, Any], task_id: str | None, cut: bool = False
    ) -> StreamEvent:
        """Number, remember and deliver an event to every open stream."""
        event = StreamEvent(id=self._next_id, name=name, data=data, task_id=task_id, cut=cut)
        self._next_id += 1
        # The documented service publishes through Redis pub/sub (docs
        # platform/architecture.mdx) and keeps nothing to replay, so neither does its mode here.
        if self._replay:
            self._log.append(event)
        for subscription in self._subscribers:
            subscription.queue.put_nowait(event)
        return event

    def subscribe(self, *, last_event_id: int | None) -> tuple[list[StreamEvent], Subscription]:
        """Events to replay first, and the inbox for what follows; no event is lost between.

        Without replay (pub/sub, as the documented service) nothing is replayed: an event
        published while nobody listened is gone.
        """
        if not self._replay:
            replay: list[StreamEvent] = []
        elif last_event_id is None:
            replay = [event for event in self._log if event.task_id in self._in_flight]
        else:
            replay = [event for event in self._log if event.id > last_event_id]
        subscription = Subscription()
        self._subscribers.add(subscription)
        return replay, subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a stream that has ended."""
        self._subscribers.discard(subscription)

    @property
    def last_event_id(self) -> int:
        """Id of the newest event emitted, 0 before any."""
        return self._next_id - 1

    def end(self) -> None:
        """The conversation ended: drop the remembered events once no reply is being written.

        Replay is this server's own offer (the documented service has none, see ``publish``),
        so no client can count on resuming an ended conversation's finished replies; and
        each kept reply holds one event per word, so a server that answered 9,000
        conversations used to hold some 1.4 GB of them until it stopped. Event ids go on.
        """
        self._ended = True
        self._forget_if_ended()

    def _forget_if_ended(self) -> None:
        if self._ended and not self._in_flight:
            self._log.clear()

    def close_all(self) -> None:
        """End every open stream of this conversation."""
        for subscription in self._subscribers:
            subscription.close()


class EventHub:
    """The channels of all conversations, created on first use."""

    def __init__(self, *, replay: bool = True) -> None:
        self._channels: dict[str, ConversationChannel] = {}
        self._replay = replay
        self.closed = False

    def channel(self, *, conversation_id: str) -> ConversationChannel:
        """The channel of a conversation."""
        channel = self._channels.get(conversation_id)
        if channel is None:
            channel = ConversationChannel(replay=self._replay)
            self._channels[conversation_id] = channel
        return channel

    def conversation_ended(self, *, conversation_id: str) -> None:
        """The conversation ended: its channel forgets its events (``ConversationChannel.end``)."""
        channel = self._channels.get(conversation_id)
        if channel is not None:
            channel.end()

    def close_all(self) -> None:
        """End every open stream; streams opened afterwards end at once."""
        self.closed = True
        for channel in self._channels.values():
            channel.close_all()
