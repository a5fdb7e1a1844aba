"""The local server takes the old and the new spelling of every call the public record shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import EndRecord, LocalKnowrithm, RatingRecord
from tests.bots.test_local_knowrithm import AUTH, TLS, chat, new_lead, start, wait_task

pytestmark = pytest.mark.knowrithm_modes


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


@pytest.mark.parametrize("spelling", ["lead", "LEAD", "Lead"])
@pytest.mark.parametrize("key", ["entity_id", "lead_id"])
async def test_a_lead_conversation_in_any_case_naming_its_lead_either_way(
    server: LocalKnowrithm, client: httpx.AsyncClient, spelling: str, key: str
) -> None:
    lead = await new_lead(client)
    conversation = await start(client, entity_type=spelling, **{key: lead["id"]})
    assert conversation["entity_type"] == "lead"
    assert (conversation["entity_id"], conversation["lead_id"]) == (lead["id"], lead["id"])
    stored = server.state.conversations[conversation["id"]]
    assert (stored.entity_type, stored.entity_id, stored.lead_id) == (
        "lead",
        lead["id"],
        lead["id"],
    )


@pytest.mark.parametrize("spelling", ["user", "USER", None])
async def test_a_user_conversation_is_recorded_lowercase(
    client: httpx.AsyncClient, spelling: str | None
) -> None:
    body = {} if spelling is None else {"entity_type": spelling}
    conversation = await start(client, **body)
    assert (conversation["entity_type"], conversation["lead_id"]) == ("user", None)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"entity_type": "lead"}, "existing lead"),
        ({"entity_type": "lead", "entity_id": "nope"}, "existing lead"),
        ({"entity_type": "robot"}, "user or lead"),
    ],
)
async def test_bad_entities_are_refused(
    client: httpx.AsyncClient, body: dict[str, Any], detail: str
) -> None:
    response = await client.post("/conversation", json={"agent_id": "a", **body})
    assert response.status_code == 400
    assert detail in response.json()["detail"]


async def test_entity_id_and_lead_id_naming_two_leads_is_refused(
    client: httpx.AsyncClient,
) -> None:
    one, two = await new_lead(client), await new_lead(client)
    response = await client.post(
        "/conversation",
        json={"agent_id": "a", "entity_type": "lead", "entity_id": one["id"], "lead_id": two["id"]},
    )
    assert response.status_code == 400


async def test_get_conversation(client: httpx.AsyncClient) -> None:
    conversation = await start(client, metadata={"a": 1})
    response = await client.get(f"/conversation/{conversation['id']}")
    assert response.status_code == 200
    assert response.json() == {"conversation": conversation}
    assert (await client.get("/conversation/nope")).status_code == 404


async def test_put_and_patch_both_merge_metadata(
    server: LocalKnowrithm, client: httpx.AsyncClient
) -> None:
    cid = (await start(client, metadata={"a": 1}))["id"]
    put = await client.put(f"/conversation/{cid}", json={"metadata": {"b": 2}})
    patch = await client.patch(f"/conversation/{cid}", json={"metadata": {"a": 3}})
    assert (put.status_code, patch.status_code) == (200, 200)
    assert patch.json()["conversation"]["metadata"] == {"a": 3, "b": 2}
    assert server.state.metadata_updates == [(cid, {"b": 2}), (cid, {"a": 3})]


@pytest.mark.parametrize("key", ["satisfaction_rating", "rating"])
async def test_end_takes_either_rating_key(
    server: LocalKnowrithm, client: httpx.AsyncClient, key: str
) -> None:
    cid = (await start(client))["id"]
    response = await client.post(f"/conversation/{cid}/end", json={key: 4, "feedback": "good"})
    assert response.status_code == 200
    ended = response.json()["conversation"]
    assert (ended["status"], ended["rating"]) == ("ended", 4)
    assert server.state.ends == [EndRecord(cid, 4, "good")]
    analytics = (await client.get(f"/analytic/conversation/{cid}")).json()
    assert analytics["quality_metrics"]["satisfaction_rating"] == 4


@pytest.mark.parametrize(
    "body",
    [
        {"satisfaction_rating": 6},
        {"satisfaction_rating": "4"},
        {"satisfaction_rating": 4, "rating": 5},
    ],
)
async def test_bad_end_ratings_are_refused(
    server: LocalKnowrithm, client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    cid = (await start(client))["id"]
    assert (await client.post(f"/conversation/{cid}/end", json=body)).status_code == 400
    assert server.state.conversations[cid].status == "active"


@pytest.mark.parametrize("prefix", ["messages", "message"])
async def test_both_rate_paths(
    server: LocalKnowrithm, client: httpx.AsyncClient, prefix: str
) -> None:
    cid = (await start(client))["id"]
    reply = (await wait_task(client, (await chat(client, cid, "rate me"))["task_id"]))["result"]
    response = await client.post(
        f"/{prefix}/{reply['id']}/rate", json={"rating": 5, "feedback": "ok"}
    )
    assert response.status_code == 200
    history = (await client.get(f"/conversation/{cid}/messages")).json()["messages"]
    assert history[-1]["rating"] == 5
    assert server.state.ratings == [RatingRecord(reply["id"], 5, "ok")]
    assert (await client.post(f"/{prefix}/nope/rate", json={"rating": 5})).status_code == 404


@pytest.mark.parametrize("path", ["/lead", "/sdk/lead"])
async def test_both_lead_create_paths_and_the_company_search(
    server: LocalKnowrithm, client: httpx.AsyncClient, path: str
) -> None:
    ada = await client.post(
        path, json={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@leads.example.com"}
    )
    grace = await client.post(
        path,
        json={"first_name": "Grace", "last_name": "Hopper", "email": "grace@leads.example.com"},
    )
    assert (ada.status_code, grace.status_code) == (201, 201)
    ada_id = ada.json()["lead"]["id"]

    async def search(text: str | None) -> list[str]:
        params = {} if text is None else {"search": text}
        response = await client.get("/lead/company", params=params)
        assert response.status_code == 200
        return [lead["id"] for lead in response.json()["leads"]]

    assert await search("ADA@leads.example.com") == [ada_id]
    assert await search("lovelace") == [ada_id]
    assert await search("nobody@example.com") == []
    assert len(await search(None)) == 2
    assert (await client.get(f"/lead/{ada_id}")).json()["lead"]["first_name"] == "Ada"
    assert len(server.state.leads) == 2


async def test_listings_take_limit_and_offset(client: httpx.AsyncClient) -> None:
    # knowrithm-py 0.1.4 pages with limit/offset instead of page/per_page.
    cid = (await start(client))["id"]
    for text in ("one", "two"):
        await wait_task(client, (await chat(client, cid, text))["task_id"])
    everything = (await client.get(f"/conversation/{cid}/messages")).json()["messages"]
    window = await client.get(f"/conversation/{cid}/messages", params={"limit": 2, "offset": 1})
    assert [m["id"] for m in window.json()["messages"]] == [m["id"] for m in everything[1:3]]
    assert window.json()["pagination"]["total"] == 4
    bad = await client.get(f"/conversation/{cid}/messages", params={"offset": -1})
    assert bad.status_code == 400
