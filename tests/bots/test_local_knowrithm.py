"""Raw-HTTP tests of the local Knowrithm server, spoken to with httpx over 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import (
    EchoAgent,
    EndRecord,
    LocalKnowrithm,
    RatingRecord,
    ScriptedAgent,
    StoredMessage,
    split_words,
)

# What a streaming deployment adds (deltas, replay, event ids) is tested here; the
# documented-service mode has test_local_knowrithm_documented.py.
pytestmark = pytest.mark.knowrithm_modes("streaming")

AUTH = {"X-API-Key": "local-key", "X-API-Secret": "local-secret"}
WAIT = 3.0
# One shared TLS context: building one per client costs ~40 ms, and every URL here is http.
TLS = ssl.create_default_context()


@dataclass(frozen=True)
class Sse:
    id: int | None
    event: str
    data: Any


class SseReader:
    """Reads one open SSE response line by line, with a timeout per event."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()
        self.comments: list[str] = []

    async def next(self, *, within: float = WAIT) -> Sse:
        return await asyncio.wait_for(self._read(), within)

    async def _read(self) -> Sse:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if fields:
                    raw_id = fields.get("id")
                    return Sse(
                        id=None if raw_id is None else int(raw_id),
                        event=fields.get("event", "message"),
                        data=json.loads(fields["data"]),
                    )
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        raise EOFError("stream ended")

    async def until(self, predicate: Callable[[Sse], bool]) -> list[Sse]:
        events: list[Sse] = []
        while True:
            event = await self.next()
            events.append(event)
            if predicate(event):
                return events


async def read_all(stream: SseReader, *, into: list[Sse]) -> None:
    while True:
        into.append(await stream.next())


def completed(task_id: str) -> Callable[[Sse], bool]:
    def check(event: Sse) -> bool:
        return (
            event.event == "chat_status"
            and event.data["task_id"] == task_id
            and event.data["status"] in ("completed", "failed")
        )

    return check


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm() as running:
        yield running


@pytest.fixture
async def client(server: LocalKnowrithm) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        verify=TLS, base_url=server.base_url + "/v1", headers=AUTH
    ) as http:
        yield http


@contextmanager
def replies_held(server: LocalKnowrithm) -> Iterator[None]:
    """Replies stop before their first word for the block (see ``Faults.hold_replies``)."""
    server.faults.hold_replies()
    try:
        yield
    finally:
        server.faults.release_replies()


@asynccontextmanager
async def open_stream(
    http: httpx.AsyncClient, conversation_id: str, *, headers: dict[str, str] | None = None
) -> AsyncIterator[SseReader]:
    async with http.stream(
        "GET",
        f"/conversation/{conversation_id}/messages/stream",
        headers={"Accept": "text/event-stream", **(headers or {})},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response)


