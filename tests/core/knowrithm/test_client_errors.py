"""Error statuses map onto core.errors; retries happen only where repeating is safe."""

from __future__ import annotations

import httpx
import pytest

from core.errors import (
    AuthError,
    BadRequestError,
    ConversationEndedError,
    KnowrithmError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    UnavailableError,
)
from core.knowrithm import RetryPolicy
from tests.core.knowrithm.fakes import (
    CID,
    KEY,
    SECRET,
    FakeKnowrithm,
    SleepRecorder,
    conversation,
    json_response,
    make_client,
)

LEAD = "/api/v1/lead/l1"


@pytest.mark.parametrize(
    ("status", "body", "error_type", "code"),
    [
        (400, {"detail": "first_name is required"}, BadRequestError, None),
        (
            401,
            {"detail": "Invalid API credentials", "error_code": "AUTH_FAILED"},
            AuthError,
            "AUTH_FAILED",
        ),
        (403, {"message": "Scope missing"}, AuthError, None),
        (
            404,
            {"error": {"message": "No such lead", "code": "NOT_FOUND"}},
            NotFoundError,
            "NOT_FOUND",
        ),
        (409, {"detail": "Conversation has ended"}, ConversationEndedError, None),
        (422, {"detail": [{"msg": "bad email"}, {"msg": "bad phone"}]}, BadRequestError, None),
        (418, {}, BadRequestError, None),
    ],
)
async def test_error_statuses_map_to_the_error_tree(
    status: int, body: object, error_type: type[KnowrithmError], code: str | None
) -> None:
    fake = FakeKnowrithm()
    fake.on("GET", LEAD, json_response(status, body))
    async with make_client(fake) as client:
        with pytest.raises(error_type) as info:
            await client.get_lead(lead_id="l1")
    error = info.value
    assert type(error) is error_type
    assert (error.status, error.error_code) == (status, code)
    text = str(error)
    assert text.startswith("Knowrithm could not read the lead: ")
    assert text.endswith(".")
    assert "\n" not in text
    assert f"HTTP {status}" in text
    assert len(fake.requests) == 1  # client errors are never retried


async def test_error_detail_is_part_of_the_message() -> None:
    fake = FakeKnowrithm()
    fake.on(
        "GET", LEAD, json_response(422, {"detail": [{"msg": "bad email"}, {"msg": "bad phone"}]})
    )
    async with make_client(fake) as client:
        with pytest.raises(BadRequestError, match=r"HTTP 422: bad email; bad phone\)"):
            await client.get_lead(lead_id="l1")


async def test_conversation_ended_error_code_wins_over_the_status() -> None:
    fake = FakeKnowrithm()
    body = {"detail": "Conversation has ended", "error_code": "CONVERSATION_ENDED"}
    fake.on("PATCH", f"/api/v1/conversation/{CID}", json_response(400, body))
    async with make_client(fake) as client:
        with pytest.raises(ConversationEndedError, match="has ended"):
            await client.update_metadata(conversation_id=CID, metadata={})


async def test_secrets_echoed_by_the_server_never_reach_the_message() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", LEAD, json_response(401, {"detail": f"key {KEY} with secret {SECRET} is wrong"}))
    async with make_client(fake) as client:
        with pytest.raises(AuthError) as info:
            await client.get_lead(lead_id="l1")
    assert KEY not in str(info.value)
    assert SECRET not in str(info.value)
    assert "[redacted]" in str(info.value)


