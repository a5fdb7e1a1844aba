"""Every KnowrithmClient operation: the requests it sends and how it reads the answers.

Most tests run the real client against the local server. The MockTransport section at the
end needs a fake: the other answer shapes a deployment may use (records bare or wrapped in
`data`, bare lists, a bare `{"success": true}`, task handles without a poll URL or with other
status words) and poll URLs on other paths or hosts, none of which the local server sends.
"""

from __future__ import annotations

import json

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import (
    ConfigError,
    KnowrithmError,
    NotFoundError,
    ProtocolError,
    UnavailableError,
)
from knowrithm_bots.core.knowrithm import Conversation, KnowrithmClient
from tests.core.knowrithm.fakes import (
    CID,
    KEY,
    SECRET,
    THREE_TRIES,
    FakeKnowrithm,
    body_of,
    conversation,
    json_response,
    make_client,
    message,
)
from tests.core.knowrithm.recorders import SleepRecorder, WireLog
from tests.core.knowrithm.steps import (
    accept_chat,
    count,
    new_conversation,
    stored_reply,
)
from tests.harness import client_for


async def test_nothing_is_sent_or_opened_until_the_first_call(knowrithm: LocalKnowrithm) -> None:
    client = client_for(knowrithm)
    stream = client.stream_reply(conversation_id="c-1", text="hi")
    assert knowrithm.state.requests == []
    await stream.aclose()
    await client.aclose()
    await client.aclose()
    assert knowrithm.state.requests == []


async def test_calls_after_close_raise_a_clear_error(knowrithm: LocalKnowrithm) -> None:
    client = client_for(knowrithm)
    lead = await client.create_lead(first_name="A", last_name="B", email="a@leads.example.com")
    assert (await client.get_lead(lead_id=lead.id)).id == lead.id
    await client.aclose()
    with pytest.raises(KnowrithmError, match="closed"):
        await client.get_lead(lead_id=lead.id)
    assert count(knowrithm, "GET", f"/v1/lead/{lead.id}") == 1


async def test_start_conversation_sends_keys_and_only_given_fields(
    knowrithm: LocalKnowrithm,
) -> None:
    wire = WireLog()
    async with client_for(knowrithm, transport=wire) as client:
        conv = await client.start_conversation(
            agent_id=knowrithm.agent_id, entity_type="USER", metadata={"thread": "t1"}
        )
    stored = knowrithm.state.conversations[conv.id]
    assert conv == Conversation(
        id=stored.id,
        agent_id=knowrithm.agent_id,
        entity_type="USER",
        status="active",
        message_count=0,
        started_at=stored.started_at.isoformat(),
        metadata={"thread": "t1"},
    )
    [exchange] = wire.exchanges
    request = exchange.request
    assert request.headers["X-API-Key"] == knowrithm.api_key
    assert request.headers["X-API-Secret"] == knowrithm.api_secret
    assert "Authorization" not in request.headers
    assert json.loads(request.content) == {
        "agent_id": knowrithm.agent_id,
        "entity_type": "user",
        "metadata": {"thread": "t1"},
    }


async def test_bearer_token_is_sent_as_authorization(knowrithm: LocalKnowrithm) -> None:
    async with client_for(knowrithm) as keyed:
        lead = await keyed.create_lead(first_name="A", last_name="B", email="a@leads.example.com")
    knowrithm.state.tokens.add("jwt-abcdef")
    wire = WireLog()
    client = KnowrithmClient(
        base_url=knowrithm.base_url + "/", bearer_token="jwt-abcdef", transport=wire
    )
    async with client:
        assert await client.get_lead(lead_id=lead.id) == lead
    [exchange] = wire.exchanges
    assert exchange.path == f"/api/v1/lead/{lead.id}"
    assert exchange.request.headers["Authorization"] == "Bearer jwt-abcdef"
    assert "X-API-Key" not in exchange.request.headers


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


