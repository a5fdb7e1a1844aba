"""More replies at once than the client has connections: streams and calls never starve each
other (issue 13), against the real local server over 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import KnowrithmError
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.knowrithm.pools import EXTRA_CALLS, PoolSizes
from tests.core.knowrithm.steps import expected_echo, new_conversation, reply_events, split
from tests.harness import client_for

POOL = 8
REPLIES = 40
# The client's own timeouts (a pool wait included); the old single pool of POOL connections
# waited that long for a connection the streams never gave back, then failed.
TIMEOUT = 5.0


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm(word_delay=0.003) as running:
        yield running


class _OpenStreams(httpx.AsyncBaseTransport):
    """Wraps one pool's transport and tracks how many reply streams are open at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport, counter: _Counter) -> None:
        self._inner = inner
        self._counter = counter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method != "GET" or not request.url.path.endswith("/stream"):
            return response
        self._counter.opened()
        response.stream = _Counted(response.stream, self._counter)
        return response

    async def aclose(self) -> None:
        self._counter.wrappers_closed += 1
        await self._inner.aclose()


class _Counted(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, counter: _Counter):
        assert isinstance(inner, httpx.AsyncByteStream)
        self._inner = inner
        self._counter = counter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        self._counter.closed()
        await self._inner.aclose()


class _Counter:
    def __init__(self) -> None:
        self.open = 0
        self.peak = 0
        self.wrappers_closed = 0

    def opened(self) -> None:
        self.open += 1
        self.peak = max(self.peak, self.open)

    def closed(self) -> None:
        self.open -= 1


async def _answer_all(client: KnowrithmClient, server: LocalKnowrithm) -> float:
    """Ask REPLIES questions at once, each in its own conversation; the seconds it took,
    once every answer came back whole."""
    conversations = await asyncio.gather(
        *(new_conversation(client, server) for _ in range(REPLIES))
    )
    started = time.monotonic()
    answers = await asyncio.wait_for(
        asyncio.gather(
            *(reply_events(client, c, f"question {i}") for i, c in enumerate(conversations))
        ),
        timeout=4 * TIMEOUT,
    )
    elapsed = time.monotonic() - started
    for i, events in enumerate(answers):
        text, done = split(events)
        assert done.message.content == expected_echo(f"question {i}")
        assert text in ("", done.message.content)
    return elapsed


async def test_more_replies_than_connections_all_complete(server: LocalKnowrithm) -> None:
    async with client_for(server, concurrency=POOL, timeout=TIMEOUT) as client:
        elapsed = await _answer_all(client, server)
    # Five rounds of POOL streams of a fraction of a second each; the old design sat out
    # TIMEOUT for a connection before failing.
    assert elapsed < TIMEOUT, f"{REPLIES} replies took {elapsed:.1f} s"


async def test_each_pool_is_wrapped_and_streams_stay_within_theirs(
    server: LocalKnowrithm,
) -> None:
    counter = _Counter()
    async with client_for(
        server,
        concurrency=POOL,
        timeout=TIMEOUT,
        transport_wrapper=lambda inner: _OpenStreams(inner, counter),
    ) as client:
        elapsed = await _answer_all(client, server)
    assert elapsed < TIMEOUT, f"{REPLIES} replies took {elapsed:.1f} s"
    # The stream pool was full (so the calls went elsewhere) and never overfull.
    assert counter.peak == POOL
    assert counter.open == 0
    assert counter.wrappers_closed == 2  # one per pool


class _Recording(httpx.AsyncBaseTransport):
    """A transport a test injects: the real network, every request and close recorded."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.requests: list[tuple[str, str]] = []
        self.closes = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path.rsplit("/", 1)[-1]))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        self.closes += 1
        await self._inner.aclose()


async def test_an_injected_transport_carries_streams_and_calls_and_is_closed_once(
    server: LocalKnowrithm,
) -> None:
    transport = _Recording()
    client = client_for(server, transport=transport)
    async with client:
        conversation = await new_conversation(client, server)
        _, done = split(await reply_events(client, conversation, "hello"))
        assert done.message.content == expected_echo("hello")
        assert transport.closes == 0
    assert transport.closes == 1
    await client.aclose()
    assert transport.closes == 1
    methods = {method for method, _ in transport.requests}
    assert {"GET", "POST"} <= methods
    if server.mode == "streaming":
        assert ("GET", "stream") in transport.requests


def test_pool_sizes_follow_the_concurrency() -> None:
    assert PoolSizes.for_concurrency(64) == PoolSizes(streams=64, calls=64 + EXTRA_CALLS)
    with pytest.raises(ValueError, match="at least 1"):
        KnowrithmClient(base_url="http://127.0.0.1/api", api_key="k", api_secret="s", concurrency=0)


async def test_a_closed_client_refuses_calls_and_streams(server: LocalKnowrithm) -> None:
    client = client_for(server)
    conversation = await new_conversation(client, server)
    await client.aclose()
    with pytest.raises(KnowrithmError, match="closed"):
        await client.get_agent(agent_id=server.agent_id)
    with pytest.raises(KnowrithmError, match="closed"):
        await reply_events(client, conversation, "hello")