async def test_malformed_json_is_a_protocol_error() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", LEAD, httpx.Response(200, content=b"{not json"))
    async with make_client(fake) as client:
        with pytest.raises(ProtocolError, match="malformed JSON"):
            await client.get_lead(lead_id="l1")


async def test_malformed_error_body_still_maps_the_status() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", LEAD, httpx.Response(404, content=b"<html>Not Found</html>"))
    async with make_client(fake) as client:
        with pytest.raises(NotFoundError) as info:
            await client.get_lead(lead_id="l1")
    assert "<html>" not in str(info.value)


async def test_get_is_retried_on_5xx_and_timeouts_with_backoff() -> None:
    fake = FakeKnowrithm()
    sleep = SleepRecorder()
    fake.on(
        "GET",
        LEAD,
        json_response(503, {"detail": "busy"}),
        httpx.ReadTimeout("slow"),
        json_response(200, {"id": "l1"}),
    )
    policy = RetryPolicy(attempts=3, base_delay=0.1, max_delay=1.0, jitter=0.5)
    async with make_client(fake, sleep=sleep, retry=policy) as client:
        assert (await client.get_lead(lead_id="l1")).id == "l1"
    assert len(fake.requests) == 3
    assert 0.05 <= sleep.calls[0] <= 0.1
    assert 0.1 <= sleep.calls[1] <= 0.2


async def test_get_gives_up_after_the_last_attempt() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", LEAD, json_response(500, {"detail": "boom"}))
    async with make_client(fake, retry=RetryPolicy(attempts=2, base_delay=0.01)) as client:
        with pytest.raises(UnavailableError, match="HTTP 500: boom"):
            await client.get_lead(lead_id="l1")
    assert len(fake.requests) == 2


async def test_connection_refused_is_unavailable_after_retries() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", LEAD, httpx.ConnectError("refused"))
    async with make_client(fake) as client:
        with pytest.raises(
            UnavailableError, match=r"no connection could be made to http://knowrithm\.test\."
        ):
            await client.get_lead(lead_id="l1")
    assert len(fake.requests) == 3


async def test_retry_after_is_honoured() -> None:
    fake = FakeKnowrithm()
    sleep = SleepRecorder()
    fake.on(
        "GET",
        LEAD,
        json_response(429, {"detail": "slow down"}, **{"Retry-After": "2"}),
        json_response(200, {"id": "l1"}),
    )
    async with make_client(fake, sleep=sleep) as client:
        await client.get_lead(lead_id="l1")
    assert sleep.calls == [2.0]


async def test_long_retry_after_raises_rate_limited_at_once() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", LEAD, json_response(429, {"detail": "slow down"}, **{"Retry-After": "600"}))
    async with make_client(fake) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.get_lead(lead_id="l1")
    assert info.value.retry_after == 600.0
    assert info.value.status == 429
    assert "retry after 600 s" in str(info.value)
    assert len(fake.requests) == 1


async def test_rate_limit_persisting_through_all_attempts_raises() -> None:
    fake = FakeKnowrithm()
    fake.on("POST", "/api/v1/conversation", json_response(429, {}, **{"Retry-After": "1"}))
    async with make_client(fake) as client:
        with pytest.raises(RateLimitedError):
            await client.start_conversation(agent_id="a", entity_type="USER")
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("PATCH", f"/api/v1/conversation/{CID}", "patch"),
        ("POST", f"/api/v1/conversation/{CID}/end", "end"),
        ("POST", "/api/v1/message/m1/rate", "rate"),
    ],
)
async def test_idempotent_writes_are_retried_on_5xx(method: str, path: str, call: str) -> None:
    fake = FakeKnowrithm()
    ok = {"conversation": conversation()} if call != "rate" else {"success": True}
    fake.on(
        method,
        path,
        json_response(502, {}),
        httpx.RemoteProtocolError("dropped"),
        json_response(200, ok),
    )
    async with make_client(fake) as client:
        if call == "patch":
            await client.update_metadata(conversation_id=CID, metadata={})
        elif call == "end":
            await client.end_conversation(conversation_id=CID)
        else:
            await client.rate_message(message_id="m1", rating=3)
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    "failure",
    [
        json_response(500, {"detail": "boom"}),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.WriteError("reset"),
    ],
)
@pytest.mark.parametrize("operation", ["conversation", "lead"])
async def test_creating_posts_are_not_repeated_when_they_may_have_arrived(
    failure: httpx.Response | Exception, operation: str
) -> None:
    fake = FakeKnowrithm()
    path = "/api/v1/conversation" if operation == "conversation" else "/api/v1/sdk/lead"
    fake.on("POST", path, failure, json_response(201, {"id": "never"}))
    async with make_client(fake) as client:
        if operation == "conversation":
            call = client.start_conversation(agent_id="a", entity_type="USER")
        else:
            call = client.create_lead(first_name="a", last_name="b", email="c@d.invalid")
        with pytest.raises(UnavailableError):
            await call
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), json_response(429, {})],
)
async def test_creating_posts_are_repeated_when_they_certainly_did_not_arrive(
    failure: httpx.Response | Exception,
) -> None:
    fake = FakeKnowrithm()
    fake.on("POST", "/api/v1/conversation", failure, json_response(201, conversation()))
    async with make_client(fake) as client:
        conv = await client.start_conversation(agent_id="a", entity_type="USER")
    assert conv.id == CID
    assert len(fake.requests) == 2
