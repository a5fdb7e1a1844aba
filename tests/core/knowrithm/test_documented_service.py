"""The client against the documented service: no deltas, no replay, answers without ids.

The local server in documented mode plays the service. The MockTransport section needs a
fake for answers that server never writes: another conversation's answer, the user's own
message echoed back.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from knowrithm_bots.core.errors import KnowrithmError
from knowrithm_bots.core.knowrithm import KnowrithmClient, ReplyDone
from tests.core.knowrithm.fakes import (
    CHAT_202,
    CID,
    FakeKnowrithm,
    Script,
    collect,
    done,
    json_response,
    make_client,
    message,
    sse_frame,
)
from tests.core.knowrithm.steps import expected_echo, new_conversation, reply_events
from tests.harness import client_for

# Far longer than a local round trip: an answer that waited for it would show at once.
IDLE_TIMEOUT = 10.0


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm(mode="documented") as running:
        yield running


@pytest.fixture
async def client(server: LocalKnowrithm) -> AsyncIterator[KnowrithmClient]:
    async with client_for(
        server, stream_idle_timeout=IDLE_TIMEOUT, task_timeout=IDLE_TIMEOUT
    ) as opened:
        yield opened


async def test_the_answer_comes_with_its_chat_response_not_after_a_timeout(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    cid = await new_conversation(client, server)
    for n, question in enumerate(("What is 2+2?", "And 3+3?"), start=1):
        before = len(server.state.requests)
        started = time.monotonic()
        events = await reply_events(client, cid, question)
        elapsed = time.monotonic() - started
        previous = None if n == 1 else "What is 2+2?"
        (final,) = events  # no deltas: the documented service sends none
        assert isinstance(final, ReplyDone)
        assert final.message.content == expected_echo(question, n=n, previous=previous)
        assert final.message.id == server.state.messages[cid][-1].id
        # Read from the stream, not from a poll; one look at the history tells that the
        # answer, which names no question, is not a late one to an earlier question.
        after_send = server.state.requests[before:]
        sent_at = after_send.index(("POST", f"/api/v1/conversation/{cid}/chat"))
        assert after_send[sent_at + 1 :] == [("GET", f"/api/v1/conversation/{cid}/messages")]
        assert elapsed < IDLE_TIMEOUT / 5, elapsed
    assert len(server.state.chat_requests) == 2


async def test_a_failed_answer_is_reported_once_and_not_sent_again() -> None:
    def broken(question: str, history: Sequence[StoredMessage]) -> str:
        raise RuntimeError("model offline")

    async with (
        LocalKnowrithm(mode="documented", agent=ScriptedAgent(broken)) as server,
        client_for(server, stream_idle_timeout=IDLE_TIMEOUT) as client,
    ):
        cid = await new_conversation(client, server)
        started = time.monotonic()
        with pytest.raises(KnowrithmError, match="model offline"):
            await client.send_message(conversation_id=cid, text="hi")
        assert time.monotonic() - started < IDLE_TIMEOUT / 5
    assert server.state.chat_requests == [(cid, "hi")]


# --- MockTransport: answers the documented-mode server never writes ----------------------


def nested(role: str, content: str, *, conversation_id: str = CID, mid: str = "am-1") -> bytes:
    body = message(mid, role, content, conversation_id=conversation_id)
    data = {"conversation_id": conversation_id, "status": "completed", "message": body}
    return sse_frame("chat_response", data)


async def test_the_users_own_message_and_other_conversations_are_not_the_answer() -> None:
    fake = FakeKnowrithm()
    frames = [
        sse_frame(
            "chat_status", {"conversation_id": CID, "message_id": "um-1", "status": "queued"}
        ),
        nested("user", "hi", mid="um-1"),
        nested("assistant", "NOT MINE", conversation_id="conv-2"),
        nested("assistant", "Hello there."),
    ]
    Script(fake, frames=frames, chat=[json_response(202, CHAT_202)])
    async with make_client(fake, stream_idle_timeout=IDLE_TIMEOUT) as client:
        started = time.monotonic()
        events = await collect(client)
    assert time.monotonic() - started < IDLE_TIMEOUT / 5
    assert len(events) == 1
    assert (done(events).message.id, done(events).message.content) == ("am-1", "Hello there.")
