"""stream_reply: SSE first, one send, deltas, fallbacks and cleanup.

Most tests run the real client against the local server; more are in test_local_server.py.
The MockTransport section at the end needs a fake: sloppy SSE framing, sends answered
without a task id, a task result without the message, and transport exceptions on a single
request (a refused stream open, a dropped or refused send) are not what the local server does.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import (
    LocalKnowrithm,
    ScriptedAgent,
    StoredMessage,
    split_words,
)
from knowrithm_bots.core.errors import AuthError, KnowrithmError, UnavailableError
from knowrithm_bots.core.knowrithm import (
    KnowrithmClient,
    ReplyAccepted,
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
)
from tests.core.knowrithm.fakes import (
    CHAT_202,
    CHAT_PATH,
    CID,
    FINAL,
    TASK_PATH,
    USER_MID,
    FakeKnowrithm,
    Script,
    chunk,
    collect,
    done,
    json_response,
    make_client,
    message,
    response,
    sse_frame,
)
from tests.core.knowrithm.recorders import Exchange, WireLog
from tests.core.knowrithm.steps import (
    accept_chat,
    accepted_first,
    count,
    expected_echo,
    new_conversation,
    reply_events,
    split,
    stored_reply,
)
from tests.harness import client_for


async def test_stream_is_opened_before_the_send_and_deltas_follow(
    knowrithm: LocalKnowrithm,
) -> None:
    knowrithm.faults.reply_metadata = {"cited_sources": ["doc-1"]}
    wire = WireLog()
    async with client_for(knowrithm, transport=wire) as client:
        cid = await new_conversation(client, knowrithm)
        before = len(knowrithm.state.requests)
        events = await reply_events(client, cid, "Hi there")
        # The first answer named the user message, so later sends skip the history mark.
        again = await reply_events(client, cid, "Again")
    base = f"/api/v1/conversation/{cid}"
    assert knowrithm.state.requests[before:] == [
        ("GET", f"{base}/messages/stream"),
        ("GET", f"{base}/messages"),
        ("POST", f"{base}/chat"),
        ("GET", f"{base}/messages/stream"),
        ("POST", f"{base}/chat"),
    ]
    first_open, second_open = wire.streams()
    assert first_open.request.headers["Accept"] == "text/event-stream"
    first_send = wire.sent("POST", "/chat")[0].request
    assert json.loads(first_send.content) == {"message": "Hi there"}
    assert knowrithm.state.chat_requests == [(cid, "Hi there"), (cid, "Again")]
    answer = knowrithm.state.messages[cid][1]
    assert events[:-1] == [ReplyDelta(word) for word in split_words(answer.content)]
    final = split(events)[1].message
    assert (final.id, final.role, final.content, final.conversation_id) == (
        answer.id,
        "assistant",
        expected_echo("Hi there"),
        cid,
    )
    assert final.metadata == {"cited_sources": ["doc-1"]}
    assert split(again)[1].message.content == expected_echo("Again", n=2, previous="Hi there")
    assert first_open.closed
    assert second_open.closed


async def test_final_content_is_authoritative_over_the_deltas(knowrithm: LocalKnowrithm) -> None:
    knowrithm.faults.rewrite_chunks = str.upper
    async with client_for(knowrithm) as client:
        cid = await new_conversation(client, knowrithm)
        text, final = split(await reply_events(client, cid, "Hi"))
    assert text == expected_echo("Hi").upper()
    assert final.message.content == expected_echo("Hi") == stored_reply(knowrithm, cid).content


async def test_another_reply_on_the_same_stream_is_skipped(knowrithm: LocalKnowrithm) -> None:
    wire = WireLog()
    async with client_for(knowrithm, transport=wire) as client:
        cid = await new_conversation(client, knowrithm)
        # Every reply stops after its first word until released: the other reply is still in
        # flight, so its events (chunk 0 too) are replayed to this stream and go on in it.
        knowrithm.faults.hold_replies(after_words=1)
        other = await accept_chat(knowrithm, cid, "Someone else")
        stream = client.stream_reply(conversation_id=cid, text="Mine")
        async with contextlib.aclosing(stream):
            accepted = await anext(stream)
            first = await anext(stream)
            knowrithm.faults.release_replies()
            events: list[ReplyEvent] = [accepted, first, *[event async for event in stream]]
    mine = expected_echo("Mine", n=2, previous="Someone else")
    text, final = split(accepted_first(events))
    assert text == final.message.content == mine
    (opened,) = wire.streams()
    assert bytes(opened.received).startswith(b": connected")
    others = [d for d in chunks_read(opened) if d["task_id"] == other["task_id"]]
    assert 0 in [d["index"] for d in others]  # the same index as this reply's first chunk
    assert knowrithm.state.chat_requests == [(cid, "Someone else"), (cid, "Mine")]


def chunks_read(exchange: Exchange) -> list[dict[str, Any]]:
    """The data of every chat_chunk event the client read from one stream."""
    found = []
    for block in bytes(exchange.received).split(b"\n\n"):
        lines = block.split(b"\n")
        if b"event: chat_chunk" in lines:
            data = next(line for line in lines if line.startswith(b"data: "))
            found.append(json.loads(data.removeprefix(b"data: ")))
    return found


async def test_send_message_returns_the_final_message_and_closes_the_stream(
    knowrithm: LocalKnowrithm,
) -> None:
    wire = WireLog()
    async with client_for(knowrithm, transport=wire) as client:
        cid = await new_conversation(client, knowrithm)
        final = await client.send_message(conversation_id=cid, text="hi")
        (opened,) = wire.streams()
        assert opened.closed  # released with the reply, not when the client closes
    assert final.content == expected_echo("hi")
    assert final.id == stored_reply(knowrithm, cid).id


@pytest.mark.parametrize(
    ("status", "body"), [(404, None), (200, '{"not": "a stream"}')], ids=["404", "json-200"]
)
async def test_unavailable_stream_falls_back_to_task_polling(
    knowrithm: LocalKnowrithm, status: int, body: str | None
) -> None:
    # The 503 of a deployment without streaming: test_local_server.py, streaming disabled.
    async with client_for(knowrithm) as client:
        cid = await new_conversation(client, knowrithm)
        knowrithm.faults.fail_next(
            method="GET", path_contains="/messages/stream", status=status, body=body
        )
        # The reply waits for the first status poll, so that poll certainly finds it pending.
        knowrithm.faults.hold_replies(until_request="/status")
        events = await reply_events(client, cid, "Hi")
    (final,) = events
    assert isinstance(final, ReplyDone)
    assert final.message.content == expected_echo("Hi")
    assert knowrithm.state.chat_requests == [(cid, "Hi")]
    assert count(knowrithm, "POST", "/chat") == 1
    assert count(knowrithm, "GET", "/messages/stream") == 1
    assert count(knowrithm, "GET", "/status") >= 2


async def test_completed_status_without_a_response_event_polls_the_task(
    knowrithm: LocalKnowrithm,
) -> None:
    knowrithm.faults.omitted_events = frozenset({"chat_response"})
    async with client_for(knowrithm) as client:
        cid = await new_conversation(client, knowrithm)
        text, final = split(await reply_events(client, cid, "Hi"))
    assert text == final.message.content == expected_echo("Hi")
    assert final.message.id == stored_reply(knowrithm, cid).id
    assert count(knowrithm, "GET", "/status") >= 1
    assert count(knowrithm, "GET", "/messages/stream") == 1  # no wait for a silent stream
    assert knowrithm.state.chat_requests == [(cid, "Hi")]


def _overloaded(question: str, history: Sequence[StoredMessage]) -> str:
    raise RuntimeError("model overloaded")


async def test_failed_status_raises_and_closes_the_stream() -> None:
    wire = WireLog()
    async with (
        LocalKnowrithm(agent=ScriptedAgent(_overloaded)) as server,
        client_for(server, transport=wire) as client,
    ):
        cid = await new_conversation(client, server)
        with pytest.raises(KnowrithmError, match="model overloaded"):
            await reply_events(client, cid, "Hi")
        (opened,) = wire.streams()
        assert opened.closed
    assert server.state.chat_requests == [(cid, "Hi")]
    assert count(server, "GET", "/status") == 0  # the stream said why; nothing to poll


async def test_a_send_that_timed_out_after_it_was_stored_is_awaited_not_repeated(
    knowrithm: LocalKnowrithm,
) -> None:
    # The server stores the message, then holds its synchronous answer past the client's
    # timeout: the history shows the message arrived, so its reply is awaited instead.
    wire = WireLog()
    async with client_for(knowrithm, transport=wire, timeout=0.5, task_timeout=10) as client:
        cid = await new_conversation(client, knowrithm)
        knowrithm.faults.chat_mode = "sync"
        knowrithm.faults.hold_replies()

        async def release_once_the_history_is_read() -> None:
            # The server signals no request it saw; the history GET is told apart from the
            # stream's by its path's end, which `hold_replies(until_request=...)` cannot do.
            while count(knowrithm, "GET", "/messages") == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            knowrithm.faults.release_replies()

        releasing = asyncio.create_task(release_once_the_history_is_read())
        try:
            _, done = split(await reply_events(client, cid, "Hi"))
        finally:
            knowrithm.faults.release_replies()
            releasing.cancel()
    assert done.message.content == expected_echo("Hi")
    assert count(knowrithm, "POST", "/chat") == 1
    assert knowrithm.state.chat_requests == [(cid, "Hi")]


async def test_refused_credentials_on_the_stream_raise_without_sending(
    knowrithm: LocalKnowrithm,
) -> None:
    async with client_for(knowrithm) as client:
        cid = await new_conversation(client, knowrithm)
    refused = KnowrithmClient(
        base_url=knowrithm.base_url, api_key=knowrithm.api_key, api_secret="revoked-secret"
    )
    async with refused:
        with pytest.raises(AuthError, match="open the reply stream") as info:
            await reply_events(refused, cid, "Hi")
    assert "revoked-secret" not in str(info.value)
    assert count(knowrithm, "POST", "/chat") == 0
    assert knowrithm.state.chat_requests == []


async def test_stopping_early_with_aclose_closes_the_stream(knowrithm: LocalKnowrithm) -> None:
    wire = WireLog()
    async with client_for(knowrithm, transport=wire) as client:
        cid = await new_conversation(client, knowrithm)
        stream = client.stream_reply(conversation_id=cid, text="hi")
        assert isinstance(await anext(stream), ReplyAccepted)
        assert await anext(stream) == ReplyDelta(split_words(expected_echo("hi"))[0])
        (opened,) = wire.streams()
        assert not opened.closed
        await stream.aclose()
        assert opened.closed


async def _first_event(client: KnowrithmClient, conversation_id: str) -> ReplyEvent:
    async for event in client.stream_reply(conversation_id=conversation_id, text="hi"):
        if not isinstance(event, ReplyAccepted):
            return event  # abandons the iterator without closing it
    raise AssertionError("no event")


async def test_abandoned_iterator_still_closes_the_stream(knowrithm: LocalKnowrithm) -> None:
    wire = WireLog()
    async with client_for(knowrithm, transport=wire) as client:
        cid = await new_conversation(client, knowrithm)
        assert await _first_event(client, cid) == ReplyDelta(split_words(expected_echo("hi"))[0])
        (opened,) = wire.streams()
        gc.collect()
        for _ in range(100):
            if opened.closed:
                break
            await asyncio.sleep(0)
        assert opened.closed


# --- MockTransport: framing, answer shapes and single-request failures --------------------
# The local server frames every event cleanly, always answers a send with a task id, keeps
# the message in every task result, and cannot refuse or drop one chosen connection.


async def test_sloppy_framing_heartbeats_comments_and_repeated_chunks_are_skipped() -> None:
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


async def test_refused_stream_connection_falls_back_to_task_polling() -> None:
    fake = FakeKnowrithm()
    Script(fake, opens=[httpx.ConnectError("refused")])
    fake.on(
        "GET",
        TASK_PATH,
        json_response(200, {"task_id": "task-1", "status": "pending"}),
        json_response(
            200,
            {
                "task_id": "task-1",
                "status": "completed",
                "result": message("am-1", "assistant", FINAL),
            },
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


async def test_a_send_dropped_without_an_answer_is_never_repeated() -> None:
    fake = FakeKnowrithm()
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    script = Script(fake, chat=[dropped, json_response(202, CHAT_202)])
    async with make_client(fake) as client:
        with pytest.raises(UnavailableError, match="send the message"):
            await collect(client)
    assert len(fake.seen("POST", CHAT_PATH)) == 1
    assert script.streams[0].closed


async def test_a_send_whose_connection_was_refused_is_repeated() -> None:
    fake = FakeKnowrithm()
    Script(fake, chat=[httpx.ConnectError("refused"), json_response(202, CHAT_202)])
    async with make_client(fake) as client:
        events = await collect(client)
    assert done(events).message.content == FINAL
    assert len(fake.seen("POST", CHAT_PATH)) == 2
