"""The client against the real local server (bots.local_knowrithm) over 127.0.0.1 HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, split_words
from knowrithm_bots.core.errors import (
    AuthError,
    BadRequestError,
    ConversationEndedError,
    NotFoundError,
    ProtocolError,
    UnavailableError,
)
from knowrithm_bots.core.knowrithm import (
    KnowrithmClient,
    ReplyAccepted,
    ReplyDelta,
    ReplyEvent,
    RetryPolicy,
)
from tests.core.knowrithm.fakes import THREE_TRIES
from tests.core.knowrithm.recorders import WireLog
from tests.core.knowrithm.steps import (
    accepted_first,
    count,
    expected_echo,
    new_conversation,
    reply_events,
    split,
)
from tests.harness import client_for


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm(word_delay=0.002) as running:
        yield running


@pytest.fixture
async def client(server: LocalKnowrithm) -> AsyncIterator[KnowrithmClient]:
    async with client_for(server, retry=THREE_TRIES) as opened:
        yield opened


async def test_conversation_lifecycle(client: KnowrithmClient, server: LocalKnowrithm) -> None:
    assert await client.health() is True
    conv = await client.start_conversation(
        agent_id=server.agent_id, entity_type="USER", title="t", metadata={"thread": "th-1"}
    )
    assert (conv.status, conv.entity_type, conv.message_count) == ("active", "USER", 0)
    assert conv.metadata == {"thread": "th-1"}
    assert conv.id in server.state.conversations

    page = await client.list_conversations(agent_id=server.agent_id, per_page=5)
    assert [c.id for c in page.conversations] == [conv.id]
    assert page.total == 1

    patched = await client.update_metadata(conversation_id=conv.id, metadata={"user": "u1"})
    assert patched.metadata == {"thread": "th-1", "user": "u1"}
    assert server.state.metadata_updates == [(conv.id, {"user": "u1"})]

    answer = await client.send_message(conversation_id=conv.id, text="Hello")
    assert answer.content == expected_echo("Hello")
    history = await client.history(conversation_id=conv.id)
    assert [(m.role, m.content) for m in history] == [
        ("user", "Hello"),
        ("assistant", answer.content),
    ]
    assert history[1].id == answer.id

    stats = await client.analytics(conversation_id=conv.id)
    assert stats.total_messages == 2

    ended = await client.end_conversation(conversation_id=conv.id, rating=5, feedback="thanks")
    assert (ended.status, ended.rating) == ("ended", 5)
    assert ended.ended_at is not None
    assert [(e.conversation_id, e.rating, e.feedback) for e in server.state.ends] == [
        (conv.id, 5, "thanks")
    ]
    with pytest.raises(ConversationEndedError):
        await client.send_message(conversation_id=conv.id, text="again")
    assert len(server.state.chat_requests) == 1


async def test_stream_with_chunks(client: KnowrithmClient, server: LocalKnowrithm) -> None:
    cid = await new_conversation(client, server)
    first = await reply_events(client, cid, "What is 2+2?")
    text, done = split(first)
    assert len(first) > 5
    assert text == done.message.content == expected_echo("What is 2+2?")
    stored = server.state.messages[cid][-1]
    assert (stored.id, stored.role) == (done.message.id, "assistant")

    second = await reply_events(client, cid, "And 3+3?")
    text, done = split(second)
    assert text == done.message.content == expected_echo("And 3+3?", n=2, previous="What is 2+2?")
    assert server.state.chat_requests == [(cid, "What is 2+2?"), (cid, "And 3+3?")]


async def test_stream_without_chunks(client: KnowrithmClient, server: LocalKnowrithm) -> None:
    server.faults.emit_chunks = False
    cid = await new_conversation(client, server)
    events = await reply_events(client, cid, "Hi")
    assert len(events) == 1
    assert split(events)[1].message.content == expected_echo("Hi")


async def test_synchronous_chat_mode(server: LocalKnowrithm) -> None:
    server.faults.chat_mode = "sync"
    wire = WireLog()
    async with client_for(server, transport=wire) as client:
        cid = await new_conversation(client, server)
        events = await reply_events(client, cid, "Hi")
    assert len(events) == 1
    done = split(events)[1]
    assert done.message.content == expected_echo("Hi")
    assert done.message.id == server.state.messages[cid][-1].id
    assert server.state.chat_requests == [(cid, "Hi")]
    assert count(server, "GET", "/status") == 0
    (opened,) = wire.streams()
    assert opened.closed


async def test_streaming_disabled_falls_back_to_polling(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    server.faults.streaming_enabled = False
    cid = await new_conversation(client, server)
    # The reply waits for the first status poll, so that poll certainly finds it pending.
    server.faults.hold_replies(until_request="/status")
    events = await reply_events(client, cid, "Hi")
    assert len(events) == 1
    assert split(events)[1].message.content == expected_echo("Hi")
    assert count(server, "GET", "/status") >= 2
    assert count(server, "GET", "/messages/stream") == 1
    assert server.state.chat_requests == [(cid, "Hi")]


async def test_stream_cut_mid_reply_resumes_with_last_event_id_without_repeats(
    server: LocalKnowrithm,
) -> None:
    wire = WireLog()
    async with client_for(server, transport=wire) as client:
        cid = await new_conversation(client, server)
        server.faults.cut_stream_after_chunks = 3
        # On the resume the server repeats the last event it sent, as a sloppy server may.
        server.faults.replay_overlap = 1
        events = await reply_events(client, cid, "Tell me a story")
    text, done = split(events)
    assert text == done.message.content == expected_echo("Tell me a story")
    assert server.state.chat_requests == [(cid, "Tell me a story")]
    first, second = wire.streams()
    assert "Last-Event-ID" not in first.request.headers
    assert second.request.headers["Last-Event-ID"] == first.event_ids()[-1]
    assert first.event_ids()[-1] == second.event_ids()[0]  # the repeat really came
    assert first.closed
    assert second.closed


async def test_wrong_credentials_are_an_auth_error(server: LocalKnowrithm) -> None:
    async with client_for(server, api_secret="wrong-secret-value") as client:
        with pytest.raises(AuthError) as info:
            await client.start_conversation(agent_id=server.agent_id, entity_type="USER")
    assert "wrong-secret-value" not in str(info.value)
    assert info.value.error_code == "AUTH_FAILED"


async def test_server_error_on_create_is_not_repeated(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    server.faults.fail_next(method="POST", path_contains="/v1/conversation", status=500)
    with pytest.raises(UnavailableError, match="HTTP 500"):
        await client.start_conversation(agent_id=server.agent_id, entity_type="USER")
    assert count(server, "POST", "/v1/conversation") == 1
    assert server.state.conversations == {}


async def test_server_error_on_a_read_is_retried(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    server.faults.fail_next(method="GET", path_contains="/v1/conversation", status=503, count=2)
    page = await client.list_conversations()
    assert page.conversations == ()
    assert count(server, "GET", "/v1/conversation") == 3


async def test_a_chat_500_before_the_message_was_stored_sends_it_once_more(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    # A 500 does not say whether the service took the message: the history says it did not.
    cid = await new_conversation(client, server)
    server.faults.fail_next(method="POST", path_contains="/chat", status=500)
    text, done = split(await reply_events(client, cid, "Hi"))
    assert text == done.message.content == expected_echo("Hi")
    assert count(server, "POST", "/chat") == 2
    assert count(server, "GET", "/messages") >= 1
    assert server.state.chat_requests == [(cid, "Hi")]


async def test_a_chat_500_twice_is_raised_after_one_resend(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    cid = await new_conversation(client, server)
    server.faults.fail_next(method="POST", path_contains="/chat", status=500, count=2)
    with pytest.raises(UnavailableError, match="send the message"):
        await reply_events(client, cid, "Hi")
    assert count(server, "POST", "/chat") == 2
    assert server.state.chat_requests == []


async def test_chat_rate_limited_is_sent_again_after_retry_after(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    cid = await new_conversation(client, server)
    server.faults.fail_next(method="POST", path_contains="/chat", status=429, retry_after=0.01)
    text, done = split(await reply_events(client, cid, "Hi"))
    assert text == done.message.content == expected_echo("Hi")
    assert count(server, "POST", "/chat") == 2
    assert server.state.chat_requests == [(cid, "Hi")]


async def test_malformed_json_is_a_protocol_error(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    server.faults.fail_next(
        method="GET", path_contains="/v1/conversation", status=200, body="{not json"
    )
    with pytest.raises(ProtocolError, match="malformed JSON"):
        await client.list_conversations()


async def test_rate_a_message(client: KnowrithmClient, server: LocalKnowrithm) -> None:
    cid = await new_conversation(client, server)
    answer = await client.send_message(conversation_id=cid, text="Hi")
    await client.rate_message(message_id=answer.id, rating=4, feedback="ok")
    await client.rate_message(message_id=answer.id, rating=2)
    assert [(r.message_id, r.rating, r.feedback) for r in server.state.ratings] == [
        (answer.id, 4, "ok"),
        (answer.id, 2, None),
    ]
    history = await client.history(conversation_id=cid)
    assert history[-1].rating == 2
    with pytest.raises(BadRequestError):
        await client.rate_message(message_id=answer.id, rating=9)
    with pytest.raises(NotFoundError):
        await client.rate_message(message_id="no-such-message", rating=3)


async def test_lead_create_get_and_lead_conversation(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    lead = await client.create_lead(
        first_name="Ada",
        last_name="Lovelace",
        email="telegram-42@leads.example.com",
        source="telegram",
    )
    assert lead.id in server.state.leads
    fetched = await client.get_lead(lead_id=lead.id)
    assert fetched == lead
    assert (fetched.id, fetched.email, fetched.source) == (
        lead.id,
        "telegram-42@leads.example.com",
        "telegram",
    )
    conv = await client.start_conversation(
        agent_id=server.agent_id, entity_type="LEAD", lead_id=lead.id
    )
    assert (conv.entity_type, conv.lead_id) == ("LEAD", lead.id)
    with pytest.raises(NotFoundError):
        await client.get_lead(lead_id="missing")


async def test_task_answers_are_polled(client: KnowrithmClient, server: LocalKnowrithm) -> None:
    server.faults.start_mode = "task"
    conv = await client.start_conversation(agent_id=server.agent_id, entity_type="USER")
    assert conv.id in server.state.conversations
    patched = await client.update_metadata(conversation_id=conv.id, metadata={"k": "v"})
    assert patched.metadata == {"k": "v"}
    lead = await client.create_lead(first_name="A", last_name="B", email="a@leads.example.com")
    assert lead.id in server.state.leads
    assert count(server, "GET", "/status") >= 3


async def test_health_of_a_stopped_server_is_false(server: LocalKnowrithm) -> None:
    async with client_for(server, retry=RetryPolicy(attempts=1)) as client:
        assert await client.health() is True
        await server.stop()
        assert await client.health() is False


async def test_silent_stream_falls_back_to_polling_without_resending() -> None:
    slow = LocalKnowrithm(heartbeat_interval=30.0)
    wire = WireLog()
    # The idle timeout also bounds opening the stream, so it is generous: a slow open on a
    # loaded machine must not count as silence. The reply goes silent after its first word,
    # held until the client gives up on the stream (and one reconnect) and polls the task.
    async with slow, client_for(slow, stream_idle_timeout=1.0, transport=wire) as client:
        cid = await new_conversation(client, slow)
        slow.faults.hold_replies(after_words=1, until_request="/status")
        async with asyncio.timeout(15):
            events = await reply_events(client, cid, "Anyone there?")
    answer = expected_echo("Anyone there?")
    done = split(events)[1]
    assert events[:-1] == [ReplyDelta(split_words(answer)[0])]
    assert done.message.content == answer
    assert count(slow, "GET", "/messages/stream") == 2
    assert count(slow, "GET", "/status") >= 1
    assert slow.state.chat_requests == [(cid, "Anyone there?")]
    first, second = wire.streams()
    assert second.request.headers["Last-Event-ID"] == first.event_ids()[-1]
    assert first.closed
    assert second.closed


@pytest.mark.parametrize("refusal", [409, 401, 503], ids=["ended", "auth", "unavailable"])
async def test_refused_reconnect_after_an_accepted_send_polls_and_never_resends(
    server: LocalKnowrithm, refusal: int
) -> None:
    wire = WireLog()
    async with client_for(server, transport=wire) as client:
        cid = await new_conversation(client, server)
        server.faults.cut_stream_after_chunks = 3
        stream = client.stream_reply(conversation_id=cid, text="Tell me a story")
        events: list[ReplyEvent] = []
        async with contextlib.aclosing(stream):
            async for event in stream:
                if isinstance(event, ReplyAccepted):
                    # Armed only now, so the open before the send is not the one refused.
                    server.faults.fail_next(
                        method="GET", path_contains="/messages/stream", status=refusal
                    )
                events.append(event)
    answer = expected_echo("Tell me a story")
    text, done = split(accepted_first(events))
    assert text == "".join(split_words(answer)[:3])  # what came before the cut
    assert done.message.content == answer
    assert count(server, "GET", "/messages/stream") == 2
    assert count(server, "GET", "/status") >= 1
    assert server.state.chat_requests == [(cid, "Tell me a story")]
    assert count(server, "POST", "/chat") == 1
    assert wire.streams()[0].closed
