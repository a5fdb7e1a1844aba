"""Oversized or hostile SSE input: the parser's limits and the client's way around them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.errors import ProtocolError
from knowrithm_bots.core.knowrithm import ReplyDelta, ReplyDone
from knowrithm_bots.core.knowrithm.sse import SSEEvent, SSEParser
from tests.core.knowrithm.fakes import (
    CHAT_202,
    CHAT_PATH,
    FINAL,
    STREAM_PATH,
    TASK,
    TASK_PATH,
    FakeKnowrithm,
    collect,
    json_response,
    make_client,
    message,
    sse_frame,
    stream_response,
)
from tests.core.knowrithm.steps import new_conversation, reply_events
from tests.harness import client_for

LIMIT = 1 << 20  # the documented limit: about a megabyte per line and per event
PIECE = 65_536


# --- the parser on its own ----------------------------------------------------------------


def _feed_all(parser: SSEParser, pieces: Iterable[bytes]) -> None:
    for piece in pieces:
        parser.feed_bytes(piece)


def test_a_line_that_never_ends_is_refused_soon_after_the_limit() -> None:
    parser = SSEParser()
    parser.feed_bytes(b"event: chat_chunk\ndata: ")
    fed: list[int] = []

    def flood() -> Iterator[bytes]:
        while sum(fed) < 8 * LIMIT:
            fed.append(PIECE)
            yield b"x" * PIECE

    with pytest.raises(ProtocolError, match="line longer than"):
        _feed_all(parser, flood())
    assert sum(fed) <= LIMIT + PIECE


def test_an_event_of_many_lines_is_refused_past_the_limit_but_one_just_under_passes() -> None:
    parser = SSEParser()
    under = "a" * (LIMIT - 1000)
    for _ in range(3):  # the count starts again with each event
        assert parser.feed(f"data: {under}\n\n") == [SSEEvent(event="message", data=under)]
    lines = [b"data: " + b"b" * 1000 + b"\n"] * (2 * LIMIT // 1000)
    with pytest.raises(ProtocolError, match="more than 1,048,576 characters of data"):
        _feed_all(parser, lines)


def _feed_seconds(pieces: int) -> float:
    """The least CPU time, of three runs, to parse one line fed in ``pieces`` pieces."""
    chunks = ["data: ", *["w" * 100] * pieces, "\r", "\n", "\n"]
    best = float("inf")
    for _ in range(3):
        parser = SSEParser()
        started = time.process_time()
        events = [event for piece in chunks for event in parser.feed(piece)]
        best = min(best, time.process_time() - started)
        assert events == [SSEEvent(event="message", data="w" * 100 * pieces)]
    return best


def test_a_long_line_costs_its_length_not_its_square() -> None:
    # Re-scanning the unfinished line on every chunk makes a long line cost its length
    # squared: four times the pieces would cost sixteen times the time, not four.
    small, large = _feed_seconds(2_000), _feed_seconds(8_000)
    assert large < 10 * max(small, 1e-4), (small, large)


# --- through the client: MockTransport, for framing the local server never sends ----------
# A data line that never ends, and chunk data nested 100,000 deep: the local server ends
# every event it writes and sends chunk text as a JSON string.


class _Flood(httpx.AsyncByteStream):
    """An SSE body whose one data line never ends; counts the bytes the client pulled."""

    def __init__(self, *, total: int) -> None:
        self.total = total
        self.pulled = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"event: chat_chunk\ndata: "
        while self.pulled < self.total:
            self.pulled += PIECE
            yield b"x" * PIECE
        await asyncio.Event().wait()  # then silence

    async def aclose(self) -> None:
        self.closed = True


def _task_done(request: httpx.Request) -> httpx.Response:
    body = {"status": "completed", "result": message("am-1", "assistant", FINAL)}
    return json_response(200, body)


async def test_a_never_ending_line_drops_the_stream_and_the_task_gives_the_reply() -> None:
    fake = FakeKnowrithm()
    floods: list[_Flood] = []

    def open_stream(request: httpx.Request) -> httpx.Response:
        floods.append(_Flood(total=8 * LIMIT))
        return stream_response(floods[-1])

    fake.on("GET", STREAM_PATH, open_stream)
    fake.on("POST", CHAT_PATH, json_response(202, CHAT_202))
    fake.on("GET", TASK_PATH, _task_done)
    async with make_client(fake, stream_idle_timeout=0.5) as client:
        events = await collect(client)
    (final,) = events
    assert isinstance(final, ReplyDone)
    assert final.message.content == FINAL
    assert len(fake.seen("POST", CHAT_PATH)) == 1
    assert floods  # at most one reconnect, and no stream read far past the limit
    assert len(floods) <= 2
    assert all(flood.pulled <= LIMIT + PIECE for flood in floods)
    assert all(flood.closed for flood in floods)


async def test_chunk_data_nested_too_deeply_is_skipped() -> None:
    fake = FakeKnowrithm()
    frames = (
        b"event: chat_chunk\ndata: " + b"[" * 100_000 + b"\n\n",
        sse_frame("chat_chunk", {"task_id": TASK, "content": "Hello ", "index": 0}),
        sse_frame(
            "chat_response",
            {"task_id": TASK, "message_id": "am-1", "role": "assistant", "content": FINAL},
        ),
    )

    def open_stream(request: httpx.Request) -> httpx.Response:
        return stream_response(httpx.ByteStream(b"".join(frames)))

    fake.on("GET", STREAM_PATH, open_stream)
    fake.on("POST", CHAT_PATH, json_response(202, CHAT_202))
    async with make_client(fake) as client:
        events = await collect(client)
    assert events[0] == ReplyDelta("Hello ")
    assert isinstance(events[1], ReplyDone)
    assert events[1].message.content == FINAL
    assert len(events) == 2


# --- through the client and the local server ----------------------------------------------


async def test_an_event_over_the_limit_drops_the_stream_and_the_task_gives_the_reply() -> None:
    # One "word" longer than the limit: the local server streams it as a single chunk.
    huge = "x" * (LIMIT + 1000)
    async with (
        LocalKnowrithm(agent=ScriptedAgent(lambda question, history: huge)) as server,
        client_for(server, task_timeout=5.0, stream_idle_timeout=2.0) as client,
    ):
        events = await reply_events(client, await new_conversation(client, server), "Go big")
    (final,) = events  # no delta over the limit reached the caller
    assert isinstance(final, ReplyDone)
    assert final.message.content == huge
    assert len(server.state.chat_requests) == 1
    opens = [path for method, path in server.state.requests if path.endswith("/stream")]
    assert len(opens) == 2  # the first stream and one reconnect; then the task answered
