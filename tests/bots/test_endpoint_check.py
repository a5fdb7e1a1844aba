"""Knowing the agent before serving: each failure of the start-up check is one sentence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from knowrithm_bots.bots.endpoint_check import CHECK_DEADLINE, verify_endpoint
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.knowrithm import KnowrithmClient, RetryPolicy
from tests.adapters.test_console import BIN
from tests.harness import client_for
from tests.support import env_without_proxies, free_port


async def check(
    server: LocalKnowrithm,
    *,
    base_url: str | None = None,
    agent_id: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
) -> str:
    """The key path and sentence the check fails with against ``server`` (it must fail)."""
    url = base_url or server.base_url
    async with KnowrithmClient(
        base_url=url,
        api_key=api_key or server.api_key,
        api_secret=api_secret or server.api_secret,
        retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05),
    ) as client:
        with pytest.raises(ConfigError) as failure:
            await verify_endpoint(client=client, base_url=url, agent_id=agent_id or server.agent_id)
    return f"{failure.value.key_path}: {failure.value}"


async def test_a_server_that_knows_the_agent_passes(knowrithm: LocalKnowrithm) -> None:
    async with client_for(knowrithm) as client:
        agent = await verify_endpoint(
            client=client, base_url=knowrithm.base_url, agent_id=knowrithm.agent_id
        )
    assert (agent.id, agent.name) == ("local-agent", "Local agent")
    asked = [(r.method, r.path) for r in knowrithm.state.received]
    assert asked == [("GET", "/api/v1/conversation"), ("GET", "/api/v1/agent/local-agent")]


async def test_refused_credentials_name_the_api_key(knowrithm: LocalKnowrithm) -> None:
    sentence = await check(knowrithm, api_key="wrong-key", api_secret="wrong-secret")
    assert sentence == (
        f"knowrithm.api_key: Knowrithm at {knowrithm.base_url} refused the credentials: "
        "check knowrithm.api_key and knowrithm.api_secret"
    )


async def test_an_unknown_agent_names_the_agent_id(knowrithm: LocalKnowrithm) -> None:
    sentence = await check(knowrithm, agent_id="no-such-agent")
    assert sentence == (
        f"knowrithm.agent_id: Knowrithm at {knowrithm.base_url} has no agent with the id "
        "'no-such-agent': check knowrithm.agent_id"
    )


async def test_a_base_url_that_is_not_the_api_names_the_base_url(
    knowrithm: LocalKnowrithm,
) -> None:
    wrong = knowrithm.base_url.removesuffix("/api")  # the /api part forgotten
    sentence = await check(knowrithm, base_url=wrong)
    assert sentence == (
        f"knowrithm.base_url: Knowrithm at {wrong} answered, but not as the Knowrithm API "
        "(HTTP 404 while checking the credentials): check knowrithm.base_url (it usually "
        "ends in /api)"
    )


async def test_nothing_listening_names_the_base_url(knowrithm: LocalKnowrithm) -> None:
    closed = f"http://127.0.0.1:{free_port()}/api"
    sentence = await check(knowrithm, base_url=closed)
    assert sentence == (
        f"knowrithm.base_url: Knowrithm at {closed} cannot be reached: check "
        "knowrithm.base_url and the network"
    )


async def test_a_failing_service_says_so(knowrithm: LocalKnowrithm) -> None:
    knowrithm.faults.fail_next(method="GET", path_contains="/conversation", status=503, count=9)
    sentence = await check(knowrithm)
    assert sentence == (
        f"knowrithm.base_url: Knowrithm at {knowrithm.base_url} failed (HTTP 503 while "
        "checking the credentials): check knowrithm.base_url, or start again later if "
        "Knowrithm reports an outage"
    )


async def test_a_deleted_agent_names_the_agent_id() -> None:
    # The local server has one agent and never deletes it: a transport plays the service.
    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/conversation"):
            return httpx.Response(200, json={"conversations": []})
        return httpx.Response(200, json={"agent": {"id": "a1", "is_deleted": True}})

    url = "http://knowrithm.test/api"
    async with KnowrithmClient(
        base_url=url, api_key="k", api_secret="s", transport=httpx.MockTransport(service)
    ) as client:
        with pytest.raises(ConfigError) as failure:
            await verify_endpoint(client=client, base_url=url, agent_id="a1")
    assert failure.value.key_path == "knowrithm.agent_id"
    assert "has no agent with the id 'a1'" in str(failure.value)


async def test_an_agent_lookup_that_never_answers_gives_up_and_said_what_it_waited_for(
    knowrithm: LocalKnowrithm,
) -> None:
    knowrithm.faults.never_answer(path_contains="/agent/")
    said: list[str] = []
    started = time.monotonic()
    async with client_for(knowrithm) as client:
        with pytest.raises(ConfigError) as failure:
            await verify_endpoint(
                client=client,
                base_url=knowrithm.base_url,
                agent_id=knowrithm.agent_id,
                waiting=said.append,
                deadline=1.0,
                waiting_after=0.3,
            )
    assert time.monotonic() - started < 2.0
    assert said == [
        f"waiting for Knowrithm at {knowrithm.base_url} to answer (looking up the agent)..."
    ]
    assert failure.value.key_path == "knowrithm.base_url"
    assert str(failure.value) == (
        f"Knowrithm at {knowrithm.base_url} did not answer within 1 seconds (looking up the "
        "agent): check knowrithm.base_url and the network"
    )


@pytest.fixture
async def hung_endpoint() -> AsyncIterator[str]:
    """The base URL of a plain TCP server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # read nothing, write nothing, close nothing

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def run_command(*args: str, stdin: bytes = b"") -> tuple[int, str, float]:
    """Run ``knowrithm-bots`` with ``args``: its exit status, stderr and seconds taken."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        str(BIN / "knowrithm-bots"),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env_without_proxies(),
    )
    _, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode is not None
    return process.returncode, err.decode(), time.monotonic() - started


async def test_a_hung_endpoint_stops_run_and_check_config_within_ten_seconds(
    hung_endpoint: str, tmp_path: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"knowrithm:\n  base_url: {hung_endpoint}\n  api_key: k\n  api_secret: s\n"
        "  agent_id: a\nstore:\n  backend: memory\n",
        encoding="utf-8",
    )
    # Both at once: each waits out the whole check.
    results = await asyncio.gather(
        run_command("run", "console", "--config", str(config), stdin=b"hello\n"),
        run_command("check-config", "--config", str(config), "--online"),
    )
    for status, stderr, seconds in results:
        assert status == 2, stderr
        assert seconds < 10, seconds
        assert stderr.splitlines() == [
            f"knowrithm-bots: waiting for Knowrithm at {hung_endpoint} to answer (checking the "
            "credentials)...",
            f"knowrithm-bots: Knowrithm at {hung_endpoint} did not answer within "
            f"{CHECK_DEADLINE:g} seconds (checking the credentials): check knowrithm.base_url "
            "and the network",
        ]


async def test_check_config_online_reports_the_agent_it_found(tmp_path: Path) -> None:
    async with LocalKnowrithm() as server:
        good = tmp_path / "good.yaml"
        good.write_text(
            f"knowrithm:\n  base_url: {server.base_url}\n  api_key: {server.api_key}\n"
            f"  api_secret: {server.api_secret}\n  agent_id: {server.agent_id}\n",
            encoding="utf-8",
        )
        unknown = tmp_path / "unknown.yaml"
        unknown.write_text(
            good.read_text(encoding="utf-8").replace(server.agent_id, "someone-else"),
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            str(BIN / "knowrithm-bots"),
            "check-config",
            "--config",
            str(good),
            "--online",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env_without_proxies(),
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        status, stderr, _ = await run_command("check-config", "--config", str(unknown), "--online")
    assert process.returncode == 0, err.decode()
    assert out.decode().splitlines()[1] == (
        f"Knowrithm at {server.base_url} answered, accepted the credentials and knows the "
        "agent local-agent (Local agent)"
    )
    assert status == 2
    assert stderr == (
        f"knowrithm-bots: Knowrithm at {server.base_url} has no agent with the id "
        "'someone-else': check knowrithm.agent_id\n"
    )
