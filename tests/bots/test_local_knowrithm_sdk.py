"""The public knowrithm-py SDK (0.1.22), run in a thread, against the local Knowrithm server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from knowrithm_py.dataclass.config import KnowrithmConfig
from knowrithm_py.dataclass.error import KnowrithmAPIError
from knowrithm_py.knowrithm.client import KnowrithmClient
from knowrithm_py.services.conversation import ChatEvent, ConversationService, MessageService

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm

# 0.1.22 subscribes after it sends: it needs the replay only a streaming deployment offers.
pytestmark = pytest.mark.knowrithm_modes("streaming")


@contextmanager
def sdk(server: LocalKnowrithm, *, secret: str | None = None) -> Iterator[KnowrithmClient]:
    config = KnowrithmConfig(
        base_url=server.base_url,
        max_retries=1,
        timeout=5,
        stream_timeout=5,
        task_poll_interval=0.05,
        task_poll_timeout=5,
    )
    client = KnowrithmClient(server.api_key, secret or server.api_secret, config=config)
    try:
        yield client
    finally:
        client._session.close()


def read_until_reply(
    stream: Any, *, on_event: Callable[[ChatEvent], None] | None = None
) -> list[ChatEvent]:
    events: list[ChatEvent] = []
    try:
        for event in stream:
            if event.event == "message":
                # The SDK turns the ": connected" comment block into an empty "message" event.
                assert event.data == ""
                continue
            events.append(event)
            if on_event is not None:
                on_event(event)
            if event.event == "chat_response":
                break
    finally:
        stream.close()
    return events


def chat_round(
    client: KnowrithmClient,
    *,
    text: str,
    template_path: bool = False,
    on_event: Callable[[ChatEvent], None] | None = None,
) -> tuple[dict[str, Any], list[ChatEvent], dict[str, Any]]:
    conversations = ConversationService(client)
    created = conversations.create_conversation("local-agent", title="sdk", metadata={"k": "v"})
    conversation = created["conversation"]
    # template_path: the path the SDK builds from its own template when a server gives no hint.
    path = f"/conversation/{conversation['id']}/messages/stream" if template_path else None
    stream = MessageService(client).send_message(
        conversation["id"], text, stream=True, stream_url=path
    )
    events = read_until_reply(stream, on_event=on_event)
    history = conversations.list_conversation_messages(conversation["id"])
    return conversation, events, history


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm() as running:
        yield running


def finish_reply_before_subscribing(client: KnowrithmClient, *, origin: str) -> None:
    """Hold the SDK after its chat POST until the reply is complete, so it subscribes late."""

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        request = response.request
        if request.method == "POST" and str(request.url).endswith("/chat"):
            poll_url = origin + response.json()["poll_url"]
            deadline = time.monotonic() + 5
            while client._session.get(poll_url).json()["status"] == "pending":
                assert time.monotonic() < deadline
                time.sleep(0.01)
        return response

    client._session.hooks["response"].append(hook)


async def test_sdk_streams_a_reply_even_when_it_finished_before_subscribing(
    server: LocalKnowrithm,
) -> None:
    with sdk(server) as client:
        finish_reply_before_subscribing(client, origin=f"http://127.0.0.1:{server.port}")
        conversation, events, history = await asyncio.to_thread(
            chat_round, client, text="Hello from the SDK"
        )
    assert conversation["entity_type"] == "user"
    assert conversation["metadata"] == {"k": "v"}
    names = [e.event for e in events]
    assert names[:2] == ["chat_status", "chat_status"]
    assert names[-1] == "chat_response"
    assert set(names[2:-1]) == {"chat_chunk"}
    reply = events[-1].data
    assert reply["content"].startswith('You asked: "Hello from the SDK"')
    assert "".join(e.data["content"] for e in events if e.event == "chat_chunk") == reply["content"]
    messages = history["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == "Hello from the SDK"
    assert messages[1]["id"] == reply["message_id"]
    assert server.state.chat_requests == [(conversation["id"], "Hello from the SDK")]
    task_polls = [path for _, path in server.state.requests if path.startswith("/api/v1/tasks/")]
    assert task_polls, "the reply was not finished before the SDK subscribed"


async def test_sdk_default_stream_path_gets_the_in_flight_reply_replayed() -> None:
    # Without the stream_url hint the SDK subscribes on its own template path after sending;
    # the reply is held until the SDK has read its first event, so it is still being written
    # then and the server replays it from the start.
    async with LocalKnowrithm() as server:
        loop = asyncio.get_running_loop()

        def release(event: ChatEvent) -> None:
            loop.call_soon_threadsafe(server.faults.release_replies)

        server.faults.hold_replies()
        try:
            with sdk(server) as client:
                conversation, events, history = await asyncio.to_thread(
                    chat_round, client, text="slow one", template_path=True, on_event=release
                )
        finally:
            server.faults.release_replies()
    assert [e.data["status"] for e in events[:2]] == ["queued", "in_progress"]
    assert events[-1].event == "chat_response"
    assert events[-1].data["conversation_id"] == conversation["id"]
    assert history["messages"][-1]["content"] == events[-1].data["content"]


async def test_sdk_resolves_task_mode_objects_and_chat_tasks(server: LocalKnowrithm) -> None:
    server.faults.start_mode = "task"

    def run(client: KnowrithmClient) -> tuple[dict[str, Any], dict[str, Any]]:
        conversation = ConversationService(client).create_conversation("local-agent")
        reply = MessageService(client).send_message(conversation["id"], "poll me")
        assert isinstance(reply, dict)
        return conversation, reply

    with sdk(server) as client:
        conversation, reply = await asyncio.to_thread(run, client)
    assert conversation["status"] == "active"
    assert conversation["id"] in server.state.conversations
    assert reply["role"] == "assistant"
    assert reply["content"].startswith('You asked: "poll me"')


async def test_sdk_sees_errors_with_codes(server: LocalKnowrithm) -> None:
    def bad_login(client: KnowrithmClient) -> KnowrithmAPIError:
        with pytest.raises(KnowrithmAPIError) as caught:
            ConversationService(client).create_conversation("local-agent")
        return caught.value

    with sdk(server, secret="wrong") as client:
        error = await asyncio.to_thread(bad_login, client)
    assert (error.status_code, error.error_code) == (401, "AUTH_FAILED")

    def ended_chat(client: KnowrithmClient) -> KnowrithmAPIError:
        conversation = ConversationService(client).create_conversation("local-agent")
        conversation_id = conversation["conversation"]["id"]
        client._make_request("POST", f"/conversation/{conversation_id}/end", data={"rating": 3})
        with pytest.raises(KnowrithmAPIError) as caught:
            MessageService(client).send_message(conversation_id, "too late", stream=True)
        return caught.value

    with sdk(server) as client:
        error = await asyncio.to_thread(ended_chat, client)
    assert (error.status_code, error.error_code) == (409, "CONVERSATION_ENDED")
    assert server.state.chat_requests == []
