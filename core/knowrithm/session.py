"""The HTTP connections to Knowrithm (reply streams and calls apart): auth, URLs, retries and
error translation."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from knowrithm_bots.core.errors import ConfigError, KnowrithmError
from knowrithm_bots.core.knowrithm.aiohttp_transport import AiohttpTransport
from knowrithm_bots.core.knowrithm.error_mapping import (
    decode_json,
    error_from_response,
    error_from_transport,
)
from knowrithm_bots.core.knowrithm.pools import PoolSizes, TransportWrapper
from knowrithm_bots.core.knowrithm.retry import (
    RetryPolicy,
    Safety,
    status_retryable,
    transport_retryable,
)
from knowrithm_bots.core.log_redaction import Redactor
from knowrithm_bots.core.retry_after import parse_retry_after

Sleep = Callable[[float], Awaitable[None]]
_USER_AGENT = "knowrithm-bots/0.1"
# The encodings httpx decodes without optional packages.
_ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True, kw_only=True)
class Answer:
    """A successful (2xx) answer: its status and decoded JSON body (None when empty)."""

    status: int
    body: Any


def _api_root(base_url: str) -> httpx.URL:
    """The base URL with one trailing slash, so joined paths stay under it."""
    try:
        url = httpx.URL(base_url.strip().rstrip("/") + "/")
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(
            "knowrithm.base_url must be an http:// or https:// URL such as "
            "https://app.knowrithm.org/api.",
            key_path="knowrithm.base_url",
        )
    return url


class HttpSession:
    """Owns two lazily created transports, one whose pool holds the reply streams and one
    whose pool serves every other request (see ``PoolSizes``), and sends through them.

    Requests go straight to the transport, not through an ``httpx.AsyncClient``: the client's
    per-request work (merging defaults, the cookie jar, redirect and auth hooks) cost about
    as much CPU as the transport itself, for features this API does not use. It authenticates
    every request with headers, so no cookie is kept; redirects are not followed.

    An injected ``transport`` serves both pools and is closed once, by ``aclose``; the pools
    are then its own, so one bounded pool there is shared by streams and calls again.
    ``transport_wrapper`` (to meter requests, say) wraps each pool's transport, or the
    injected one.
    """

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        secrets: tuple[str | None, ...],
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        retry: RetryPolicy,
        sleep: Sleep,
        concurrency: int = 64,
        transport_wrapper: TransportWrapper | None = None,
    ) -> None:
        self.base_url = _api_root(base_url)
        self._root = str(self.base_url)
        self.origin = f"{self.base_url.scheme}://{self.base_url.netloc.decode('ascii')}"
        self.redact = Redactor(secrets)
        self.retry = retry
        self.sleep = sleep
        self.timeout = timeout
        self.pool_sizes = PoolSizes.for_concurrency(concurrency)
        # What an httpx client would have sent by default, and ours over it.
        self._headers: dict[str, str] = {
            "Accept-Encoding": _ACCEPT_ENCODING,
            "Connection": "keep-alive",
            "User-Agent": _USER_AGENT,
            "Accept": "application/json",
            **headers,
        }
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self._transport = transport
        self._wrap = transport_wrapper
        self._shared: httpx.AsyncBaseTransport | None = None
        self._calls: httpx.AsyncBaseTransport | None = None
        self._streams: httpx.AsyncBaseTransport | None = None
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    def _new_pool(self, *, connections: int) -> httpx.AsyncBaseTransport:
        if self._transport is not None:
            if self._shared is None:
                self._shared = self._wrap(self._transport) if self._wrap else self._transport
            return self._shared
        # Both pools trust the same certificates, loaded once (~30 ms of CPU and ~1 MB).
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        pooled: httpx.AsyncBaseTransport = AiohttpTransport(connections=connections, tls=self._tls)
        return self._wrap(pooled) if self._wrap is not None else pooled

    def _calls_pool(self) -> httpx.AsyncBaseTransport:
        """The pool for calls (every request but the reply streams), created on first use."""
        if self._closed:
            raise KnowrithmError("The Knowrithm client is closed; create a new one.")
        if self._calls is None:
            self._calls = self._new_pool(connections=self.pool_sizes.calls)
        return self._calls

    def _streams_pool(self) -> httpx.AsyncBaseTransport:
        """The pool that holds the reply streams, created on first use."""
        if self._closed:
            raise KnowrithmError("The Knowrithm client is closed; create a new one.")
        if self._streams is None:
            self._streams = self._new_pool(connections=self.pool_sizes.streams)
        return self._streams

    def _request(
        self,
        method: str,
        url: httpx.URL,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        timeouts: Mapping[str, float | None] | None = None,
    ) -> httpx.Request:
        return httpx.Request(
            method,
            url,
            headers={**self._headers, **headers} if headers else self._headers,
            json=json,
            params=params,
            extensions={"timeout": timeouts if timeouts is not None else self._timeouts},
        )

    async def aclose(self) -> None:
        """Close both pools (or the injected transport, once); later calls raise, closing
        again does nothing."""
        self._closed = True
        owned = [] if self._transport is not None else [self._calls, self._streams]
        self._calls = self._streams = None
        shared, self._shared = self._shared, None
        try:
            for pool in owned:
                if pool is not None:
                    await pool.aclose()
        finally:
            if shared is not None:
                await shared.aclose()

    def url(self, path: str) -> httpx.URL:
        """Resolve an API path such as ``/v1/health`` under the base URL."""
        # Appended, not joined: the root ends in one slash and our paths hold no dot
        # segments, and ``URL.join`` (urljoin, then a second parse) costs twice as much CPU.
        return httpx.URL(self._root + path.lstrip("/"))

    def same_origin_url(self, url: str) -> httpx.URL | None:
        """Resolve a URL the service gave; None if it is another origin (auth never goes there)."""
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL:
            return None
        if target.is_relative_url:
            path = target.path
            if not path.startswith("/"):
                return self.url(url)
            base_path = self.base_url.path.rstrip("/")
            if base_path and not path.startswith(base_path + "/"):
                # "/v1/tasks/.." is relative to the API root, not to the host.
                return self.url(url)
            return httpx.URL(self.origin).join(url)
        if target.scheme == self.base_url.scheme and target.netloc == self.base_url.netloc:
            return target
        return None

    async def call(
        self,
        *,
        method: str,
        path: str | httpx.URL,
        action: str,
        safety: Safety,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        http_timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
    ) -> Answer:
        """Send one request, retrying as ``safety`` allows; raise the mapped error on failure."""
        url = path if isinstance(path, httpx.URL) else self.url(path)
        policy = retry if retry is not None else self.retry
        attempt = 0
        while True:
            attempt += 1
            request = self._request(
                method,
                url,
                json=json,
                params=params,
                timeouts=http_timeout.as_dict() if http_timeout is not None else None,
            )
            try:
                response = await self._calls_pool().handle_async_request(request)
                response.request = request
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                error = error_from_transport(exc=exc, action=action, origin=self.origin)
                delay = policy.delay(attempt=attempt, retry_after=None)
                if delay is None or not transport_retryable(exc=exc, safety=safety):
                    raise error from exc
                await self.sleep(delay)
                continue
            if response.is_success:
                body = decode_json(response=response, action=action)
                return Answer(status=response.status_code, body=body)
            error = error_from_response(response=response, action=action, redact=self.redact)
            if not status_retryable(status=response.status_code, safety=safety):
                raise error
            retry_after = parse_retry_after(value=response.headers.get("Retry-After"))
            delay = policy.delay(attempt=attempt, retry_after=retry_after)
            if delay is None:
                raise error
            await self.sleep(delay)

    async def open_stream(
        self, *, path: str, headers: Mapping[str, str], read_timeout: float | None
    ) -> httpx.Response:
        """Send a GET on the stream pool and return the response with its body still unread;
        the caller closes it.

        ``read_timeout`` bounds the wait for the response's headers only: the caller watches
        the silence between the body's events itself, once per stream, where a transport's
        read timeout would set and cancel a timer for every event.
        """
        transport = self._streams_pool()
        # A reply beyond the pool's size waits for another's stream to end, however long
        # that takes, rather than fail: streams hold no call connection while they wait.
        # Through an injected transport (its own pool, perhaps shared with the calls) the
        # usual wait applies.
        pool: float | None = None if self._transport is None else self.timeout
        request = self._request(
            "GET",
            self.url(path),
            headers=headers,
            timeouts=httpx.Timeout(self.timeout, read=None, pool=pool).as_dict(),
        )
        try:
            async with asyncio.timeout(read_timeout):
                response = await transport.handle_async_request(request)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(
                f"no answer within {read_timeout:g} s", request=request
            ) from exc
        response.request = request
        return response
