"""Steps shared by the client tests that run against the local server (bots.local_knowrithm)."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, StoredMessage
from knowrithm_bots.core.knowrithm import (
    KnowrithmClient,
    ReplyAccepted,
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
)
from tests.support import stored_replies


def expected_echo(question: str, *, n: int = 1, previous: str | None = None) -> str:
    """What the local server's EchoAgent answers."""
    text = f'You asked: "{question}". This is message {n} of this conversation'
    if previous is not None:
        text += f'; before this you said "{previous}"'
    return (
        text + ". I am the local Knowrithm agent, so the same question always gets the same"
        " answer. Point knowrithm.base_url at a real agent to get real answers."
    )


async def new_conversation(client: KnowrithmClient, server: LocalKnowrithm) -> str:
    """Start a USER conversation with the server's agent; return its id."""
    conv = await client.start_conversation(agent_id=server.agent_id, entity_type="USER")
    return conv.id


async def reply_events(
    client: KnowrithmClient, conversation_id: str, text: str
) -> list[ReplyEvent]:
    """Every event of one `stream_reply` after its `ReplyAccepted`, the stream closed
    afterwards; fails unless the acceptance came first, once."""
    stream = client.stream_reply(conversation_id=conversation_id, text=text)
    async with contextlib.aclosing(stream):
        return accepted_first([event async for event in stream])


def accepted_first(events: list[ReplyEvent]) -> list[ReplyEvent]:
    """``events`` without their `ReplyAccepted`, which must come first and only once: a
    caller records the question as with Knowrithm before it shows any of the answer."""
    assert events, "stream_reply yielded nothing"
    assert isinstance(events[0], ReplyAccepted), events[0]
    assert not any(isinstance(e, ReplyAccepted) for e in events[1:]), events
    return events[1:]


def split(events: list[ReplyEvent]) -> tuple[str, ReplyDone]:
    """The deltas' text and the one final event, checking that the reply is well formed."""
    assert isinstance(events[-1], ReplyDone)
    assert all(isinstance(e, ReplyDelta) for e in events[:-1])
    return "".join(e.text for e in events if isinstance(e, ReplyDelta)), events[-1]


def count(server: LocalKnowrithm, method: str, suffix: str) -> int:
    """How many requests of `method` whose path ends with `suffix` the server received."""
    return sum(1 for m, path in server.state.requests if m == method and path.endswith(suffix))


def stored_reply(server: LocalKnowrithm, conversation_id: str) -> StoredMessage:
    """The newest assistant message the server stored in a conversation."""
    replies = stored_replies(server, conversation=conversation_id)
    assert replies, "the server stored no reply"
    return replies[-1]


async def accept_chat(server: LocalKnowrithm, conversation_id: str, text: str) -> dict[str, Any]:
    """Send a chat message with plain httpx (test setup, not the client under test)."""
    headers = {"X-API-Key": server.api_key, "X-API-Secret": server.api_secret}
    async with httpx.AsyncClient(headers=headers) as http:
        answer = await http.post(
            f"{server.base_url}/v1/conversation/{conversation_id}/chat", json={"message": text}
        )
    assert answer.status_code == 202, answer.text
    body: dict[str, Any] = answer.json()
    return body
