"""Resuming a send an earlier process began: never twice once Knowrithm has the question."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.knowrithm import KnowrithmClient, ReplyEvent, Resume
from tests.core.knowrithm.fakes import THREE_TRIES
from tests.core.knowrithm.steps import (
    accept_chat,
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


async def resumed(
    client: KnowrithmClient, conversation_id: str, text: str, resume: Resume
) -> list[ReplyEvent]:
    stream = client.stream_reply(conversation_id=conversation_id, text=text, resume=resume)
    async with contextlib.aclosing(stream):
        return accepted_first([event async for event in stream])


async def test_a_known_question_id_reads_the_finished_answer_without_sending(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    cid = await new_conversation(client, server)
    await reply_events(client, cid, "Hi")  # the earlier process's send, answered in full
    (question, _) = await client.history(conversation_id=cid)
    events = await resumed(client, cid, "Hi", Resume(question_id=question.id))
    _, done = split(events)
    assert done.message.content == expected_echo("Hi")
    assert count(server, "POST", "/chat") == 1


async def test_an_answer_still_being_written_is_followed_to_its_end(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    cid = await new_conversation(client, server)
    server.faults.hold_replies(after_words=3, until_request="/messages/stream")
    accepted = await accept_chat(server, cid, "Hi")
    events = await resumed(client, cid, "Hi", Resume(question_id=str(accepted["message_id"])))
    _, done = split(events)
    assert done.message.content == expected_echo("Hi")
    assert count(server, "POST", "/chat") == 1


async def test_a_send_that_may_have_gone_out_is_found_in_the_history(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    cid = await new_conversation(client, server)
    sending_at = time.time()
    await reply_events(client, cid, "Hi")
    events = await resumed(client, cid, "Hi", Resume(maybe_sent=True, sending_at=sending_at))
    _, done = split(events)
    assert done.message.content == expected_echo("Hi")
    assert count(server, "POST", "/chat") == 1


async def test_a_send_that_never_went_out_is_sent(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    cid = await new_conversation(client, server)
    events = await resumed(client, cid, "Hi", Resume(maybe_sent=True, sending_at=time.time()))
    text, done = split(events)
    assert text == done.message.content == expected_echo("Hi")
    assert server.state.chat_requests == [(cid, "Hi")]


async def test_the_same_words_asked_long_before_are_not_taken_for_this_send(
    client: KnowrithmClient, server: LocalKnowrithm
) -> None:
    cid = await new_conversation(client, server)
    await reply_events(client, cid, "yes")
    # This "yes" began an hour after the first one: the stored one is an earlier question.
    later = time.time() + 3600
    events = await resumed(client, cid, "yes", Resume(maybe_sent=True, sending_at=later))
    _, done = split(events)
    assert done.message.content == expected_echo("yes", n=2, previous="yes")
    assert server.state.chat_requests == [(cid, "yes"), (cid, "yes")]