async def start(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await http.post("/conversation", json={"agent_id": "local-agent", **body})
    assert response.status_code == 201, response.text
    conversation: dict[str, Any] = response.json()["conversation"]
    return conversation


async def chat(http: httpx.AsyncClient, conversation_id: str, text: str) -> dict[str, Any]:
    response = await http.post(f"/conversation/{conversation_id}/chat", json={"message": text})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def wait_task(http: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        while True:
            body: dict[str, Any] = (await http.get(f"/tasks/{task_id}/status")).json()
            if body["status"] != "pending":
                return body
            await asyncio.sleep(0.01)


async def new_lead(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.post(
        "/sdk/lead",
        # A fresh address each time: the server refuses a second lead with one it knows.
        json={"first_name": "Ada", "last_name": "L", "email": f"{uuid.uuid4()}@leads.example.com"},
    )
    assert response.status_code == 201, response.text
    lead: dict[str, Any] = response.json()["lead"]
    return lead


# --- health, auth, routing, bad input -------------------------------------------------


async def test_health_needs_no_credentials(server: LocalKnowrithm) -> None:
    async with httpx.AsyncClient(verify=TLS) as http:
        response = await http.get(server.base_url + "/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert server.base_url == f"http://127.0.0.1:{server.port}/api"
    assert server.port > 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "local-key"},
        {"X-API-Key": "local-key", "X-API-Secret": "wrong"},
        {"X-API-Key": "wrong", "X-API-Secret": "local-secret"},
        {"Authorization": "Bearer not-a-known-token"},
    ],
)
async def test_bad_credentials_get_401(server: LocalKnowrithm, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(
        verify=TLS, base_url=server.base_url + "/v1", headers=headers
    ) as http:
        response = await http.get("/conversation")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API credentials", "error_code": "AUTH_FAILED"}
    assert "local-secret" not in response.text
    assert server.state.requests[-1] == ("GET", "/api/v1/conversation")


async def test_bearer_token_from_state_is_accepted(server: LocalKnowrithm) -> None:
    server.state.tokens.add("lead-jwt")
    headers = {"Authorization": "Bearer lead-jwt"}
    async with httpx.AsyncClient(
        verify=TLS, base_url=server.base_url + "/v1", headers=headers
    ) as http:
        response = await http.get("/conversation")
    assert response.status_code == 200
    assert response.json()["conversations"] == []


async def test_custom_credentials(unused_tcp_port: int) -> None:
    async with LocalKnowrithm(api_key="k", api_secret="s", port=unused_tcp_port) as server:
        assert server.port == unused_tcp_port
        async with httpx.AsyncClient(verify=TLS, base_url=server.base_url + "/v1") as http:
            ok = await http.get("/conversation", headers={"X-API-Key": "k", "X-API-Secret": "s"})
            bad = await http.get("/conversation", headers=AUTH)
    assert (ok.status_code, bad.status_code) == (200, 401)


async def test_unknown_route_and_method_answer_json(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nothing/here")
    assert missing.status_code == 404
    assert "detail" in missing.json()
    wrong_method = await client.delete("/conversation")
    assert wrong_method.status_code == 405
    assert "detail" in wrong_method.json()


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/conversation", b"{not json"),
        ("/conversation", b"[1, 2]"),
        ("/conversation", b""),
        ("/sdk/lead", b"\xff\xfe"),
    ],
)
async def test_bad_json_bodies_get_400(
    client: httpx.AsyncClient, path: str, content: bytes
) -> None:
    response = await client.post(
        path, content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert isinstance(response.json()["detail"], str)


async def test_every_request_is_recorded(server: LocalKnowrithm, client: httpx.AsyncClient) -> None:
    await client.get("/health")
    await client.post("/conversation", json={"agent_id": "a"})
    await client.get("/nope")
    assert server.state.requests == [
        ("GET", "/api/v1/health"),
        ("POST", "/api/v1/conversation"),
        ("GET", "/api/v1/nope"),
    ]


# --- conversations ---------------------------------------------------------------------


async def test_start_conversation_returns_the_record(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    conversation = await start(
        client, entity_type="USER", title="t", metadata={"platform": "slack"}
    )
    assert conversation["agent_id"] == "local-agent"
    assert conversation["entity_type"] == "user"
    assert conversation["status"] == "active"
    assert conversation["message_count"] == 0
    assert conversation["ended_at"] is None
    assert conversation["rating"] is None
    assert conversation["lead_id"] is None
    assert conversation["metadata"] == {"platform": "slack"}
    assert conversation["started_at"].endswith("+00:00")
    assert set(server.state.conversations) == {conversation["id"]}


async def test_entity_type_defaults_to_user(client: httpx.AsyncClient) -> None:
    assert (await start(client))["entity_type"] == "user"


async def test_lead_conversation_needs_an_existing_lead(client: httpx.AsyncClient) -> None:
    no_lead = await client.post("/conversation", json={"agent_id": "a", "entity_type": "LEAD"})
    unknown = await client.post(
        "/conversation", json={"agent_id": "a", "entity_type": "LEAD", "lead_id": "nope"}
    )
    assert (no_lead.status_code, unknown.status_code) == (400, 400)
    lead = await new_lead(client)
    conversation = await start(client, entity_type="LEAD", lead_id=lead["id"])
    assert (conversation["entity_type"], conversation["lead_id"]) == ("lead", lead["id"])


@pytest.mark.parametrize(
    "body",
    [
        {"agent_id": "a", "entity_type": "ROBOT"},
        {"entity_type": "USER"},
        {"agent_id": "a", "metadata": "not an object"},
        {"agent_id": "a", "max_context_length": "long"},
    ],
)
async def test_start_conversation_rejects_bad_input(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/conversation", json=body)
    assert response.status_code == 400
    assert response.json()["detail"]


async def test_list_filters_sorts_and_paginates(client: httpx.AsyncClient) -> None:
    first = await start(client)
    second = await start(client, agent_id="other")
    third = await start(client)
    await client.post(f"/conversation/{third['id']}/end", json={})

    listed = (await client.get("/conversation")).json()
    assert [c["id"] for c in listed["conversations"]] == [third["id"], second["id"], first["id"]]
    assert listed["pagination"] == {"page": 1, "per_page": 20, "total": 3, "pages": 1}

    asc = (await client.get("/conversation", params={"sort_order": "asc"})).json()
    assert [c["id"] for c in asc["conversations"]] == [first["id"], second["id"], third["id"]]

    by_agent = (await client.get("/conversation", params={"agent_id": "local-agent"})).json()
    assert {c["id"] for c in by_agent["conversations"]} == {first["id"], third["id"]}

    ended = (await client.get("/conversation", params={"status": "ended"})).json()
    assert [c["id"] for c in ended["conversations"]] == [third["id"]]

    page2 = (await client.get("/conversation", params={"per_page": 2, "page": 2})).json()
    assert [c["id"] for c in page2["conversations"]] == [first["id"]]
    assert page2["pagination"] == {"page": 2, "per_page": 2, "total": 3, "pages": 2}

    for params in ({"page": 0}, {"per_page": "x"}, {"sort_by": "color"}, {"sort_order": "up"}):
        assert (await client.get("/conversation", params=params)).status_code == 400


async def test_patch_merges_metadata_and_records_it(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    conversation = await start(client, metadata={"a": 1, "b": 2})
    response = await client.patch(
        f"/conversation/{conversation['id']}", json={"metadata": {"b": 3, "c": 4}}
    )
    assert response.status_code == 200
    assert response.json()["conversation"]["metadata"] == {"a": 1, "b": 3, "c": 4}
    assert server.state.metadata_updates == [(conversation["id"], {"b": 3, "c": 4})]
    missing = await client.patch(f"/conversation/{conversation['id']}", json={"title": "x"})
    unknown = await client.patch("/conversation/nope", json={"metadata": {}})
    assert (missing.status_code, unknown.status_code) == (400, 404)


async def test_end_conversation_records_rating_and_feedback(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    conversation = await start(client)
    out_of_range = await client.post(f"/conversation/{conversation['id']}/end", json={"rating": 6})
    assert out_of_range.status_code == 400
    assert server.state.conversations[conversation["id"]].status == "active"

    response = await client.post(
        f"/conversation/{conversation['id']}/end", json={"rating": 4, "feedback": "good"}
    )
    assert response.status_code == 200
    ended = response.json()["conversation"]
    assert (ended["status"], ended["rating"]) == ("ended", 4)
    assert ended["ended_at"] is not None
    assert server.state.ends == [EndRecord(conversation["id"], 4, "good")]

    bare = await client.post(f"/conversation/{conversation['id']}/end")
    assert bare.status_code == 200
    assert server.state.ends[-1] == EndRecord(conversation["id"], None, None)
    assert (await client.post("/conversation/nope/end", json={})).status_code == 404


async def test_chat_on_ended_conversation_is_409(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    conversation = await start(client)
    await client.post(f"/conversation/{conversation['id']}/end", json={})
    response = await client.post(f"/conversation/{conversation['id']}/chat", json={"message": "hi"})
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Conversation has ended",
        "error_code": "CONVERSATION_ENDED",
    }
    assert server.state.chat_requests == []
    unknown = await client.post("/conversation/nope/chat", json={"message": "hi"})
    assert unknown.status_code == 404


async def test_history_is_oldest_first_and_paginated(client: httpx.AsyncClient) -> None:
    conversation = await start(client)
    cid = conversation["id"]
    for text in ("one", "two"):
        await wait_task(client, (await chat(client, cid, text))["task_id"])
    body = (await client.get(f"/conversation/{cid}/messages")).json()
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert [messages[0]["content"], messages[2]["content"]] == ["one", "two"]
    assert set(messages[1]) == {
        "id",
        "conversation_id",
        "role",
        "content",
        "created_at",
        "rating",
        "metadata",
    }
    assert body["pagination"]["total"] == 4
    page = await client.get(f"/conversation/{cid}/messages", params={"per_page": 3, "page": 2})
    assert [m["id"] for m in page.json()["messages"]] == [messages[3]["id"]]
    assert (await client.get("/conversation/nope/messages")).status_code == 404


async def test_analytics_counts_messages(client: httpx.AsyncClient) -> None:
    conversation = await start(client)
    cid = conversation["id"]
    await wait_task(client, (await chat(client, cid, "hello"))["task_id"])
    await client.post(f"/conversation/{cid}/end", json={"rating": 5})
    body = (await client.get(f"/analytic/conversation/{cid}")).json()
    assert body["message_statistics"] == {
        "total_messages": 2,
        "user_messages": 1,
        "assistant_messages": 1,
    }
    assert body["conversation_flow"]["duration_minutes"] >= 0
    assert body["quality_metrics"]["satisfaction_rating"] == 5
    assert (await client.get("/analytic/conversation/nope")).status_code == 404


# --- chat, tasks and the SSE stream ----------------------------------------------------


async def test_reply_streams_in_order(server: LocalKnowrithm, client: httpx.AsyncClient) -> None:
    conversation = await start(client)
    cid = conversation["id"]
    async with open_stream(client, cid) as stream:
        accepted = await chat(client, cid, "What is 2+2?")
        events = await stream.until(completed(accepted["task_id"]))
        assert stream.comments[0] == "connected"

    assert accepted["status"] == "queued"
    assert accepted["conversation_id"] == cid
    assert accepted["poll_url"] == f"/api/v1/tasks/{accepted['task_id']}/status"
    names = [e.event for e in events]
    chunk_count = names.count("chat_chunk")
    assert chunk_count > 5
    assert names == ["chat_status", "chat_status"] + ["chat_chunk"] * chunk_count + [
        "chat_response",
        "chat_status",
    ]
    assert [e.data["status"] for e in events if e.event == "chat_status"] == [
        "queued",
        "in_progress",
        "completed",
    ]
    ids = [e.id for e in events]
    assert ids == list(range(1, len(events) + 1))
    for event in events:
        assert event.data["task_id"] == accepted["task_id"]
        assert event.data["conversation_id"] == cid
    chunks = [e.data for e in events if e.event == "chat_chunk"]
    assert [c["index"] for c in chunks] == list(range(chunk_count))
    assert all(c["message_id"] == accepted["message_id"] for c in chunks)

    response = events[-2].data
    assert response["role"] == "assistant"
    assert response["reply_to"] == accepted["message_id"]
    assert response["metadata"] == {}
    assert "".join(c["content"] for c in chunks) == response["content"]
    assert response["content"].startswith('You asked: "What is 2+2?"')

    history = server.state.messages[cid]
    assert [m.id for m in history] == [accepted["message_id"], response["message_id"]]
    assert history[1].content == response["content"]
    assert server.state.chat_requests == [(cid, "What is 2+2?")]
    task = await wait_task(client, accepted["task_id"])
    assert task["result"]["id"] == response["message_id"]


async def test_older_content_role_payload_is_accepted(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    conversation = await start(client)
    cid = conversation["id"]
    response = await client.post(
        f"/conversation/{cid}/chat", json={"content": "old style", "role": "user"}
    )
    assert response.status_code == 202
    assert server.state.chat_requests == [(cid, "old style")]
    for body in ({}, {"text": "x"}, {"message": 5}, {"content": "x", "role": "assistant"}):
        bad = await client.post(f"/conversation/{cid}/chat", json=body)
        assert bad.status_code == 400
    assert len(server.state.chat_requests) == 1


async def test_task_polling_goes_from_pending_to_completed(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    conversation = await start(client)
    # Held before its first word, the reply is certainly unfinished at the first poll.
    with replies_held(server):
        accepted = await chat(client, conversation["id"], "slow")
        pending = (await client.get(f"/tasks/{accepted['task_id']}/status")).json()
        assert pending == {"task_id": accepted["task_id"], "status": "pending"}
    done = await wait_task(client, accepted["task_id"])
    assert done["status"] == "completed"
    assert done["result"]["role"] == "assistant"
    assert done["result"]["content"].startswith('You asked: "slow"')
    assert (await client.get("/tasks/nope/status")).status_code == 404


async def test_agent_failure_fails_the_task_and_the_stream() -> None:
    def broken(question: str, history: Sequence[StoredMessage]) -> str:
        raise RuntimeError("model offline")

    async with (
        LocalKnowrithm(agent=ScriptedAgent(broken)) as server,
        httpx.AsyncClient(verify=TLS, base_url=server.base_url + "/v1", headers=AUTH) as http,
    ):
        cid = (await start(http))["id"]
        async with open_stream(http, cid) as stream:
            accepted = await chat(http, cid, "hi")
            events = await stream.until(completed(accepted["task_id"]))
        assert events[-1].data["status"] == "failed"
        assert "model offline" in events[-1].data["error"]
        task = await wait_task(http, accepted["task_id"])
        assert task["status"] == "failed"
        assert "model offline" in task["error"]
        assert [m.role for m in server.state.messages[cid]] == ["user"]


async def test_late_subscriber_gets_in_flight_reply_replayed(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    cid = (await start(client))["id"]
    # The reply is held before its first word, so the subscriber below is late (both status
    # events are already out) while the reply is certainly still in flight.
    with replies_held(server):
        accepted = await chat(client, cid, "late")
        async with open_stream(client, cid) as stream:
            replayed = [await stream.next(), await stream.next()]
            server.faults.release_replies()
            events = replayed + await stream.until(completed(accepted["task_id"]))
    assert [e.data.get("status") for e in events[:2]] == ["queued", "in_progress"]
    assert [e.id for e in events[:2]] == [1, 2]
    chunks = "".join(e.data["content"] for e in events if e.event == "chat_chunk")
    assert chunks == events[-2].data["content"]
    assert chunks.startswith('You asked: "late"')


async def test_finished_replies_are_not_replayed(client: httpx.AsyncClient) -> None:
    cid = (await start(client))["id"]
    first = await chat(client, cid, "first")
    await wait_task(client, first["task_id"])
    async with open_stream(client, cid) as stream:
        second = await chat(client, cid, "second")
        events = await stream.until(completed(second["task_id"]))
    assert {e.data["task_id"] for e in events} == {second["task_id"]}
    assert events[0].data["status"] == "queued"


async def test_last_event_id_replays_what_followed(client: httpx.AsyncClient) -> None:
    cid = (await start(client))["id"]
    accepted = await chat(client, cid, "replay me")
    await wait_task(client, accepted["task_id"])
    async with open_stream(client, cid, headers={"Last-Event-ID": "3"}) as stream:
        events = await stream.until(completed(accepted["task_id"]))
    assert events[0].id == 4
    assert events[0].event == "chat_chunk"
    assert events[0].data["index"] == 1
    assert events[-2].event == "chat_response"


async def test_an_ended_conversation_keeps_no_events_to_replay(client: httpx.AsyncClient) -> None:
    # Each finished reply kept one event per word until the server stopped; nothing resumes
    # an ended conversation's replies, so ending it lets them go.
    cid = (await start(client))["id"]
    accepted = await chat(client, cid, "remember me")
    await wait_task(client, accepted["task_id"])
    async with open_stream(client, cid, headers={"Last-Event-ID": "0"}) as stream:
        assert (await stream.next()).id == 1  # before the end, a resume replays the reply
    assert (await client.post(f"/conversation/{cid}/end", json={})).status_code == 200
    async with open_stream(client, cid, headers={"Last-Event-ID": "0"}) as stream:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(stream.next(), 0.3)


async def test_a_reply_still_written_when_its_conversation_ends_is_let_go_when_done(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    cid = (await start(client))["id"]
    with replies_held(server):
        accepted = await chat(client, cid, "slow one")
        assert (await client.post(f"/conversation/{cid}/end", json={})).status_code == 200
    await wait_task(client, accepted["task_id"])
    replayed = []
    async with open_stream(client, cid, headers={"Last-Event-ID": "0"}) as stream:
        with contextlib.suppress(TimeoutError):
            while True:
                replayed.append(await asyncio.wait_for(stream.next(), 0.3))
    # At most the status that follows the answer; none of the reply's words.
    assert [e.event for e in replayed if e.event != "chat_status"] == []


async def test_stream_url_in_chat_answer_replays_the_whole_reply(
    client: httpx.AsyncClient,
) -> None:
    cid = (await start(client))["id"]
    await wait_task(client, (await chat(client, cid, "earlier"))["task_id"])
    accepted = await chat(client, cid, "send first, subscribe later")
    await wait_task(client, accepted["task_id"])
    async with client.stream("GET", accepted["stream_url"]) as response:
        events = await SseReader(response).until(completed(accepted["task_id"]))
    assert {e.data["task_id"] for e in events} == {accepted["task_id"]}
    assert events[0].data["status"] == "queued"
    assert events[-2].data["content"].startswith('You asked: "send first, subscribe later"')


async def test_bad_last_event_id_is_400(client: httpx.AsyncClient) -> None:
    cid = (await start(client))["id"]
    response = await client.get(
        f"/conversation/{cid}/messages/stream", headers={"Last-Event-ID": "abc"}
    )
    assert response.status_code == 400
    assert (await client.get("/conversation/nope/messages/stream")).status_code == 404


async def test_heartbeats_arrive_on_idle_streams() -> None:
    async with (
        LocalKnowrithm(heartbeat_interval=0.05) as server,
        httpx.AsyncClient(verify=TLS, base_url=server.base_url + "/v1", headers=AUTH) as http,
    ):
        cid = (await start(http))["id"]
        async with open_stream(http, cid) as stream:
            beats = [await stream.next(within=1.0), await stream.next(within=1.0)]
    for beat in beats:
        assert beat.event == "heartbeat"
        assert beat.id is None
        assert isinstance(beat.data["ts"], int)
        assert beat.data["ts"] > 1_600_000_000


async def test_zero_word_delay_still_streams_each_word(client: httpx.AsyncClient) -> None:
    cid = (await start(client))["id"]
    async with open_stream(client, cid) as stream:
        accepted = await chat(client, cid, "a b c")
        events = await stream.until(completed(accepted["task_id"]))
    response = events[-2].data["content"]
    chunks = [e.data["content"] for e in events if e.event == "chat_chunk"]
    assert chunks == split_words(response)
    assert len(chunks) == len(response.split())


async def test_two_streams_both_get_every_event(client: httpx.AsyncClient) -> None:
    cid = (await start(client))["id"]
    async with open_stream(client, cid) as one, open_stream(client, cid) as two:
        accepted = await chat(client, cid, "fan out")
        first = await one.until(completed(accepted["task_id"]))
        second = await two.until(completed(accepted["task_id"]))
    assert [(e.id, e.event, e.data) for e in first] == [(e.id, e.event, e.data) for e in second]


# --- faults ----------------------------------------------------------------------------


async def test_fail_next_with_retry_after_and_count(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    server.faults.fail_next(path_contains="/conversation", status=429, retry_after=0.5, count=2)
    answers = [await client.get("/conversation") for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "0.5"
    assert "detail" in answers[0].json()


async def test_fail_next_matches_method_and_raw_body(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    server.faults.fail_next(method="POST", path_contains="/conversation", status=502, body="{oops")
    listed = await client.get("/conversation")
    assert listed.status_code == 200
    failed = await client.post("/conversation", json={"agent_id": "a"})
    assert failed.status_code == 502
    assert failed.text == "{oops"
    assert "Retry-After" not in failed.headers
    assert server.state.conversations == {}


async def test_injected_chat_failure_records_nothing(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    cid = (await start(client))["id"]
    server.faults.fail_next(method="POST", path_contains="/chat", status=500)
    response = await client.post(f"/conversation/{cid}/chat", json={"message": "lost"})
    assert response.status_code == 500
    assert server.state.requests[-1] == ("POST", f"/api/v1/conversation/{cid}/chat")
    # A genuine chat afterwards, answered in full: whatever the failed one could have set
    # going would have shown by then.
    accepted = await chat(client, cid, "kept")
    answer = await wait_task(client, accepted["task_id"])
    assert server.state.chat_requests == [(cid, "kept")]
    assert [m.content for m in server.state.messages[cid]] == ["kept", answer["result"]["content"]]
    assert list(server.state.tasks) == [accepted["task_id"]]


async def test_streaming_disabled_answers_503(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    cid = (await start(client))["id"]
    server.faults.streaming_enabled = False
    response = await client.get(f"/conversation/{cid}/messages/stream")
    assert response.status_code == 503
    assert response.json() == {"detail": "Streaming is not configured"}
    accepted = await chat(client, cid, "still answered")
    assert (await wait_task(client, accepted["task_id"]))["status"] == "completed"


async def test_emit_chunks_off_sends_only_status_and_response(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    server.faults.emit_chunks = False
    cid = (await start(client))["id"]
    async with open_stream(client, cid) as stream:
        accepted = await chat(client, cid, "no deltas")
        events = await stream.until(completed(accepted["task_id"]))
    assert [e.event for e in events] == [
        "chat_status",
        "chat_status",
        "chat_response",
        "chat_status",
    ]
    assert events[2].data["content"].startswith('You asked: "no deltas"')


async def test_cut_stream_drops_the_connection_once(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    cid = (await start(client))["id"]
    server.faults.cut_stream_after_chunks = 2
    seen: list[Sse] = []
    async with open_stream(client, cid) as stream:
        accepted = await chat(client, cid, "cut me off")
        with pytest.raises(httpx.RemoteProtocolError):
            await read_all(stream, into=seen)
    assert [e.event for e in seen] == ["chat_status", "chat_status", "chat_chunk", "chat_chunk"]
    assert server.faults.cut_stream_after_chunks is None

    task = await wait_task(client, accepted["task_id"])
    assert task["status"] == "completed"
    assert server.state.messages[cid][-1].content == task["result"]["content"]

    # Reconnecting with the last id seen picks up the rest, and is not cut again.
    last_id = str(seen[-1].id)
    async with open_stream(client, cid, headers={"Last-Event-ID": last_id}) as stream:
        rest = await stream.until(completed(accepted["task_id"]))
    pieces = [e.data["content"] for e in seen + rest if e.event == "chat_chunk"]
    assert "".join(pieces) == task["result"]["content"]


async def test_sync_chat_mode_answers_with_the_message(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    server.faults.chat_mode = "sync"
    cid = (await start(client))["id"]
    response = await client.post(f"/conversation/{cid}/chat", json={"message": "sync?"})
    assert response.status_code == 200
    message = response.json()
    assert message["role"] == "assistant"
    assert message["conversation_id"] == cid
    assert message["content"].startswith('You asked: "sync?"')
    assert [m.id for m in server.state.messages[cid]][-1] == message["id"]
    assert server.state.chat_requests == [(cid, "sync?")]


async def test_task_start_mode_for_conversation_patch_and_lead(
    server: LocalKnowrithm, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pending window far longer than one local request keeps the first poll pending even
    # on a loaded machine (the default ~50 ms, or 0.2 s, is a race there).
    monkeypatch.setattr("knowrithm_bots.bots.local_knowrithm.context.TASK_DELAY", 1.0)
    server.faults.start_mode = "task"

    async def resolve(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 202
        handle = response.json()
        assert handle["status"] == "accepted"
        first = (await client.get(f"/tasks/{handle['task_id']}/status")).json()
        assert first["status"] == "pending"
        assert handle["status_url"] == f"/api/v1/tasks/{handle['task_id']}/status"
        done = await wait_task(client, handle["task_id"])
        assert done["status"] == "completed"
        result: dict[str, Any] = done["result"]
        return result

    conversation = await resolve(await client.post("/conversation", json={"agent_id": "a"}))
    assert conversation["status"] == "active"
    assert conversation["id"] in server.state.conversations
    patched = await resolve(
        await client.patch(f"/conversation/{conversation['id']}", json={"metadata": {"k": 1}})
    )
    assert patched["metadata"] == {"k": 1}
    lead = await resolve(await client.post("/sdk/lead", json={"email": "x@leads.example.com"}))
    assert lead["email"] == "x@leads.example.com"


# --- ratings and leads -----------------------------------------------------------------


async def test_rating_messages(server: LocalKnowrithm, client: httpx.AsyncClient) -> None:
    cid = (await start(client))["id"]
    task = await wait_task(client, (await chat(client, cid, "rate me"))["task_id"])
    message_id = task["result"]["id"]
    first = await client.post(f"/message/{message_id}/rate", json={"rating": 2})
    assert first.status_code == 200
    assert first.json()["success"] is True
    assert first.json()["message"]["rating"] == 2
    again = await client.post(f"/message/{message_id}/rate", json={"rating": 5, "feedback": "ok"})
    assert again.json()["message"]["rating"] == 5
    assert server.state.ratings == [
        RatingRecord(message_id, 2, None),
        RatingRecord(message_id, 5, "ok"),
    ]
    history = (await client.get(f"/conversation/{cid}/messages")).json()["messages"]
    assert history[1]["rating"] == 5
    for body in ({"rating": 0}, {"rating": 6}, {"rating": True}, {}):
        assert (await client.post(f"/message/{message_id}/rate", json=body)).status_code == 400
    unknown = await client.post("/message/nope/rate", json={"rating": 3})
    assert unknown.status_code == 404
    assert len(server.state.ratings) == 2


async def test_leads(server: LocalKnowrithm, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/sdk/lead",
        json={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "telegram-12345@leads.example.com",
            "phone": "+1",
            "source": "telegram",
            "metadata": {"chat": 1},
        },
    )
    assert response.status_code == 201
    lead = response.json()["lead"]
    assert lead["email"] == "telegram-12345@leads.example.com"
    assert (lead["source"], lead["phone"], lead["metadata"]) == ("telegram", "+1", {"chat": 1})
    fetched = await client.get(f"/lead/{lead['id']}")
    assert fetched.json() == {"lead": lead}
    assert set(server.state.leads) == {lead["id"]}
    no_email = await client.post("/sdk/lead", json={"first_name": "x", "last_name": "y"})
    assert no_email.status_code == 400
    assert (await client.get("/lead/nope")).status_code == 404


# --- agents, lifecycle, serve ----------------------------------------------------------


def test_echo_agent_is_deterministic_and_shows_history() -> None:
    agent = EchoAgent()
    earlier = StoredMessage(
        id="1",
        conversation_id="c",
        role="user",
        content="hello",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    first = agent.reply(question="hello", history=())
    assert first == agent.reply(question="hello", history=())
    assert first.startswith('You asked: "hello". This is message 1 of this conversation.')
    second = agent.reply(question="again", history=(earlier,))
    assert 'This is message 2 of this conversation; before this you said "hello".' in second
    assert agent.reply(question="", history=()).startswith('You asked: "".')


def test_split_words_round_trips() -> None:
    for text in ("a b  c ", "  lead", "", "   ", "one\nline two\t"):
        assert "".join(split_words(text)) == text
    assert split_words("a b") == ["a ", "b"]


async def test_scripted_agent_sees_the_history() -> None:
    seen: list[list[str]] = []

    def script(question: str, history: Sequence[StoredMessage]) -> str:
        seen.append([m.content for m in history])
        return f"{question.upper()}!"

    async with (
        LocalKnowrithm(agent=ScriptedAgent(script)) as server,
        httpx.AsyncClient(verify=TLS, base_url=server.base_url + "/v1", headers=AUTH) as http,
    ):
        cid = (await start(http))["id"]
        one = await wait_task(http, (await chat(http, cid, "one"))["task_id"])
        await wait_task(http, (await chat(http, cid, "two"))["task_id"])
    assert one["result"]["content"] == "ONE!"
    assert seen == [[], ["one", "ONE!"]]


async def test_stop_ends_open_streams_and_pending_replies() -> None:
    server = LocalKnowrithm(first_token_delay=30.0)
    await server.start()
    async with httpx.AsyncClient(
        verify=TLS, base_url=server.base_url + "/v1", headers=AUTH
    ) as http:
        cid = (await start(http))["id"]
        async with open_stream(http, cid) as stream:
            accepted = await chat(http, cid, "never answered")
            assert (await stream.next()).data["status"] == "queued"
            assert (await stream.next()).data["status"] == "in_progress"
            async with asyncio.timeout(WAIT):
                await server.stop()
            with pytest.raises((EOFError, httpx.HTTPError)):
                await stream.next(within=1.0)
    assert server.state.tasks[accepted["task_id"]].status == "failed"
    await server.stop()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(verify=TLS) as http:
            await http.get(server.base_url + "/v1/health")
