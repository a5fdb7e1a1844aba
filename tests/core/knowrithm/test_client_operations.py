"""Every KnowrithmClient operation over httpx.MockTransport: requests sent, answers read."""

from __future__ import annotations

import httpx
import pytest

from core.errors import ConfigError, KnowrithmError, ProtocolError, UnavailableError
from core.knowrithm import Conversation, KnowrithmClient
from tests.core.knowrithm.fakes import (
    CID,
    KEY,
    SECRET,
    FakeKnowrithm,
    SleepRecorder,
    body_of,
    conversation,
    json_response,
    make_client,
    message,
)


async def test_nothing_is_sent_or_opened_until_the_first_call() -> None:
    fake = FakeKnowrithm()
    client = make_client(fake)
    stream = client.stream_reply(conversation_id=CID, text="hi")
    assert fake.requests == []
    await stream.aclose()
    await client.aclose()
    await client.aclose()
    assert fake.requests == []


async def test_calls_after_close_raise_a_clear_error() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", "/api/v1/lead/l1", json_response(200, {"id": "l1"}))
    client = make_client(fake)
    assert (await client.get_lead(lead_id="l1")).id == "l1"
    await client.aclose()
    with pytest.raises(KnowrithmError, match="closed"):
        await client.get_lead(lead_id="l1")


async def test_start_conversation_sends_keys_and_only_given_fields() -> None:
    fake = FakeKnowrithm()
    fake.on("POST", "/api/v1/conversation", json_response(201, {"conversation": conversation()}))
    async with make_client(fake) as client:
        conv = await client.start_conversation(
            agent_id="agent-1", entity_type="USER", metadata={"thread": "t1"}
        )
    assert conv == Conversation(
        id=CID,
        agent_id="agent-1",
        entity_type="USER",
        status="active",
        message_count=0,
        started_at="2025-01-01T00:00:00Z",
        metadata={},
    )
    [request] = fake.requests
    assert request.headers["X-API-Key"] == KEY
    assert request.headers["X-API-Secret"] == SECRET
    assert "Authorization" not in request.headers
    assert body_of(request) == {
        "agent_id": "agent-1",
        "entity_type": "USER",
        "metadata": {"thread": "t1"},
    }


@pytest.mark.parametrize(
    "answer",
    [
        conversation(entity_type="lead", lead_id="l1"),
        {"data": conversation(entity_type="LEAD", lead_id="l1")},
        {"data": {"conversation": conversation(entity_type="LEAD", lead_id="l1")}},
        {"success": True, "conversation": conversation(entity_type="LEAD", lead_id="l1")},
    ],
)
async def test_conversation_records_are_read_bare_or_wrapped(answer: object) -> None:
    fake = FakeKnowrithm()
    fake.on("POST", "/api/v1/conversation", json_response(201, answer))
    async with make_client(fake) as client:
        conv = await client.start_conversation(agent_id="a", entity_type="LEAD", lead_id="l1")
    assert (conv.id, conv.entity_type, conv.lead_id) == (CID, "LEAD", "l1")


async def test_bearer_token_is_sent_as_authorization() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", "/api/v1/lead/l1", json_response(200, {"lead": {"id": "l1"}}))
    client = KnowrithmClient(
        base_url="http://knowrithm.test/api/",
        bearer_token="jwt-abcdef",
        transport=httpx.MockTransport(fake),
    )
    async with client:
        await client.get_lead(lead_id="l1")
    assert fake.requests[0].headers["Authorization"] == "Bearer jwt-abcdef"
    assert "X-API-Key" not in fake.requests[0].headers


def test_missing_credentials_are_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        KnowrithmClient(base_url="http://x/api")
    assert info.value.key_path == "knowrithm.api_key"
    with pytest.raises(ConfigError, match="api_secret"):
        KnowrithmClient(base_url="http://x/api", api_key="only-the-key")


@pytest.mark.parametrize("base_url", ["local", "", "ftp://x/api", "http:///api"])
def test_a_base_url_that_is_not_http_is_a_config_error(base_url: str) -> None:
    with pytest.raises(ConfigError) as info:
        KnowrithmClient(base_url=base_url, api_key=KEY, api_secret=SECRET)
    assert info.value.key_path == "knowrithm.base_url"


async def test_start_conversation_answered_with_a_task_is_polled() -> None:
    fake = FakeKnowrithm()
    sleep = SleepRecorder()
    fake.on(
        "POST",
        "/api/v1/conversation",
        json_response(202, {"status": "accepted", "task_id": "t-1"}),
    )
    fake.on(
        "GET",
        "/api/v1/tasks/t-1/status",
        json_response(200, {"status": "pending"}),
        json_response(200, {"status": "running"}),
        json_response(200, {"status": "SUCCESS", "result": {"conversation": conversation()}}),
    )
    async with make_client(fake, sleep=sleep, task_poll_interval=0.2) as client:
        conv = await client.start_conversation(agent_id="a", entity_type="USER")
    assert conv.id == CID
    assert len(fake.seen("GET", "/api/v1/tasks/t-1/status")) == 3
    assert sleep.calls == [0.2, 0.2]


