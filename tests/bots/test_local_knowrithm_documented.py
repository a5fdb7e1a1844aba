"""The local server in documented-service mode: only what the public record shows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from tests.bots.test_local_knowrithm import AUTH, TLS, Sse, chat, open_stream, start, wait_task


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm(mode="documented") as running:
        yield running


@pytest.fixture
async def client(server: LocalKnowrithm) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        verify=TLS, base_url=server.base_url + "/v1", headers=AUTH
    ) as http:
        yield http


def finished(message_id: str) -> Callable[[Sse], bool]:
    """The last event of the reply to user message ``message_id``."""

    def check(event: Sse) -> bool:
        return (
            event.event == "chat_status"
            and event.data.get("message_id") == message_id
            and event.data["status"] in ("completed", "failed")
        )

    return check


async def test_a_reply_is_status_then_one_nested_response_without_ids(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    cid = (await start(client))["id"]
    async with open_stream(client, cid) as stream:
        accepted = await chat(client, cid, "What is 2+2?")
        events = await stream.until(finished(accepted["message_id"]))
        assert stream.comments == []

    assert "stream_url" not in accepted
    assert set(accepted) == {"status", "task_id", "conversation_id", "message_id", "poll_url"}
    assert [e.event for e in events] == [
        "chat_status",
        "chat_status",
        "chat_response",
        "chat_status",
    ]
    assert all(e.id is None for e in events)
    statuses = [e.data for e in events if e.event == "chat_status"]
    assert statuses == [
        {"conversation_id": cid, "message_id": accepted["message_id"], "status": status}
        for status in ("queued", "in_progress", "completed")
    ]
    (reply,) = (e.data for e in events if e.event == "chat_response")
    stored = server.state.messages[cid][-1]
    assert reply == {"conversation_id": cid, "status": "completed", "message": stored.to_json()}
    assert stored.role == "assistant"
    assert stored.content.startswith('You asked: "What is 2+2?"')


@pytest.mark.parametrize("headers", [{}, {"Last-Event-ID": "0"}])
async def test_a_late_subscriber_gets_nothing_that_was_published_before(
    server: LocalKnowrithm, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    cid = (await start(client))["id"]
    # Held before its first word: queued and in_progress are out, the answer is not.
    server.faults.hold_replies()
    try:
        accepted = await chat(client, cid, "late")
        async with open_stream(client, cid, headers=headers) as stream:
            server.faults.release_replies()
            events = await stream.until(finished(accepted["message_id"]))
    finally:
        server.faults.release_replies()
    assert [e.event for e in events] == ["chat_response", "chat_status"]
    assert events[0].data["message"]["content"].startswith('You asked: "late"')


async def test_a_finished_reply_is_gone_for_a_stream_opened_afterwards() -> None:
    async with (
        LocalKnowrithm(mode="documented", heartbeat_interval=0.1) as server,
        httpx.AsyncClient(verify=TLS, base_url=server.base_url + "/v1", headers=AUTH) as http,
    ):
        cid = (await start(http))["id"]
        accepted = await chat(http, cid, "done already")
        await wait_task(http, accepted["task_id"])
        # Asked for everything since the first event: a streaming server replays the reply.
        async with open_stream(http, cid, headers={"Last-Event-ID": "0"}) as stream:
            first = await stream.next(within=2.0)
    assert first.event == "heartbeat"


async def test_idle_streams_carry_heartbeats_only() -> None:
    async with (
        LocalKnowrithm(mode="documented", heartbeat_interval=0.05) as server,
        httpx.AsyncClient(verify=TLS, base_url=server.base_url + "/v1", headers=AUTH) as http,
    ):
        cid = (await start(http))["id"]
        async with open_stream(http, cid) as stream:
            beats = [await stream.next(within=1.0), await stream.next(within=1.0)]
            assert stream.comments == []
    assert [(b.event, b.id) for b in beats] == [("heartbeat", None), ("heartbeat", None)]


async def test_an_agent_failure_is_a_failed_response_and_status() -> None:
    def broken(question: str, history: Sequence[StoredMessage]) -> str:
        raise RuntimeError("model offline")

    async with (
        LocalKnowrithm(mode="documented", agent=ScriptedAgent(broken)) as server,
        httpx.AsyncClient(verify=TLS, base_url=server.base_url + "/v1", headers=AUTH) as http,
    ):
        cid = (await start(http))["id"]
        async with open_stream(http, cid) as stream:
            accepted = await chat(http, cid, "hi")
            events = await stream.until(finished(accepted["message_id"]))
    response, status = events[-2:]
    assert response.event == "chat_response"
    assert (response.data["status"], response.data["conversation_id"]) == ("failed", cid)
    assert "model offline" in response.data["error"]
    assert (status.data["status"], "task_id" in status.data) == ("failed", False)


def test_the_mode_defaults_to_the_class_default_and_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert LocalKnowrithm(mode="streaming").mode == "streaming"
    monkeypatch.setattr(LocalKnowrithm, "default_mode", "documented")
    assert LocalKnowrithm().mode == "documented"
    assert LocalKnowrithm(mode="streaming").mode == "streaming"
    with pytest.raises(ValueError, match="streaming, documented"):
        LocalKnowrithm(mode="chatty")  # type: ignore[arg-type]