async def test_failed_task_raises_with_its_reason(knowrithm: LocalKnowrithm) -> None:
    async with client_for(knowrithm) as client:
        cid = await new_conversation(client, knowrithm)
        knowrithm.faults.start_mode = "task"
        knowrithm.faults.task_error = "disk full"
        with pytest.raises(KnowrithmError, match="disk full") as info:
            await client.update_metadata(conversation_id=cid, metadata={"a": 1})
    assert info.value.error_code == "TASK_FAILED"
    assert count(knowrithm, "GET", "/status") >= 1


async def test_task_that_never_finishes_times_out(knowrithm: LocalKnowrithm) -> None:
    sleep = SleepRecorder()
    async with client_for(
        knowrithm, sleep=sleep, task_poll_interval=0.5, task_timeout=2.0
    ) as client:
        cid = await new_conversation(client, knowrithm)
        knowrithm.faults.hold_replies()  # the reply's task stays pending until released
        try:
            task_id = (await accept_chat(knowrithm, cid, "Hi"))["task_id"]
            with pytest.raises(UnavailableError, match="did not finish"):
                await client.wait_for_task(task_id=task_id)
        finally:
            knowrithm.faults.release_replies()
    assert 3 <= count(knowrithm, "GET", f"/tasks/{task_id}/status") <= 6
    assert set(sleep.calls) == {0.5}


async def test_wait_for_task_returns_the_payload(knowrithm: LocalKnowrithm) -> None:
    async with client_for(knowrithm) as client:
        cid = await new_conversation(client, knowrithm)
        accepted = await accept_chat(knowrithm, cid, "Hi")
        payload = await client.wait_for_task(
            task_id=accepted["task_id"], poll_url=accepted["poll_url"]
        )
    assert payload == stored_reply(knowrithm, cid).to_json()


async def test_list_conversations_sends_filters_and_reads_pagination(
    knowrithm: LocalKnowrithm,
) -> None:
    wire = WireLog()
    async with client_for(knowrithm, transport=wire) as client:
        ids = [(await client.start_conversation(agent_id="a", entity_type="USER")).id]
        for _ in range(3):
            ids.append((await client.start_conversation(agent_id="a", entity_type="USER")).id)
        await client.start_conversation(agent_id="other", entity_type="USER")
        await client.end_conversation(conversation_id=ids[0])
        page = await client.list_conversations(agent_id="a", sort_order="desc", page=2, per_page=2)
    # Newest first, two per page: the second page holds the two oldest of agent "a".
    assert [c.id for c in page.conversations] == [ids[1], ids[0]]
    assert [c.status for c in page.conversations] == ["active", "ended"]
    assert (page.page, page.per_page, page.total) == (2, 2, 4)
    listing = wire.sent("GET", "/v1/conversation")[-1]
    assert dict(listing.request.url.params) == {
        "agent_id": "a",
        "sort_order": "desc",
        "page": "2",
        "per_page": "2",
    }


async def test_analytics_reads_the_headline_numbers(knowrithm: LocalKnowrithm) -> None:
    async with client_for(knowrithm) as client:
        cid = await new_conversation(client, knowrithm)
        await client.send_message(conversation_id=cid, text="Hi")
        await client.end_conversation(conversation_id=cid, rating=4)
        stats = await client.analytics(conversation_id=cid)
    assert (stats.total_messages, stats.satisfaction_rating) == (2, 4)
    assert stats.duration_minutes is not None
    assert 0 <= stats.duration_minutes < 1
    assert stats.raw["message_statistics"]["user_messages"] == 1


async def test_rate_message_reporting_no_success_raises(knowrithm: LocalKnowrithm) -> None:
    async with client_for(knowrithm) as client:
        cid = await new_conversation(client, knowrithm)
        answer = await client.send_message(conversation_id=cid, text="Hi")
        knowrithm.faults.fail_next(
            method="POST", path_contains="/rate", status=200, body='{"success": false}'
        )
        with pytest.raises(KnowrithmError, match="rate the message"):
            await client.rate_message(message_id=answer.id, rating=5)
    assert knowrithm.state.ratings == []