@pytest.mark.parametrize(
    ("poll_url", "expected_path"),
    [
        ("/api/v1/jobs/t-2", "/api/v1/jobs/t-2"),
        ("/v1/jobs/t-2", "/api/v1/jobs/t-2"),
        ("http://knowrithm.test/api/v1/jobs/t-2", "/api/v1/jobs/t-2"),
        # Another host must never receive the credentials: the default path is used.
        ("http://evil.test/steal", "/api/v1/tasks/t-2/status"),
    ],
)
async def test_task_poll_url_is_followed_only_on_the_same_origin(
    poll_url: str, expected_path: str
) -> None:
    fake = FakeKnowrithm()
    done = json_response(200, {"status": "completed", "data": {"lead": {"id": "l9"}}})
    fake.on(
        "POST", "/api/v1/sdk/lead", json_response(202, {"task_id": "t-2", "poll_url": poll_url})
    )
    fake.on("GET", expected_path, done)
    async with make_client(fake) as client:
        lead = await client.create_lead(first_name="A", last_name="B", email="a@b.invalid")
    assert lead.id == "l9"
    assert [r.url.host for r in fake.requests] == ["knowrithm.test", "knowrithm.test"]


async def test_failed_task_raises_with_its_reason() -> None:
    fake = FakeKnowrithm()
    fake.on(
        "PATCH",
        f"/api/v1/conversation/{CID}",
        json_response(202, {"task_id": "t-3", "status": "queued"}),
    )
    fake.on(
        "GET",
        "/api/v1/tasks/t-3/status",
        json_response(200, {"status": "failed", "error": "disk full"}),
    )
    async with make_client(fake) as client:
        with pytest.raises(KnowrithmError, match="disk full") as info:
            await client.update_metadata(conversation_id=CID, metadata={"a": 1})
    assert info.value.error_code == "TASK_FAILED"


async def test_task_that_never_finishes_times_out() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", "/api/v1/tasks/t-4/status", json_response(200, {"status": "pending"}))
    async with make_client(fake, task_poll_interval=0.5, task_timeout=2.0) as client:
        with pytest.raises(UnavailableError, match="did not finish"):
            await client.wait_for_task(task_id="t-4")
    assert 3 <= len(fake.requests) <= 6


async def test_wait_for_task_returns_the_payload() -> None:
    fake = FakeKnowrithm()
    fake.on(
        "GET",
        "/api/v1/tasks/t-5/status",
        json_response(200, {"status": "done", "result": {"x": 1}}),
    )
    async with make_client(fake) as client:
        assert await client.wait_for_task(task_id="t-5") == {"x": 1}


async def test_list_conversations_sends_filters_and_reads_pagination() -> None:
    fake = FakeKnowrithm()
    body = {
        "conversations": [conversation(), conversation(id="conv-2", status="ended")],
        "pagination": {"page": 2, "per_page": 2, "total": 7, "pages": 4},
    }
    fake.on("GET", "/api/v1/conversation", json_response(200, body))
    async with make_client(fake) as client:
        page = await client.list_conversations(agent_id="a", sort_order="desc", page=2, per_page=2)
    assert [c.id for c in page.conversations] == [CID, "conv-2"]
    assert page.conversations[1].status == "ended"
    assert (page.page, page.per_page, page.total) == (2, 2, 7)
    assert dict(fake.requests[0].url.params) == {
        "agent_id": "a",
        "sort_order": "desc",
        "page": "2",
        "per_page": "2",
    }


@pytest.mark.parametrize("body", [[conversation()], {"data": [conversation()], "total": 1}])
async def test_list_conversations_reads_bare_lists_and_data(body: object) -> None:
    fake = FakeKnowrithm()
    fake.on("GET", "/api/v1/conversation", json_response(200, body))
    async with make_client(fake) as client:
        page = await client.list_conversations()
    assert [c.id for c in page.conversations] == [CID]
    assert (page.page, page.per_page) == (1, 20)


async def test_update_metadata_patches_and_returns_the_record() -> None:
    fake = FakeKnowrithm()
    fake.on(
        "PATCH",
        f"/api/v1/conversation/{CID}",
        json_response(200, {"conversation": conversation(metadata={"a": 1})}),
    )
    async with make_client(fake) as client:
        conv = await client.update_metadata(conversation_id=CID, metadata={"a": 1})
    assert conv.metadata == {"a": 1}
    assert body_of(fake.requests[0]) == {"metadata": {"a": 1}}


async def test_end_conversation_sends_rating_and_reads_the_ended_record() -> None:
    fake = FakeKnowrithm()
    ended = conversation(status="ended", rating=4, ended_at="2025-01-01T01:00:00Z")
    fake.on("POST", f"/api/v1/conversation/{CID}/end", json_response(200, {"conversation": ended}))
    async with make_client(fake) as client:
        conv = await client.end_conversation(conversation_id=CID, rating=4, feedback="good")
    assert (conv.status, conv.rating, conv.ended_at) == ("ended", 4, "2025-01-01T01:00:00Z")
    assert body_of(fake.requests[0]) == {"rating": 4, "feedback": "good"}


