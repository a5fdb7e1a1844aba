"""Recorders for client tests: the client's side of each real HTTP exchange, and its sleeps."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx


def raw_path(request: httpx.Request) -> str:
    """The path as sent, still percent-encoded, without the query."""
    return request.url.raw_path.decode("ascii").partition("?")[0]


@dataclass
class Exchange:
    """One request as the client sent it, and what became of the answer's body."""

    request: httpx.Request
    status: int | None = None
    received: bytearray = field(default_factory=bytearray)
    closed: bool = False

    @property
    def path(self) -> str:
        """The path as sent, still percent-encoded, without the query."""
        return raw_path(self.request)

    def event_ids(self) -> list[str]:
        """The SSE `id:` values the client read from this answer, in order."""
        return [m.decode() for m in re.findall(rb"^id: ?(\S+)$", bytes(self.received), re.M)]


class _WatchedBody(httpx.AsyncByteStream):
    """Passes an answer's body through, keeping a copy and noting when it is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, exchange: Exchange) -> None:
        self._inner = inner
        self._exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._exchange.received.extend(chunk)
            yield chunk

    async def aclose(self) -> None:
        self._exchange.closed = True
        await self._inner.aclose()


class WireLog(httpx.AsyncBaseTransport):
    """A real HTTP transport that remembers every exchange; it changes nothing on the wire.

    The local server records methods, paths and what it stored; this shows what it does not:
    headers, raw paths, bodies as sent, and whether the client released each answer.
    """

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = Exchange(request=request)
        self.exchanges.append(exchange)  # before sending, so refused connections count too
        response = await self._inner.handle_async_request(request)
        exchange.status = response.status_code
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_WatchedBody(response.stream, exchange),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()

    def sent(self, method: str, path_suffix: str) -> list[Exchange]:
        """The exchanges of `method` whose raw path ends with `path_suffix`."""
        return [
            e for e in self.exchanges if e.request.method == method and e.path.endswith(path_suffix)
        ]

    def streams(self) -> list[Exchange]:
        """The reply-stream opens, in order."""
        return self.sent("GET", "/messages/stream")


class SleepRecorder:
    """An injectable sleep that returns at once and remembers what was asked."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)
