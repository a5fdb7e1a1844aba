"""Hostile or broken answers from Knowrithm, through the real client and the local server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from knowrithm_bots.core.errors import (
    AuthError,
    BadRequestError,
    KnowrithmError,
    ProtocolError,
    RateLimitedError,
)
from knowrithm_bots.core.knowrithm import KnowrithmClient, ReplyDelta, ReplyDone, ReplyEvent
from knowrithm_bots.core.user_messages import explain
from tests.core.knowrithm import steps
from tests.core.knowrithm.fakes import THREE_TRIES
from tests.harness import client_for
from tests.support import stored_replies

KEY = "Local-Key-AbCdEf-0123"
SECRET = "Local-Secret-XyZ-9876"


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm(api_key=KEY, api_secret=SECRET, word_delay=0.001) as running:
        yield running


@pytest.fixture
async def client(server: LocalKnowrithm) -> AsyncIterator[KnowrithmClient]:
    async with client_for(server, retry=THREE_TRIES) as opened:
        yield opened


async def reply_events(client: KnowrithmClient, server: LocalKnowrithm) -> list[ReplyEvent]:
    """The events of one reply to "Hello there" in a new conversation."""
    conversation_id = await steps.new_conversation(client, server)
    return await steps.reply_events(client, conversation_id, "Hello there")


# --- 1. a bad stream event never throws away an accepted reply ---------------------------


async def test_unreadable_chunk_and_status_events_are_skipped(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    server.faults.unreadable_events = frozenset({"chat_chunk", "chat_status"})
    events = await reply_events(client, server)
    (answer,) = stored_replies(server)
    # The deltas were unreadable; the readable chat_response still ends the reply.
    (final,) = events
    assert isinstance(final, ReplyDone)
    assert (final.message.id, final.message.content) == (answer.id, answer.content)
    assert len(server.state.chat_requests) == 1
    assert steps.count(server, "GET", "/status") == 0


@pytest.mark.parametrize(
    ("unreadable", "missing"),
    [
        (frozenset({"chat_response"}), frozenset()),
        (frozenset(), frozenset({"content"})),
        (frozenset(), frozenset({"message_id"})),
    ],
    ids=["not-json", "no-content", "no-id"],
)
async def test_unreadable_final_event_reads_the_reply_from_the_task_without_resending(
    client: KnowrithmClient,
    server: LocalKnowrithm,
    unreadable: frozenset[str],
    missing: frozenset[str],
) -> None:
    server.faults.unreadable_events = unreadable
    server.faults.response_missing = missing
    events = await reply_events(client, server)
    (answer,) = stored_replies(server)
    deltas = "".join(e.text for e in events if isinstance(e, ReplyDelta))
    final = events[-1]
    assert isinstance(final, ReplyDone)
    assert sum(isinstance(e, ReplyDone) for e in events) == 1
    assert deltas == answer.content
    assert (final.message.id, final.message.content) == (answer.id, answer.content)
    assert len(server.state.chat_requests) == 1
    assert steps.count(server, "GET", "/status") >= 1


# --- 2. JSON nested deeper than the decoder can follow -----------------------------------


async def test_deeply_nested_success_body_is_a_protocol_error(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    server.faults.fail_next(path_contains="/v1/conversation", status=200, body="[" * 100_000)
    with pytest.raises(ProtocolError, match="nested too deeply"):
        await client.start_conversation(agent_id=server.agent_id, entity_type="USER")


async def test_deeply_nested_error_body_still_maps_the_status(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    deep = '{"detail":' * 100_000 + '"x"' + "}" * 100_000
    server.faults.fail_next(path_contains="/v1/conversation", status=400, body=deep)
    with pytest.raises(BadRequestError, match=r"\(HTTP 400\)"):
        await client.start_conversation(agent_id=server.agent_id, entity_type="USER")


# --- 4. redaction ignores case ------------------------------------------------------------


async def test_credentials_echoed_in_another_case_are_redacted(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    detail = f"Unknown key {KEY.upper()} with secret {SECRET.lower()} ({KEY.swapcase()})"
    server.faults.fail_next(
        path_contains="/v1/conversation", status=401, body=json.dumps({"detail": detail})
    )
    with pytest.raises(AuthError) as info:
        await client.start_conversation(agent_id=server.agent_id, entity_type="USER")
    text = str(info.value).lower()
    assert KEY.lower() not in text
    assert SECRET.lower() not in text
    assert text.count("[redacted]") == 3


# --- 5. a failed task's explanation is one short, clean line -----------------------------


def failing_agent(question: str, history: Sequence[StoredMessage]) -> str:
    raise RuntimeError(
        f"model exploded\n\ttraceback line\r\nsecret={SECRET.upper()}\n" + "x" * 5000
    )


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "task-poll"])
async def test_task_failure_text_is_cleaned(streaming: bool) -> None:
    async with (
        LocalKnowrithm(api_key=KEY, api_secret=SECRET, agent=ScriptedAgent(failing_agent)) as srv,
        client_for(srv, retry=THREE_TRIES) as client,
    ):
        srv.faults.streaming_enabled = streaming
        with pytest.raises(KnowrithmError) as info:
            await reply_events(client, srv)
    text = str(info.value)
    assert text.startswith(
        "Knowrithm could not finish the reply: The agent failed to reply: model exploded"
        " traceback line secret=[redacted] xxx"
    )
    assert not any(c in text for c in "\n\r\t")
    assert SECRET.lower() not in text.lower()
    assert len(text) < 300
    assert len(srv.state.chat_requests) == 1


# --- 6. an absurd Retry-After never reaches the user as such -----------------------------


@pytest.mark.parametrize(
    ("header", "retry_after", "wait"),
    [
        (float("inf"), None, "in a moment"),
        (float("nan"), None, "in a moment"),
        (1e30, 86_400.0, "in 24 hours"),
        (600.0, 600.0, "in 10 minutes"),
    ],
    ids=["inf", "nan", "1e30", "600"],
)
async def test_absurd_retry_after_is_rejected_or_clamped(
    client: KnowrithmClient,
    server: LocalKnowrithm,
    header: float,
    retry_after: float | None,
    wait: str,
) -> None:
    server.faults.fail_next(
        method="POST", path_contains="/v1/conversation", status=429, retry_after=header, count=5
    )
    with pytest.raises(RateLimitedError) as info:
        await client.start_conversation(agent_id=server.agent_id, entity_type="USER")
    assert info.value.retry_after == retry_after
    assert explain(info.value) == f"The agent is busy right now; please try again {wait}."
    assert server.state.conversations == {}
