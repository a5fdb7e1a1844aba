"""The two connection pools to Knowrithm, one for reply streams and one for calls, sized from
the number of replies that may run at once, so neither can starve the other."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx

TransportWrapper = Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]

# The most connections in one httpcore pool. httpcore looks at every connection of a pool,
# and every request waiting for one, each time a request starts or ends, so one pool of N
# connections costs O(N) per request: with 1,000 replies at once that scan was ~60 % of the
# bot's CPU (benchmarks/bridge). Shards of SHARD connections keep it short.
SHARD = 32

# Calls that are not part of a reply (the idle sweep ending conversations, ratings, health
# probes, lead look-ups) get this many connections beyond one per reply in progress.
EXTRA_CALLS = 8


@dataclass(frozen=True, kw_only=True)
class PoolSizes:
    """How many connections each pool may open for ``concurrency`` replies at once.

    A reply holds its stream for the whole answer and, meanwhile, makes one call at a time
    (the chat POST, then perhaps a task poll or a history read). Streams and calls therefore
    live in separate pools: a call never waits for a stream to end, and a call connection is
    held only for one request, so a reply waiting for a call always gets one. Each pool has
    one connection per reply (the call pool ``EXTRA_CALLS`` more), and every connection may
    stay open between requests, so a steady load does not reconnect.
    """

    streams: int
    calls: int

    @classmethod
    def for_concurrency(cls, concurrency: int) -> PoolSizes:
        if concurrency < 1:
            raise ValueError("The Knowrithm client needs a concurrency of at least 1.")
        return cls(streams=concurrency, calls=concurrency + EXTRA_CALLS)

    @staticmethod
    def limits(connections: int) -> httpx.Limits:
        return httpx.Limits(max_connections=connections, max_keepalive_connections=connections)


class PooledTransport(httpx.AsyncBaseTransport):
    """The calls' pool (the reply streams go through ``AiohttpTransport``, which is cheaper
    per event): up to ``limits`` connections, sending as an ``httpx.AsyncClient`` of default
    settings would, so the proxies and certificates the environment names still apply (a
    client given a transport ignores them); the transport a ``TransportWrapper`` wraps.

    The connections are split into shards of at most ``SHARD`` each, and a request goes to
    the shard with the fewest requests in progress: with as many requests as connections,
    that shard always has one free, so no request waits while another shard idles.
    """

    def __init__(self, *, limits: httpx.Limits, tls: ssl.SSLContext | None = None) -> None:
        total = limits.max_connections or SHARD
        count = -(-total // SHARD)
        each = -(-total // count)
        shard = httpx.Limits(max_connections=each, max_keepalive_connections=each)
        # One TLS context for every shard (the caller's, or one made as a default client
        # makes its own, so the environment's certificates apply): each costs ~1 MB and
        # ~20 ms of CPU to load.
        if tls is None:
            tls = httpx.create_ssl_context()
        self._shards = [
            httpx.AsyncClient(limits=shard, follow_redirects=False, verify=tls)
            for _ in range(count)
        ]
        self._busy = [0] * count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        busy = self._busy
        index = min(range(len(busy)), key=busy.__getitem__)
        busy[index] += 1
        try:
            # The request carries the outer client's timeouts, which this send keeps.
            response = await self._shards[index].send(request, stream=True)
        except BaseException:
            busy[index] -= 1
            raise
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Releasing(response.stream, release=lambda: self._release(index)),
            extensions=response.extensions,
        )

    def _release(self, index: int) -> None:
        self._busy[index] -= 1

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


class _Releasing(httpx.AsyncByteStream):
    """A response body that tells its shard, once, that the request is over when closed."""

    def __init__(
        self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, *, release: Callable[[], None]
    ) -> None:
        assert isinstance(inner, httpx.AsyncByteStream)
        self._inner = inner
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()
        await self._inner.aclose()


class SharedTransport(httpx.AsyncBaseTransport):
    """One transport used by both pools' clients; closing a client leaves it open, so that
    its owner closes it once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None
