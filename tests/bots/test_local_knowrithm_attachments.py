"""The chat body's optional ``attachments``: kept on the stored message, refused unless a list."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ServerMode
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.knowrithm.models import ReplyDone
from tests.bots.test_local_knowrithm import AUTH, TLS, start, wait_task
from tests.harness import client_for

pytestmark = pytest.mark.knowrithm_modes

FILES = [
    {"name": "notes.txt", "mime_type": "text/plain", "size": 12, "content": "ship Friday\n"},
    {"name": "photo.jpg", "mime_type": "image/jpeg", "size": 2048},
]


@pytest.fixture
async def server(knowrithm_mode: ServerMode) -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm(mode=knowrithm_mode) as running:
        yield running


@pytest.fixture
async def http(server: LocalKnowrithm) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        verify=TLS, base_url=server.base_url + "/v1", headers=AUTH
    ) as client:
        yield client


async def test_attachments_are_stored_with_the_message_and_listed_back(
    server: LocalKnowrithm, http: httpx.AsyncClient
) -> None:
    cid = (await start(http))["id"]
    response = await http.post(
        f"/conversation/{cid}/chat", json={"message": "see files", "attachments": FILES}
    )
    assert response.status_code == 202, response.text
    await wait_task(http, response.json()["task_id"])
    plain = await http.post(f"/conversation/{cid}/chat", json={"message": "no files"})
    await wait_task(http, plain.json()["task_id"])
    asked = [m for m in server.state.messages[cid] if m.role == "user"]
    assert [(m.content, m.attachments) for m in asked] == [("see files", FILES), ("no files", None)]
    listed = (await http.get(f"/conversation/{cid}/messages")).json()["messages"]
    with_files = [m for m in listed if m["role"] == "user" and "attachments" in m]
    assert [m["attachments"] for m in with_files] == [FILES]


@pytest.mark.parametrize(
    "bad", ["notes.txt", {"name": "notes.txt"}, ["notes.txt"], [FILES[0], 3], 5, True]
)
async def test_attachments_that_are_not_a_list_of_objects_get_a_400_naming_the_field(
    server: LocalKnowrithm, http: httpx.AsyncClient, bad: Any
) -> None:
    cid = (await start(http))["id"]
    response = await http.post(
        f"/conversation/{cid}/chat", json={"message": "see files", "attachments": bad}
    )
    assert response.status_code == 400
    assert "'attachments' must be a list of objects" in response.text
    assert server.state.chat_requests == []  # nothing of a refused message is kept


async def _ask(client: KnowrithmClient, conversation_id: str, **more: Any) -> None:
    stream = client.stream_reply(conversation_id=conversation_id, text="hello", **more)
    async with contextlib.aclosing(stream):
        async for event in stream:
            if isinstance(event, ReplyDone):
                return
    raise AssertionError("no final message")


async def test_the_client_sends_attachments_only_when_it_has_some(
    server: LocalKnowrithm,
) -> None:
    async with client_for(server) as client:
        conversation = await client.start_conversation(agent_id=server.agent_id, entity_type="USER")
        await _ask(client, conversation.id, attachments=FILES)
        await _ask(client, conversation.id)
        await _ask(client, conversation.id, attachments=[])
    sent = [r.body for r in server.state.received if r.path.endswith("/chat")]
    assert sent == [
        {"message": "hello", "attachments": FILES},
        {"message": "hello"},
        {"message": "hello"},
    ]
