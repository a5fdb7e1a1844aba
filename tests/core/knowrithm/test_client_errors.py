"""Error statuses map onto core.errors; retries happen only where repeating is safe.

Most tests run the real client against the local server. The MockTransport section at the
end needs a fake: it raises transport exceptions (read timeouts, dropped or reset
connections, a refused connection followed by a working one) that the local server cannot
produce on demand for an ordinary request.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import (
    AuthError,
    BadRequestError,
    ConversationEndedError,
    KnowrithmError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from knowrithm_bots.core.knowrithm import KnowrithmClient, RetryPolicy
from tests.core.knowrithm.fakes import (
    CID,
    THREE_TRIES,
    FakeKnowrithm,
    conversation,
    json_response,
    make_client,
)
from tests.core.knowrithm.recorders import SleepRecorder, WireLog
from tests.core.knowrithm.steps import count, new_conversation
from tests.harness import client_for


async def new_lead_id(client: KnowrithmClient) -> str:
    lead = await client.create_lead(
        first_name="Ada", last_name="L", email="telegram-1@leads.example.com"
    )
    return lead.id


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
    knowrithm: LocalKnowrithm,
    status: int,
    body: object,
    error_type: type[KnowrithmError],
    code: str | None,
) -> None:
    knowrithm.faults.fail_next(
        method="GET", path_contains="/v1/lead/", status=status, body=json.dumps(body)
    )
    async with client_for(knowrithm, retry=THREE_TRIES, sleep=SleepRecorder()) as client:
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
    assert count(knowrithm, "GET", "/v1/lead/l1") == 1  # client errors are never retried


async def test_error_detail_is_part_of_the_message(knowrithm: LocalKnowrithm) -> None:
    body = {"detail": [{"msg": "bad email"}, {"msg": "bad phone"}]}
    knowrithm.faults.fail_next(path_contains="/v1/lead/", status=422, body=json.dumps(body))
    async with client_for(knowrithm) as client:
        with pytest.raises(BadRequestError, match=r"HTTP 422: bad email; bad phone\)"):
            await client.get_lead(lead_id="l1")


async def test_conversation_ended_error_code_wins_over_the_status(
    knowrithm: LocalKnowrithm,
) -> None:
    body = {"detail": "Conversation has ended", "error_code": "CONVERSATION_ENDED"}
    async with client_for(knowrithm) as client:
        cid = await new_conversation(client, knowrithm)
        knowrithm.faults.fail_next(
            method="PUT", path_contains=cid, status=400, body=json.dumps(body)
        )
        with pytest.raises(ConversationEndedError, match="has ended"):
            await client.update_metadata(conversation_id=cid, metadata={})


async def test_secrets_echoed_by_the_server_never_reach_the_message(
    knowrithm: LocalKnowrithm,
) -> None:
    key, secret = knowrithm.api_key, knowrithm.api_secret
    detail = {"detail": f"key {key} with secret {secret} is wrong"}
    knowrithm.faults.fail_next(path_contains="/v1/lead/", status=401, body=json.dumps(detail))
    async with client_for(knowrithm) as client:
        with pytest.raises(AuthError) as info:
            await client.get_lead(lead_id="l1")
    assert key not in str(info.value)
    assert secret not in str(info.value)
    assert "[redacted]" in str(info.value)


async def test_malformed_error_body_still_maps_the_status(knowrithm: LocalKnowrithm) -> None:
    knowrithm.faults.fail_next(path_contains="/v1/lead/", status=404, body="<html>Not Found</html>")
    async with client_for(knowrithm) as client:
        with pytest.raises(NotFoundError) as info:
            await client.get_lead(lead_id="l1")
    assert "<html>" not in str(info.value)


async def test_get_is_retried_on_5xx_with_backoff(knowrithm: LocalKnowrithm) -> None:
    sleep = SleepRecorder()
    policy = RetryPolicy(attempts=3, base_delay=0.1, max_delay=1.0, jitter=0.5)
    async with client_for(knowrithm, sleep=sleep, retry=policy) as client:
        lead_id = await new_lead_id(client)
        knowrithm.faults.fail_next(method="GET", path_contains="/v1/lead/", status=503)
        knowrithm.faults.fail_next(method="GET", path_contains="/v1/lead/", status=502)
        assert (await client.get_lead(lead_id=lead_id)).id == lead_id
    assert count(knowrithm, "GET", f"/v1/lead/{lead_id}") == 3
    assert len(sleep.calls) == 2
    assert 0.05 <= sleep.calls[0] <= 0.1
    assert 0.1 <= sleep.calls[1] <= 0.2


async def test_get_gives_up_after_the_last_attempt(knowrithm: LocalKnowrithm) -> None:
    knowrithm.faults.fail_next(
        path_contains="/v1/lead/", status=500, body='{"detail": "boom"}', count=2
    )
    async with client_for(knowrithm, retry=RetryPolicy(attempts=2, base_delay=0.01)) as client:
        with pytest.raises(UnavailableError, match="HTTP 500: boom"):
            await client.get_lead(lead_id="l1")
    assert count(knowrithm, "GET", "/v1/lead/l1") == 2


async def test_connection_refused_is_unavailable_after_retries(knowrithm: LocalKnowrithm) -> None:
    wire, sleep = WireLog(), SleepRecorder()
    origin = knowrithm.base_url.removesuffix("/api")
    await knowrithm.stop()  # nothing listens on the port now: connections are refused
    async with client_for(knowrithm, retry=THREE_TRIES, transport=wire, sleep=sleep) as client:
        with pytest.raises(UnavailableError) as info:
            await client.get_lead(lead_id="l1")
    assert str(info.value).endswith(f"no connection could be made to {origin}.")
    assert len(wire.exchanges) == 3
    assert len(sleep.calls) == 2


async def test_retry_after_is_honoured(knowrithm: LocalKnowrithm) -> None:
    sleep = SleepRecorder()
    async with client_for(knowrithm, sleep=sleep, retry=THREE_TRIES) as client:
        lead_id = await new_lead_id(client)
        knowrithm.faults.fail_next(
            method="GET", path_contains="/v1/lead/", status=429, retry_after=2
        )
        assert (await client.get_lead(lead_id=lead_id)).id == lead_id
    assert sleep.calls == [2.0]
    assert count(knowrithm, "GET", f"/v1/lead/{lead_id}") == 2


async def test_long_retry_after_raises_rate_limited_at_once(knowrithm: LocalKnowrithm) -> None:
    knowrithm.faults.fail_next(path_contains="/v1/lead/", status=429, retry_after=600)
    async with client_for(knowrithm, retry=THREE_TRIES, sleep=SleepRecorder()) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.get_lead(lead_id="l1")
    assert info.value.retry_after == 600.0
    assert info.value.status == 429
    assert "retry after 600 s" in str(info.value)
    assert count(knowrithm, "GET", "/v1/lead/l1") == 1


async def test_rate_limit_persisting_through_all_attempts_raises(
    knowrithm: LocalKnowrithm,
) -> None:
    sleep = SleepRecorder()
    knowrithm.faults.fail_next(
        method="POST", path_contains="/v1/conversation", status=429, retry_after=1, count=3
    )
    async with client_for(knowrithm, retry=THREE_TRIES, sleep=sleep) as client:
        with pytest.raises(RateLimitedError):
            await client.start_conversation(agent_id=knowrithm.agent_id, entity_type="USER")
    assert count(knowrithm, "POST", "/v1/conversation") == 3
    assert sleep.calls == [1.0, 1.0]
    assert knowrithm.state.conversations == {}


@pytest.mark.parametrize("call", ["update", "end", "rate"])
async def test_idempotent_writes_are_retried_on_5xx(knowrithm: LocalKnowrithm, call: str) -> None:
    async with client_for(knowrithm, retry=THREE_TRIES, sleep=SleepRecorder()) as client:
        cid = await new_conversation(client, knowrithm)
        answer = await client.send_message(conversation_id=cid, text="Hi")
        method, path = {
            "update": ("PUT", f"/v1/conversation/{cid}"),
            "end": ("POST", f"/v1/conversation/{cid}/end"),
            "rate": ("POST", f"/v1/messages/{answer.id}/rate"),
        }[call]
        knowrithm.faults.fail_next(method=method, path_contains=path, status=502)
        knowrithm.faults.fail_next(method=method, path_contains=path, status=503)
        if call == "update":
            await client.update_metadata(conversation_id=cid, metadata={"a": 1})
        elif call == "end":
            await client.end_conversation(conversation_id=cid)
        else:
            await client.rate_message(message_id=answer.id, rating=3)
    assert count(knowrithm, method, path) == 3
    state = knowrithm.state
    recorded = {"update": state.metadata_updates, "end": state.ends, "rate": state.ratings}
    assert len(recorded[call]) == 1  # the two failures stored nothing; the retry stored once


async def test_creating_a_lead_is_not_repeated_after_a_server_error(
    knowrithm: LocalKnowrithm,
) -> None:
    # The conversation case is test_local_server.py::test_server_error_on_create_is_not_repeated.
    knowrithm.faults.fail_next(method="POST", path_contains="/v1/sdk/lead", status=500)
    async with client_for(knowrithm, retry=THREE_TRIES, sleep=SleepRecorder()) as client:
        with pytest.raises(UnavailableError):
            await client.create_lead(first_name="a", last_name="b", email="c@leads.example.com")
    assert count(knowrithm, "POST", "/v1/sdk/lead") == 1
    assert knowrithm.state.leads == {}


async def test_creating_posts_are_repeated_when_rate_limited(knowrithm: LocalKnowrithm) -> None:
    # A 429 means the service refused the request before doing anything: sending it again
    # cannot create a second conversation.
    knowrithm.faults.fail_next(method="POST", path_contains="/v1/conversation", status=429)
    async with client_for(knowrithm, retry=THREE_TRIES, sleep=SleepRecorder()) as client:
        conv = await client.start_conversation(agent_id=knowrithm.agent_id, entity_type="USER")
    assert list(knowrithm.state.conversations) == [conv.id]
    assert count(knowrithm, "POST", "/v1/conversation") == 2


# --- MockTransport: transport failures the local server cannot raise on demand ------------


async def test_get_is_retried_after_a_read_timeout() -> None:
    fake = FakeKnowrithm()
    fake.on("GET", "/api/v1/lead/l1", httpx.ReadTimeout("slow"), json_response(200, {"id": "l1"}))
    async with make_client(fake) as client:
        assert (await client.get_lead(lead_id="l1")).id == "l1"
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("PUT", f"/api/v1/conversation/{CID}", "update"),
        ("POST", f"/api/v1/conversation/{CID}/end", "end"),
        ("POST", "/api/v1/messages/m1/rate", "rate"),
    ],
)
async def test_idempotent_writes_are_retried_after_a_dropped_connection(
    method: str, path: str, call: str
) -> None:
    fake = FakeKnowrithm()
    ok: Any = {"conversation": conversation()} if call != "rate" else {"success": True}
    fake.on(method, path, httpx.RemoteProtocolError("dropped"), json_response(200, ok))
    async with make_client(fake) as client:
        if call == "update":
            await client.update_metadata(conversation_id=CID, metadata={})
        elif call == "end":
            await client.end_conversation(conversation_id=CID)
        else:
            await client.rate_message(message_id="m1", rating=3)
    assert len(fake.requests) == 2


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.WriteError("reset"),
    ],
)
@pytest.mark.parametrize("operation", ["conversation", "lead"])
async def test_creating_posts_are_not_repeated_when_they_may_have_arrived(
    failure: Exception, operation: str
) -> None:
    fake = FakeKnowrithm()
    path = "/api/v1/conversation" if operation == "conversation" else "/api/v1/sdk/lead"
    fake.on("POST", path, failure, json_response(201, {"id": "never"}))
    async with make_client(fake) as client:
        if operation == "conversation":
            call = client.start_conversation(agent_id="a", entity_type="USER")
        else:
            call = client.create_lead(first_name="a", last_name="b", email="c@leads.example.com")
        with pytest.raises(UnavailableError):
            await call
    assert len(fake.requests) == 1


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow")])
async def test_creating_posts_are_repeated_when_they_certainly_did_not_arrive(
    failure: Exception,
) -> None:
    fake = FakeKnowrithm()
    fake.on("POST", "/api/v1/conversation", failure, json_response(201, conversation()))
    async with make_client(fake) as client:
        conv = await client.start_conversation(agent_id="a", entity_type="USER")
    assert conv.id == CID
    assert len(fake.requests) == 2
