"""The requests the client sends, exactly, and its one fallback to the other documented form.

The first test runs the real client against the local server and compares what the server
received. The MockTransport section needs a fake: a deployment that refuses the documented
form (404/405) is what the local server, which takes both forms, never is.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import KnowrithmError, NotFoundError
from knowrithm_bots.core.knowrithm import KnowrithmClient
from tests.core.knowrithm.fakes import (
    CID,
    FakeKnowrithm,
    body_of,
    conversation,
    json_response,
    make_client,
)
from tests.core.knowrithm.recorders import raw_path
from tests.harness import client_for


def writes(server: LocalKnowrithm, since: int = 0) -> list[tuple[str, str, Any]]:
    """(method, path, JSON body) of every request but the reads the server received."""
    return [(r.method, r.path, r.body) for r in server.state.received[since:] if r.method != "GET"]


async def test_each_operation_sends_the_documented_request(knowrithm: LocalKnowrithm) -> None:
    api = "/api/v1"
    agent = knowrithm.agent_id
    async with client_for(knowrithm) as client:
        lead = await client.create_lead(
            first_name="Ada", last_name="Lovelace", email="ada@leads.example-company.com"
        )
        user_conv = await client.start_conversation(
            agent_id=agent, entity_type="USER", title="t", metadata={"thread": "t1"}
        )
        lead_conv = await client.start_conversation(
            agent_id=agent, entity_type="LEAD", lead_id=lead.id
        )
        cid = user_conv.id
        updated = await client.update_metadata(conversation_id=cid, metadata={"user": "u1"})
        answer = await client.send_message(conversation_id=cid, text="Hi")
        await client.rate_message(message_id=answer.id, rating=5, feedback="spot on")
        ended = await client.end_conversation(conversation_id=cid, rating=4, feedback="thanks")

    assert writes(knowrithm) == [
        (
            "POST",
            f"{api}/sdk/lead",
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@leads.example-company.com",
            },
        ),
        (
            "POST",
            f"{api}/conversation",
            {"agent_id": agent, "entity_type": "user", "title": "t", "metadata": {"thread": "t1"}},
        ),
        (
            "POST",
            f"{api}/conversation",
            {"agent_id": agent, "entity_type": "lead", "entity_id": lead.id},
        ),
        ("PUT", f"{api}/conversation/{cid}", {"metadata": {"user": "u1"}}),
        ("POST", f"{api}/conversation/{cid}/chat", {"message": "Hi"}),
        ("POST", f"{api}/messages/{answer.id}/rate", {"rating": 5, "feedback": "spot on"}),
        ("POST", f"{api}/conversation/{cid}/end", {"satisfaction_rating": 4, "feedback": "thanks"}),
    ]
    # The client reads back what the server made of them.
    assert (lead_conv.entity_type, lead_conv.lead_id) == ("LEAD", lead.id)
    assert knowrithm.state.conversations[lead_conv.id].entity_type == "lead"
    assert updated.metadata == {"thread": "t1", "user": "u1"}
    assert knowrithm.state.find_message(message_id=answer.id).rating == 5  # type: ignore[union-attr]
    assert (ended.status, ended.rating) == ("ended", 4)
    assert knowrithm.state.conversations[cid].feedback == "thanks"


# --- MockTransport: a deployment that takes only the alternative form ---------------------

UPDATE_FIRST, UPDATE_ALT = (
    ("PUT", f"/api/v1/conversation/{CID}"),
    ("PATCH", f"/api/v1/conversation/{CID}"),
)
RATE_FIRST, RATE_ALT = ("POST", "/api/v1/messages/m1/rate"), ("POST", "/api/v1/message/m1/rate")
FORMS = {"update": (UPDATE_FIRST, UPDATE_ALT), "rate": (RATE_FIRST, RATE_ALT)}


async def call(client: KnowrithmClient, operation: str) -> None:
    if operation == "update":
        await client.update_metadata(conversation_id=CID, metadata={"k": 1})
    else:
        await client.rate_message(message_id="m1", rating=4, feedback="ok")


def ok_body(operation: str) -> Any:
    return {"conversation": conversation()} if operation == "update" else {"success": True}


def sent(fake: FakeKnowrithm) -> list[tuple[str, str]]:
    return [(r.method, raw_path(r)) for r in fake.requests]


@pytest.mark.parametrize("refusal", [404, 405])
@pytest.mark.parametrize("operation", ["update", "rate"])
async def test_the_alternative_is_tried_once_and_then_used_straight_away(
    operation: str, refusal: int
) -> None:
    first, alternative = FORMS[operation]
    fake = FakeKnowrithm()
    fake.on(*first, json_response(refusal, {"detail": "Not Found"}))
    fake.on(*alternative, json_response(200, ok_body(operation)))
    async with make_client(fake) as client:
        await call(client, operation)
        await call(client, operation)
        await call(client, operation)
    assert sent(fake) == [first, alternative, alternative, alternative]
    # The alternative gets the same body as the first form.
    assert body_of(fake.requests[0]) == body_of(fake.requests[1])


@pytest.mark.parametrize("operation", ["update", "rate"])
async def test_once_the_first_form_worked_a_404_is_an_unknown_id(operation: str) -> None:
    first, alternative = FORMS[operation]
    fake = FakeKnowrithm()
    fake.on(
        *first,
        json_response(200, ok_body(operation)),
        json_response(404, {"detail": "Not found"}),
    )
    fake.on(*alternative, json_response(200, ok_body(operation)))
    async with make_client(fake) as client:
        await call(client, operation)
        with pytest.raises(NotFoundError):
            await call(client, operation)
    assert sent(fake) == [first, first]


@pytest.mark.parametrize("status", [400, 401, 403, 409, 422, 429, 500, 503])
@pytest.mark.parametrize("operation", ["update", "rate"])
async def test_other_failures_never_send_the_alternative(operation: str, status: int) -> None:
    first, alternative = FORMS[operation]
    fake = FakeKnowrithm()
    fake.on(*first, json_response(status, {"detail": "refused"}, **{"Retry-After": "0"}))
    fake.on(*alternative, json_response(200, ok_body(operation)))
    async with make_client(fake) as client:
        with pytest.raises(KnowrithmError):
            await call(client, operation)
    assert fake.seen(*alternative) == []
    assert fake.requests  # retried (5xx, 429) or not, only ever on the first form


@pytest.mark.parametrize("operation", ["update", "rate"])
async def test_a_connection_dropped_on_the_first_form_is_retried_on_it(operation: str) -> None:
    first, alternative = FORMS[operation]
    fake = FakeKnowrithm()
    fake.on(*first, httpx.RemoteProtocolError("dropped"), json_response(200, ok_body(operation)))
    fake.on(*alternative, json_response(200, ok_body(operation)))
    async with make_client(fake) as client:
        await call(client, operation)
    assert sent(fake) == [first, first]


async def test_when_both_forms_are_refused_the_documented_answer_is_raised_and_nothing_learnt() -> (
    None
):
    fake = FakeKnowrithm()
    fake.on(*RATE_FIRST, json_response(404, {"detail": "Message not found"}))
    fake.on(*RATE_ALT, json_response(405, {"detail": "Method Not Allowed"}))
    async with make_client(fake) as client:
        with pytest.raises(NotFoundError, match="Message not found"):
            await call(client, "rate")
        with pytest.raises(NotFoundError):
            await call(client, "rate")
    assert sent(fake) == [RATE_FIRST, RATE_ALT, RATE_FIRST, RATE_ALT]