async def test_end_conversation_accepts_a_bare_confirmation() -> None:
    fake = FakeKnowrithm()
    fake.on("POST", f"/api/v1/conversation/{CID}/end", json_response(200, {"success": True}))
    async with make_client(fake) as client:
        conv = await client.end_conversation(conversation_id=CID)
    assert (conv.id, conv.status) == (CID, "ended")
    assert body_of(fake.requests[0]) == {}


async def test_history_reads_messages_in_order() -> None:
    fake = FakeKnowrithm()
    messages = [message("m1", "user", "hi"), message("m2", "assistant", "hello", rating=5)]
    fake.on(
        "GET",
        f"/api/v1/conversation/{CID}/messages",
        json_response(200, {"data": {"messages": messages}}),
    )
    async with make_client(fake) as client:
        history = await client.history(conversation_id=CID, per_page=10)
    assert [(m.id, m.role, m.content, m.rating) for m in history] == [
        ("m1", "user", "hi", None),
        ("m2", "assistant", "hello", 5),
    ]
    assert dict(fake.requests[0].url.params) == {"page": "1", "per_page": "10"}


async def test_analytics_reads_the_headline_numbers() -> None:
    fake = FakeKnowrithm()
    body = {
        "message_statistics": {"total_messages": 6, "user_messages": 3},
        "conversation_flow": {"duration_minutes": 2.5},
        "quality_metrics": {"satisfaction_rating": None},
    }
    fake.on("GET", f"/api/v1/analytic/conversation/{CID}", json_response(200, body))
    async with make_client(fake) as client:
        stats = await client.analytics(conversation_id=CID)
    assert (stats.total_messages, stats.duration_minutes, stats.satisfaction_rating) == (
        6,
        2.5,
        None,
    )
    assert stats.raw["message_statistics"]["user_messages"] == 3


async def test_rate_message_posts_the_rating() -> None:
    fake = FakeKnowrithm()
    fake.on("POST", "/api/v1/message/m2/rate", json_response(200, {"success": True}))
    async with make_client(fake) as client:
        await client.rate_message(message_id="m2", rating=5, feedback="great")
    assert body_of(fake.requests[0]) == {"rating": 5, "feedback": "great"}


async def test_rate_message_reporting_no_success_raises() -> None:
    fake = FakeKnowrithm()
    fake.on("POST", "/api/v1/message/m2/rate", json_response(200, {"success": False}))
    async with make_client(fake) as client:
        with pytest.raises(KnowrithmError, match="rate the message"):
            await client.rate_message(message_id="m2", rating=5)


async def test_create_and_get_lead() -> None:
    fake = FakeKnowrithm()
    lead = {"id": "l1", "first_name": "Ada", "last_name": "L", "email": "tg-1@telegram.invalid"}
    fake.on("POST", "/api/v1/sdk/lead", json_response(201, {"lead": lead}))
    fake.on("GET", "/api/v1/lead/l1", json_response(200, lead))
    async with make_client(fake) as client:
        created = await client.create_lead(
            first_name="Ada", last_name="L", email="tg-1@telegram.invalid", source="telegram"
        )
        fetched = await client.get_lead(lead_id="l1")
    assert created == fetched
    assert created.email == "tg-1@telegram.invalid"
    assert body_of(fake.requests[0]) == {
        "first_name": "Ada",
        "last_name": "L",
        "email": "tg-1@telegram.invalid",
        "source": "telegram",
    }


async def test_ids_are_escaped_in_paths() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", "/api/v1/lead/a%2Fb", json_response(200, {"id": "a/b"}))
    async with make_client(fake) as client:
        assert (await client.get_lead(lead_id="a/b")).id == "a/b"
    assert fake.requests[0].url.raw_path == b"/api/v1/lead/a%2Fb"


@pytest.mark.parametrize(
    ("answer", "healthy"),
    [
        (json_response(200, {"status": "ok"}), True),
        (json_response(200, {"status": "down"}), False),
        (json_response(503, {"detail": "maintenance"}), False),
        (httpx.ConnectError("refused"), False),
    ],
)
async def test_health(answer: httpx.Response | Exception, healthy: bool) -> None:
    fake = FakeKnowrithm()
    fake.on("GET", "/api/v1/health", answer)
    async with make_client(fake) as client:
        assert await client.health() is healthy
    assert len(fake.requests) == 1  # a probe reports at once, without retrying


async def test_record_without_id_is_a_protocol_error() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", "/api/v1/lead/l1", json_response(200, {"lead": {"email": "x"}}))
    async with make_client(fake) as client:
        with pytest.raises(ProtocolError, match="without an id"):
            await client.get_lead(lead_id="l1")
