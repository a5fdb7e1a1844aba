"""Server-Sent Events: wire formatting and the loop that feeds one open stream."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from knowrithm_bots.bots.local_knowrithm.events import (
    ConversationChannel,
    StreamEvent,
    Subscription,
)
from knowrithm_bots.bots.local_knowrithm.faults import Faults

SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def format_event(*, name: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    """One SSE event: optional id line, event line, one JSON data line, blank line."""
    lines = [] if event_id is None else [f"id: {event_id}"]
    lines.append(f"event: {name}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return ("\n".join(lines) + "\n\n").encode()


def _on_the_wire(*, event: StreamEvent, faults: Faults, with_id: bool) -> bytes:
    """The event as written, spoilt as the fault knobs ask (the event log keeps it whole)."""
    if event.name in faults.omitted_events:
        return b""
    data = event.data
    if event.name == "chat_response" and faults.response_missing:
        data = {k: v for k, v in data.items() if k not in faults.response_missing}
    content = data.get("content")
    if event.name == "chat_chunk" and faults.rewrite_chunks and isinstance(content, str):
        data = {**data, "content": faults.rewrite_chunks(content)}
    event_id = event.id if with_id else None
    if event.name in faults.unreadable_events:
        head = "" if event_id is None else f"id: {event_id}\n"
        return f"{head}event: {event.name}\ndata: {{not json\n\n".encode()
    return format_event(name=event.name, data=data, event_id=event_id)


def format_comment(text: str) -> bytes:
    """An SSE comment, which readers ignore."""
    return f": {text}\n\n".encode()


class _StreamCut(Exception):
    """The one-shot stream cut fired on this stream."""


async def pump_stream(
    *,
    request: web.Request,
    channel: ConversationChannel,
    last_event_id: int | None,
    heartbeat_interval: float,
    faults: Faults,
    documented: bool = False,
) -> web.StreamResponse:
    """Answer a stream request: connected comment, replay, then live events and heartbeats.

    ``documented`` writes only events and heartbeats: no comment and no event ids, as a
    relay of Redis pub/sub messages has none (docs platform/architecture.mdx).
    Ends when the server closes the subscription, the client goes away, or a stream cut
    fires (then the connection is dropped without finishing the chunked body).
    """
    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
    replay, subscription = channel.subscribe(last_event_id=last_event_id)
    writer = _Writer(response=response, channel=channel, faults=faults, with_ids=not documented)
    try:
        await response.prepare(request)
        if not documented:
            await response.write(format_comment("connected"))
        for event in replay:
            await writer.write(event)
        await _live(
            response=response,
            writer=writer,
            subscription=subscription,
            heartbeat_interval=heartbeat_interval,
        )
    except _StreamCut:
        _drop_connection(request)
    except ConnectionError:
        pass  # the client left; nothing more to send
    finally:
        channel.unsubscribe(subscription)
    return response


async def _live(
    *,
    response: web.StreamResponse,
    writer: _Writer,
    subscription: Subscription,
    heartbeat_interval: float,
) -> None:
    loop = asyncio.get_running_loop()
    next_beat = loop.time() + heartbeat_interval
    while True:
        try:
            event = await asyncio.wait_for(
                subscription.queue.get(), timeout=max(0.0, next_beat - loop.time())
            )
        except TimeoutError:
            await response.write(format_event(name="heartbeat", data={"ts": int(time.time())}))
            next_beat = loop.time() + heartbeat_interval
            continue
        if event is None:
            return
        await writer.write(event)


class _Writer:
    """Writes one stream's events as the fault knobs and the server's mode ask."""

    def __init__(
        self,
        *,
        response: web.StreamResponse,
        channel: ConversationChannel,
        faults: Faults,
        with_ids: bool,
    ) -> None:
        self._response = response
        self._channel = channel
        self._faults = faults
        self._with_ids = with_ids

    async def write(self, event: StreamEvent) -> None:
        """Write ``event``; raise ``_StreamCut`` when the one-shot cut fires on it."""
        wire = _on_the_wire(event=event, faults=self._faults, with_id=self._with_ids)
        if wire:
            await self._response.write(wire)
        if event.cut and self._channel.claim_cut(task_id=event.task_id):
            raise _StreamCut


def _drop_connection(request: web.Request) -> None:
    # Closing the transport (after its buffer is flushed) leaves the chunked body unfinished,
    # which is what a dropped connection looks like to the client.
    transport = request.transport
    if transport is not None:
        transport.close()
