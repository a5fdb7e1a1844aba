"""stream_reply over httpx.MockTransport: SSE first, one send, deltas, fallbacks, cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

import httpx
import pytest

from core.errors import AuthError, KnowrithmError, UnavailableError
from core.knowrithm import KnowrithmClient, ReplyDelta, ReplyDone, ReplyEvent
from tests.core.knowrithm.fakes import (
    CID,
    FakeKnowrithm,
    FakeStream,
    body_of,
    json_response,
    make_client,
    message,
    sse_frame,
    stream_response,
)

TASK = "task-1"
USER_MID = "um-1"
STREAM_PATH = f"/api/v1/conversation/{CID}/messages/stream"
CHAT_PATH = f"/api/v1/conversation/{CID}/chat"
TASK_PATH = f"/api/v1/tasks/{TASK}/status"
HISTORY_PATH = f"/api/v1/conversation/{CID}/messages"
CHAT_202 = {
    "status": "queued",
    "task_id": TASK,
    "conversation_id": CID,
    "message_id": USER_MID,
    "poll_url": TASK_PATH,
}
FINAL = "Hello there, world."


def status(value: str, event_id: int, **extra: Any) -> bytes:
    data = {"status": value, "task_id": TASK, "message_id": USER_MID, **extra}
    return sse_frame("chat_status", data, event_id=event_id)


def chunk(index: int, text: str, event_id: int, task_id: str = TASK) -> bytes:
    data = {"task_id": task_id, "message_id": USER_MID, "content": text, "index": index}
    return sse_frame("chat_chunk", data, event_id=event_id)


def response(content: str, event_id: int, task_id: str = TASK) -> bytes:
    data = {
        "task_id": task_id,
        "conversation_id": CID,
        "message_id": "am-1",
        "reply_to": USER_MID,
        "role": "assistant",
        "content": content,
        "created_at": "2025-01-01T00:00:02Z",
        "metadata": {"cited_sources": ["doc-1"]},
    }
    return sse_frame("chat_response", data, event_id=event_id)


WORDS = ["Hello ", "there, ", "world."]
FULL_REPLY = [
    status("queued", 1),
    status("in_progress", 2),
    *[chunk(i, word, 3 + i) for i, word in enumerate(WORDS)],
    response(FINAL, 6),
    status("completed", 7),
]


class Script:
    """Stream opens answered in turn; the chat POST feeds frames into the first stream."""

    def __init__(
        self,
        fake: FakeKnowrithm,
        *,
        opens: list[FakeStream | httpx.Response | Exception] | None = None,
        chat: list[httpx.Response | Exception] | None = None,
        frames: list[bytes | BaseException | None] | None = None,
    ) -> None:
        self.opens = opens if opens is not None else [FakeStream()]
        self.frames = frames if frames is not None else list(FULL_REPLY)
        self.streams: list[FakeStream] = [s for s in self.opens if isinstance(s, FakeStream)]
        self.opened: list[FakeStream] = []
        self._chat = chat if chat is not None else [json_response(202, CHAT_202)]
        fake.on("GET", STREAM_PATH, self._open)
        fake.on("POST", CHAT_PATH, self._post)

    def _open(self, request: httpx.Request) -> httpx.Response:
        answer = self.opens.pop(0) if len(self.opens) > 1 else self.opens[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, FakeStream):
            self.opened.append(answer)
            return stream_response(answer)
        return answer

    def _post(self, request: httpx.Request) -> httpx.Response:
        answer = self._chat.pop(0) if len(self._chat) > 1 else self._chat[0]
        if isinstance(answer, Exception):
            raise answer
        if answer.status_code == 202 and self.opened:
            # The frames of a reply go to the stream opened for this send.
            self.opened[-1].push(*self.frames)
        return answer


async def collect(client: KnowrithmClient, text: str = "hi") -> list[ReplyEvent]:
    stream = client.stream_reply(conversation_id=CID, text=text)
    async with contextlib.aclosing(stream):
        return [event async for event in stream]


def texts(events: list[ReplyEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, ReplyDelta))


def done(events: list[ReplyEvent]) -> ReplyDone:
    assert isinstance(events[-1], ReplyDone)
    assert sum(isinstance(e, ReplyDone) for e in events) == 1
    return events[-1]


async def test_stream_is_opened_before_the_send_and_deltas_follow() -> None:
    fake = FakeKnowrithm()
    script = Script(fake, opens=[FakeStream(), FakeStream()])
    fake.on("GET", HISTORY_PATH, json_response(200, {"messages": []}))
    async with make_client(fake) as client:
        events = await collect(client, text="Hi there")
        # The first answer named the user message, so later sends skip the history mark.
        again = await collect(client, text="Again")
    assert [(r.method, r.url.path) for r in fake.requests] == [
        ("GET", STREAM_PATH),
        ("GET", HISTORY_PATH),
        ("POST", CHAT_PATH),
        ("GET", STREAM_PATH),
        ("POST", CHAT_PATH),
    ]
    assert fake.requests[0].headers["Accept"] == "text/event-stream"
    assert body_of(fake.requests[2]) == {"message": "Hi there"}
    assert done(again).message.content == FINAL
    assert script.streams[1].closed
    assert events[:-1] == [ReplyDelta(w) for w in WORDS]
    final = done(events).message
    assert (final.id, final.role, final.content, final.conversation_id) == (
        "am-1",
        "assistant",
        FINAL,
        CID,
    )
    assert final.metadata == {"cited_sources": ["doc-1"]}
    assert script.streams[0].closed


async def test_final_content_is_authoritative_over_the_deltas() -> None:
    fake = FakeKnowrithm()
    frames = [chunk(0, "Helo ", 1), response("Hello, corrected.", 2)]
    Script(fake, frames=frames)
    async with make_client(fake) as client:
        events = await collect(client)
    assert texts(events) == "Helo "
    assert done(events).message.content == "Hello, corrected."


async def test_other_replies_heartbeats_comments_and_replayed_chunks_are_skipped() -> None:
    fake = FakeKnowrithm()
    frames = [
        b": connected\n\n",
        chunk(0, "OTHER ", 1, task_id="task-0"),
        sse_frame("heartbeat", {"ts": 1}, event_id=2),
        sse_frame("chat_status", {"status": "failed", "task_id": "task-0"}, event_id=3),
        chunk(0, "Hello ", 4),
        chunk(0, "Hello ", 4),
        b'event: chat_chunk\r\ndata: {"task_id": "task-1",\r\n'
        b'data: "content": "you", "index": 1}\r\n\r\n',
        response("OTHER FINAL", 5, task_id="task-0"),
        response("Hello you", 6),
    ]
    Script(fake, frames=frames)
    async with make_client(fake) as client:
        events = await collect(client)
    assert events == [ReplyDelta("Hello "), ReplyDelta("you"), done(events)]
    assert done(events).message.content == "Hello you"


async def test_reply_without_any_chunk() -> None:
    fake = FakeKnowrithm()
    Script(fake, frames=[status("queued", 1), response(FINAL, 2), status("completed", 3)])
    async with make_client(fake) as client:
        events = await collect(client)
    assert len(events) == 1
    assert done(events).message.content == FINAL


async def test_events_are_matched_by_message_id_when_there_is_no_task_id() -> None:
    fake = FakeKnowrithm()
    other = {"message_id": "um-0", "content": "NOT MINE ", "index": 0}
    mine = {"message_id": USER_MID, "content": "mine ", "index": 0}
    reply = {"message_id": "am-1", "reply_to": USER_MID, "role": "assistant", "content": "mine!"}
    frames = [
        sse_frame("chat_chunk", other),
        sse_frame("chat_chunk", mine),
        sse_frame("chat_response", {**reply, "reply_to": "um-0", "content": "NOT MINE"}),
        sse_frame("chat_response", reply),
    ]
    Script(
        fake, frames=frames, chat=[json_response(202, {"status": "queued", "message_id": USER_MID})]
    )
    async with make_client(fake) as client:
        events = await collect(client)
    assert events == [ReplyDelta("mine "), done(events)]
    assert done(events).message.content == "mine!"


async def test_synchronous_answer_to_the_send_is_the_reply() -> None:
    fake = FakeKnowrithm()
    sync = json_response(200, {"message": message("am-7", "assistant", "Sync answer.")})
    script = Script(fake, chat=[sync])
    async with make_client(fake) as client:
        events = await collect(client)
    assert events == [ReplyDone(done(events).message)]
    assert (done(events).message.id, done(events).message.content) == ("am-7", "Sync answer.")
    assert script.streams[0].closed
    assert fake.seen("GET", TASK_PATH) == []


async def test_send_message_returns_the_final_message() -> None:
    fake = FakeKnowrithm()
    script = Script(fake)
    async with make_client(fake) as client:
        final = await client.send_message(conversation_id=CID, text="hi")
    assert final.content == FINAL
    assert script.streams[0].closed


@pytest.mark.parametrize(
    "refusal",
    [
        json_response(503, {"detail": "Streaming is not configured"}),
        json_response(404, {"detail": "Not Found"}),
        httpx.ConnectError("refused"),
        httpx.Response(200, json={"not": "a stream"}),
    ],
)
async def test_unavailable_stream_falls_back_to_task_polling(
    refusal: httpx.Response | Exception,
) -> None:
    fake = FakeKnowrithm()
    Script(fake, opens=[refusal])
    fake.on(
        "GET",
        TASK_PATH,
        json_response(200, {"task_id": TASK, "status": "pending"}),
        json_response(
            200,
            {"task_id": TASK, "status": "completed", "result": message("am-1", "assistant", FINAL)},
        ),
    )
    async with make_client(fake) as client:
        events = await collect(client)
    assert [e.message.content for e in events if isinstance(e, ReplyDone)] == [FINAL]
    assert len(events) == 1
    assert len(fake.seen("POST", CHAT_PATH)) == 1
    assert len(fake.seen("GET", TASK_PATH)) == 2


async def test_fallback_reads_the_history_when_the_task_has_no_message() -> None:
    fake = FakeKnowrithm()
    Script(fake, opens=[json_response(503, {})])
    fake.on("GET", TASK_PATH, json_response(200, {"status": "done"}))
    page1 = {"messages": [message("um-0", "user", "old")], "pagination": {"pages": 2}}
    page2 = {
        "messages": [
            message("am-0", "assistant", "old answer"),
            message(USER_MID, "user", "hi"),
            message("am-1", "assistant", FINAL),
        ],
        "pagination": {"pages": 2},
    }

    def history(request: httpx.Request) -> httpx.Response:
        return json_response(200, page2 if request.url.params["page"] == "2" else page1)

    fake.on("GET", f"/api/v1/conversation/{CID}/messages", history)
    async with make_client(fake) as client:
        events = await collect(client)
    assert done(events).message.id == "am-1"
    assert done(events).message.content == FINAL


async def test_stream_cut_mid_reply_resumes_with_last_event_id_without_repeats() -> None:
    fake = FakeKnowrithm()
    first, second = FakeStream(), FakeStream()
    cut = httpx.RemoteProtocolError("peer closed connection without sending complete message body")
    frames = [status("queued", 1), chunk(0, "Hello ", 3), chunk(1, "there, ", 4), cut]
    Script(fake, opens=[first, second], frames=frames)
    # The server replays from id 4 on; a sloppy server may repeat chunk 1 as well.
    second.push(chunk(1, "there, ", 4), chunk(2, "world.", 5), response(FINAL, 6))
    async with make_client(fake) as client:
        events = await collect(client)
    assert texts(events) == "Hello there, world."
    assert done(events).message.content == FINAL
    opens = fake.seen("GET", STREAM_PATH)
    assert len(opens) == 2
    assert "Last-Event-ID" not in opens[0].headers
    assert opens[1].headers["Last-Event-ID"] == "4"
    assert len(fake.seen("POST", CHAT_PATH)) == 1
    assert first.closed
    assert second.closed


async def test_silent_stream_reconnects_once_then_polls() -> None:
    fake = FakeKnowrithm()
    first, second = FakeStream(), FakeStream()
    Script(fake, opens=[first, second], frames=[status("queued", 1), chunk(0, "Hello ", 2)])
    fake.on(
        "GET",
        TASK_PATH,
        json_response(200, {"status": "completed", "result": message("am-1", "assistant", FINAL)}),
    )
    async with make_client(fake, stream_idle_timeout=0.05) as client:
        events = await collect(client)
    assert events == [ReplyDelta("Hello "), done(events)]
    assert done(events).message.content == FINAL
    assert len(fake.seen("GET", STREAM_PATH)) == 2
    assert len(fake.seen("POST", CHAT_PATH)) == 1
    assert first.closed
    assert second.closed


async def test_failed_reconnect_falls_back_to_polling() -> None:
    fake = FakeKnowrithm()
    first = FakeStream()
    Script(fake, opens=[first, json_response(503, {})], frames=[chunk(0, "Hel", 1), None])
    fake.on(
        "GET",
        TASK_PATH,
        json_response(200, {"status": "completed", "result": message("am-1", "assistant", FINAL)}),
    )
    async with make_client(fake) as client:
        events = await collect(client)
    assert events == [ReplyDelta("Hel"), done(events)]
    assert done(events).message.content == FINAL
    assert len(fake.seen("POST", CHAT_PATH)) == 1


async def test_completed_status_without_a_response_event_polls_the_task() -> None:
    fake = FakeKnowrithm()
    Script(fake, frames=[chunk(0, "Hi", 1), status("completed", 2)])
    fake.on(
        "GET",
        TASK_PATH,
        json_response(200, {"status": "completed", "result": message("am-1", "assistant", "Hi!")}),
    )
    async with make_client(fake) as client:
        events = await collect(client)
    assert events == [ReplyDelta("Hi"), done(events)]
    assert done(events).message.content == "Hi!"


async def test_failed_status_raises_and_closes_the_stream() -> None:
    fake = FakeKnowrithm()
    script = Script(
        fake, frames=[status("in_progress", 1), status("failed", 2, error="model overloaded")]
    )
    async with make_client(fake) as client:
        with pytest.raises(KnowrithmError, match="model overloaded"):
            await collect(client)
    assert script.streams[0].closed


async def test_malformed_response_event_reads_the_reply_from_the_task() -> None:
    # The send was accepted: raising would make the caller send the message again.
    fake = FakeKnowrithm()
    script = Script(fake, frames=[b"event: chat_response\ndata: {oops\n\n"])
    fake.on(
        "GET",
        TASK_PATH,
        json_response(200, {"status": "completed", "result": message("am-1", "assistant", FINAL)}),
    )
    async with make_client(fake) as client:
        events = await collect(client)
    assert events == [done(events)]
    assert done(events).message.content == FINAL
    assert len(fake.seen("POST", CHAT_PATH)) == 1
    assert script.streams[0].closed


@pytest.mark.parametrize(
    "failure",
    [
        json_response(500, {"detail": "boom"}),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
async def test_a_send_that_may_have_arrived_is_never_repeated(
    failure: httpx.Response | Exception,
) -> None:
    fake = FakeKnowrithm()
    script = Script(fake, chat=[failure, json_response(202, CHAT_202)])
    async with make_client(fake) as client:
        with pytest.raises(UnavailableError, match="send the message"):
            await collect(client)
    assert len(fake.seen("POST", CHAT_PATH)) == 1
    assert script.streams[0].closed


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), json_response(429, {})])
async def test_a_send_that_certainly_did_not_arrive_is_repeated(
    failure: httpx.Response | Exception,
) -> None:
    fake = FakeKnowrithm()
    Script(fake, chat=[failure, json_response(202, CHAT_202)])
    async with make_client(fake) as client:
        events = await collect(client)
    assert done(events).message.content == FINAL
    assert len(fake.seen("POST", CHAT_PATH)) == 2


async def test_refused_credentials_on_the_stream_raise_without_sending() -> None:
    fake = FakeKnowrithm()
    Script(fake, opens=[json_response(401, {"detail": "Invalid API credentials"})])
    async with make_client(fake) as client:
        with pytest.raises(AuthError, match="open the reply stream"):
            await collect(client)
    assert fake.seen("POST", CHAT_PATH) == []


async def test_stopping_early_with_aclose_closes_the_stream() -> None:
    fake = FakeKnowrithm()
    script = Script(fake)
    async with make_client(fake) as client:
        stream = client.stream_reply(conversation_id=CID, text="hi")
        assert await anext(stream) == ReplyDelta("Hello ")
        assert not script.streams[0].closed
        await stream.aclose()
        assert script.streams[0].closed


async def _first_delta(client: KnowrithmClient) -> ReplyEvent:
    async for event in client.stream_reply(conversation_id=CID, text="hi"):
        return event  # abandons the iterator without closing it
    raise AssertionError("no event")


async def test_abandoned_iterator_still_closes_the_stream() -> None:
    fake = FakeKnowrithm()
    script = Script(fake)
    async with make_client(fake) as client:
        assert await _first_delta(client) == ReplyDelta("Hello ")
        gc.collect()
        for _ in range(10):
            if script.streams[0].closed:
                break
            await asyncio.sleep(0)
        assert script.streams[0].closed