async def test_ids_are_escaped_in_paths(knowrithm: LocalKnowrithm) -> None:
    wire = WireLog()
    async with client_for(knowrithm, transport=wire) as client:
        # Unescaped, the slash would split the id and no route would match ("Not Found");
        # escaped, the lead route gets "a/b" as one id and reports that lead missing.
        with pytest.raises(NotFoundError, match="Lead not found"):
            await client.get_lead(lead_id="a/b")
    [exchange] = wire.exchanges
    assert exchange.path == "/api/v1/lead/a%2Fb"


@pytest.mark.parametrize("answer", ["ok", "down", "maintenance", "refused"])
async def test_health(knowrithm: LocalKnowrithm, answer: str) -> None:
    faults = knowrithm.faults
    if answer == "down":
        faults.fail_next(path_contains="/v1/health", status=200, body='{"status": "down"}')
    elif answer == "maintenance":
        faults.fail_next(path_contains="/v1/health", status=503, body='{"detail": "maintenance"}')
    elif answer == "refused":
        await knowrithm.stop()
    wire = WireLog()
    async with client_for(
        knowrithm, transport=wire, retry=THREE_TRIES, sleep=SleepRecorder()
    ) as client:
        assert await client.health() is (answer == "ok")
    assert len(wire.exchanges) == 1  # a probe reports at once, without retrying


async def test_record_without_id_is_a_protocol_error(knowrithm: LocalKnowrithm) -> None:
    knowrithm.faults.fail_next(
        method="GET", path_contains="/v1/lead/", status=200, body='{"lead": {"email": "x"}}'
    )
    async with client_for(knowrithm) as client:
        with pytest.raises(ProtocolError, match="without an id"):
            await client.get_lead(lead_id="l1")


# --- MockTransport: answer shapes and poll URLs the local server never sends ---------------


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


async def test_task_without_a_poll_url_and_with_other_status_words_is_polled() -> None:
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
        lead = await client.create_lead(first_name="A", last_name="B", email="a@leads.example.com")
    assert lead.id == "l9"
    assert [r.url.host for r in fake.requests] == ["knowrithm.test", "knowrithm.test"]


@pytest.mark.parametrize("body", [[conversation()], {"data": [conversation()], "total": 1}])
async def test_list_conversations_reads_bare_lists_and_data(body: object) -> None:
    fake = FakeKnowrithm()
    fake.on("GET", "/api/v1/conversation", json_response(200, body))
    async with make_client(fake) as client:
        page = await client.list_conversations()
    assert [c.id for c in page.conversations] == [CID]
    assert (page.page, page.per_page) == (1, 20)


async def test_end_conversation_accepts_a_bare_confirmation() -> None:
    fake = FakeKnowrithm()
    fake.on("POST", f"/api/v1/conversation/{CID}/end", json_response(200, {"success": True}))
    async with make_client(fake) as client:
        conv = await client.end_conversation(conversation_id=CID)
    assert (conv.id, conv.status) == (CID, "ended")
    assert body_of(fake.requests[0]) == {}


async def test_history_reads_messages_nested_under_data() -> None:
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


async def test_every_request_carries_the_client_headers_and_no_cookie() -> None:
    # The API authenticates each request with headers: a cookie a proxy or load balancer
    # sets is not kept, so it can never carry one conversation's session into another.
    fake = FakeKnowrithm()
    fake.on(
        "POST",
        "/api/v1/conversation",
        json_response(201, conversation(), **{"Set-Cookie": "session=abc; Path=/"}),
    )
    async with make_client(fake) as client:
        for _ in range(2):
            await client.start_conversation(agent_id="a", entity_type="USER")
    first, second = fake.requests
    for request in (first, second):
        assert request.headers["User-Agent"].startswith("knowrithm-bots/")
        assert request.headers["Accept"] == "application/json"
        assert request.headers["Accept-Encoding"] == "gzip, deflate"
        assert request.headers["Host"] == "knowrithm.test"
        assert request.headers["X-API-Key"] == KEY
        assert request.headers["Content-Type"] == "application/json"
    assert "Cookie" not in second.headers
