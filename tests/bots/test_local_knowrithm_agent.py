"""The local server's agent endpoints, as knowrithm-py 0.1.22 `AgentService` calls them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from knowrithm_py.dataclass.config import KnowrithmConfig
from knowrithm_py.dataclass.error import KnowrithmAPIError
from knowrithm_py.knowrithm.client import KnowrithmClient
from knowrithm_py.services.agent import AgentService

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import NotFoundError
from tests.harness import client_for


@contextmanager
def agents(server: LocalKnowrithm, *, secret: str | None = None) -> Iterator[AgentService]:
    config = KnowrithmConfig(base_url=server.base_url, max_retries=1, timeout=5)
    client = KnowrithmClient(server.api_key, secret or server.api_secret, config=config)
    try:
        yield AgentService(client)
    finally:
        client._session.close()


async def test_the_sdk_finds_the_agent_by_id_and_by_name(knowrithm: LocalKnowrithm) -> None:
    with agents(knowrithm) as service:
        by_id = await asyncio.to_thread(service.get_agent, knowrithm.agent_id)
        by_name = await asyncio.to_thread(service.get_agent_by_name, "LOCAL AGENT")
        with pytest.raises(KnowrithmAPIError):
            await asyncio.to_thread(service.get_agent, "someone-else")
        with pytest.raises(KnowrithmAPIError):
            await asyncio.to_thread(service.get_agent_by_name, "Someone Else")
    assert by_id["agent"]["id"] == by_name["agent"]["id"] == knowrithm.agent_id


async def test_the_lookup_by_id_is_public_and_by_name_is_not(knowrithm: LocalKnowrithm) -> None:
    async with httpx.AsyncClient(base_url=knowrithm.base_url) as anonymous:
        public = await anonymous.get(f"/v1/agent/{knowrithm.agent_id}")
        named = await anonymous.get("/v1/agent/by-name/Local%20agent")
    assert public.status_code == 200
    assert named.status_code == 401
    with agents(knowrithm, secret="wrong") as refused, pytest.raises(KnowrithmAPIError):
        await asyncio.to_thread(refused.get_agent_by_name, "Local agent")


async def test_the_client_reads_the_agent_and_a_missing_one_is_not_found(
    knowrithm: LocalKnowrithm,
) -> None:
    async with client_for(knowrithm) as client:
        agent = await client.get_agent(agent_id=knowrithm.agent_id)
        with pytest.raises(NotFoundError):
            await client.get_agent(agent_id="someone-else")
    assert (agent.id, agent.name, agent.status) == (knowrithm.agent_id, "Local agent", "active")
