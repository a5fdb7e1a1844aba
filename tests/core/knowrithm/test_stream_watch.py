"""The reply stream's silence watch, through the real client and the local server: a slow but
steady stream is read to its end, and a caller's cancel is never taken for silence."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, split_words
from knowrithm_bots.core.knowrithm import KnowrithmClient, ReplyDelta, ReplyEvent
from knowrithm_bots.core.knowrithm.streaming import _SSEReader, _StreamLost
from tests.core.knowrithm.steps import count, expected_echo, new_conversation, reply_events, split
from tests.harness import client_for

QUESTION = "Is anyone listening out there tonight?"


async def test_words_slower_than_nothing_but_within_the_silence_limit_keep_the_stream() -> None:
    # Each word comes 0.15 s after the last; the answer takes several times the 0.6 s limit
    # in all. A watch that counted from the first read, not the latest, would cut it.
    async with (
        LocalKnowrithm(word_delay=0.15, heartbeat_interval=30.0) as server,
        client_for(server, stream_idle_timeout=0.6) as client,
    ):
        cid = await new_conversation(client, server)
        started = time.monotonic()
        events = await reply_events(client, cid, QUESTION)
        took = time.monotonic() - started
    answer = expected_echo(QUESTION)
    text, done = split(events)
    assert took > 2 * 0.6, f"the answer took only {took:.2f} s: the test proves nothing"
    assert (text, done.message.content) == (answer, answer)
    assert count(server, "GET", "/messages/stream") == 1  # never reconnected
    assert count(server, "GET", "/status") == 0  # never polled


async def _first_delta_then_wait(
    client: KnowrithmClient, cid: str, seen: list[ReplyEvent], first: asyncio.Event
) -> None:
    stream = client.stream_reply(conversation_id=cid, text=QUESTION)
    async with contextlib.aclosing(stream):
        async for event in stream:
            seen.append(event)
            if isinstance(event, ReplyDelta):
                first.set()


@pytest.mark.parametrize("after", [0.0, 0.39], ids=["at-once", "as-the-limit-runs-out"])
async def test_a_cancel_while_the_stream_is_silent_reaches_the_caller(after: float) -> None:
    async with (
        LocalKnowrithm(heartbeat_interval=30.0) as server,
        client_for(server, stream_idle_timeout=0.4) as client,
    ):
        cid = await new_conversation(client, server)
        server.faults.hold_replies(after_words=1)
        seen: list[ReplyEvent] = []
        first = asyncio.Event()
        reading = asyncio.create_task(_first_delta_then_wait(client, cid, seen, first))
        await asyncio.wait_for(first.wait(), 5)
        # At 0.39 s the cancel and the silence limit (0.4 s) may land on the same read.
        await asyncio.sleep(after)
        reading.cancel()
        cancelled_at = time.monotonic()
        await asyncio.wait({reading}, timeout=5)
        assert time.monotonic() - cancelled_at < 1.0
        server.faults.release_replies()
        assert reading.cancelled(), "the caller's cancel was swallowed"
        # Nothing was sent again or polled on the caller's behalf.
        assert server.state.chat_requests == [(cid, QUESTION)]
        assert count(server, "GET", "/status") == 0
    assert [e for e in seen if isinstance(e, ReplyDelta)] == [
        ReplyDelta(split_words(expected_echo(QUESTION))[0])
    ]


class _Silent(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b": connected\n\n"
        await asyncio.Event().wait()


async def test_a_cancel_landing_with_the_silence_limit_is_still_the_callers() -> None:
    # Both cancels reach the read before it runs again: the watch's own must not swallow
    # the caller's. Driven by hand, as two timers never fire reliably in one loop pass.
    reader = _SSEReader(httpx.Response(200, stream=_Silent()))
    reading = asyncio.create_task(reader.next(idle_timeout=60.0))
    await asyncio.sleep(0.05)
    assert not reading.done()
    reader._since -= 61.0  # the limit has run out
    reader._watch()
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    await reader.aclose()


async def test_the_silence_limit_alone_loses_the_stream() -> None:
    reader = _SSEReader(httpx.Response(200, stream=_Silent()))
    started = time.monotonic()
    with pytest.raises(_StreamLost):
        await reader.next(idle_timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 2.0
    await reader.aclose()
