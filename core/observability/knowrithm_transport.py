"""An httpx transport that times every request to Knowrithm and counts its failures by kind."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx

from knowrithm_bots.core.knowrithm.aiohttp_transport import AiohttpTransport
from knowrithm_bots.core.observability.metrics import BotMetrics

__all__ = ["MeteredTransport", "error_kind"]


def error_kind(status: int) -> str | None:
    """The failure kind of an HTTP status, or None for a success (see ``knowrithm_error``)."""
    if status < 400:
        return None
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    return "server" if status >= 500 else "refused"


def _exception_kind(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return "connection"


class _MeteredStream(httpx.AsyncByteStream):
    """A response body whose breaking off (an SSE stream cut mid-answer) is counted."""

    def __init__(self, inner: httpx.AsyncByteStream, *, metrics: BotMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.TransportError:
            self._metrics.knowrithm_error(kind="stream")
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()


class MeteredTransport(httpx.AsyncBaseTransport):
    """Wraps ``inner`` (default: the client's own kind of pool, of httpx's default 100
    connections) for ``KnowrithmClient``'s ``transport``: each request's latency until its
    response headers, and each failure (no response, an error status, a body cut off) by
    kind, go to ``metrics``.

    The request and the response pass through unchanged; no URL, header or body is recorded.
    """

    def __init__(
        self, *, metrics: BotMetrics, inner: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._metrics = metrics
        self._inner = inner or AiohttpTransport(connections=100)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.monotonic()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            self._metrics.knowrithm_error(kind=_exception_kind(exc))
            raise
        self._metrics.knowrithm_request(method=request.method, seconds=time.monotonic() - started)
        kind = error_kind(response.status_code)
        if kind is not None:
            self._metrics.knowrithm_error(kind=kind)
        if isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _MeteredStream(response.stream, metrics=self._metrics)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
