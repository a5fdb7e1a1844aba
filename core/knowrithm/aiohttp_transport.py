"""An httpx transport that sends over aiohttp: both of the client's pools, at a fraction of the CPU.

A reply stream wakes the client once per SSE event, hundreds of times per answer. Through
httpcore each wake runs h11's pure-Python parser and several layers of generators (about
190 µs of CPU per event on the benchmark machine); aiohttp parses in C and hands the body
over as it arrives (about 70 µs: ``benchmarks/bridge``). A call costs less too: httpcore
scans every connection of its pool on each request, aiohttp does not. The rest of the
client still sees httpx requests and responses, so an injected transport
(``httpx.MockTransport`` in tests) replaces this one as it replaces any other.
"""

from __future__ import annotations

import base64
import logging
import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import aiohttp
import httpx

logger = logging.getLogger(__name__)

# A proxy URL and the headers that go to it (its credentials), or no proxy.
Proxy = tuple[str | None, dict[str, str] | None]


class _PoolWaitTimedOut(Exception):
    """aiohttp times the wait for a pooled connection and the connect as one; this marks a
    timeout met while the request still queued for a connection."""


class _Queue:
    """Whether one request waits for a connection now (aiohttp's connection tracing)."""

    __slots__ = ("queued",)

    def __init__(self) -> None:
        self.queued = False


async def _queued(_: object, context: SimpleNamespace, __: object) -> None:
    context.trace_request_ctx.queued = True


async def _dequeued(_: object, context: SimpleNamespace, __: object) -> None:
    context.trace_request_ctx.queued = False


# What a failed exchange with the server becomes, most specific first: the client's error
# translation (error_mapping.error_from_transport) knows httpx's exceptions.
_BEFORE_ANSWER: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (_PoolWaitTimedOut, httpx.PoolTimeout),
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.PoolTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.ConnectError),
)
_WHILE_READING: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientError, httpx.ReadError),
)


@contextmanager
def _translated(
    request: httpx.Request,
    table: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...],
) -> Iterator[None]:
    try:
        yield
    except (aiohttp.ClientError, TimeoutError, _PoolWaitTimedOut) as exc:
        for raised, becomes in table:
            if isinstance(exc, raised):
                # aiohttp's messages name the host and port, never credentials.
                raise becomes(str(exc) or type(exc).__name__, request=request) from exc
        raise


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through one ``aiohttp.ClientSession`` of up to ``connections``
    connections, which keeps them open between requests.

    The session is made on the first request (it belongs to the running event loop) with
    the certificates of httpx's default TLS context; each origin goes through the proxy the
    environment names for it (``environment_proxy``, read once per origin), as an httpx
    client's would. Bodies pass through as the server
    sent them: httpx decodes a ``Content-Encoding`` itself. The request's httpx timeouts
    apply: ``connect`` to the connect, ``pool`` plus ``connect`` to the wait for a pooled
    connection and its setup together (aiohttp times them as one; no ``pool``, no limit),
    and ``read`` between chunks. A response closed before its end closes its connection.
    """

    def __init__(self, *, connections: int, tls: ssl.SSLContext | None = None) -> None:
        if connections < 1:
            raise ValueError("AiohttpTransport needs at least one connection.")
        self._connections = connections
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._proxies: dict[tuple[str, str, int | None], Proxy] = {}

    def _proxy(self, url: httpx.URL) -> Proxy:
        origin = (url.scheme, url.host, url.port)
        found = self._proxies.get(origin)
        if found is None:
            found = self._proxies[origin] = environment_proxy(url)
        return found

    def _open_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise httpx.ConnectError("the transport is closed")
        connector = aiohttp.TCPConnector(
            limit=self._connections,
            limit_per_host=0,
            ssl=self._tls if self._tls is not None else httpx.create_ssl_context(),
        )
        tracing = aiohttp.TraceConfig()
        tracing.on_connection_queued_start.append(_queued)
        tracing.on_connection_queued_end.append(_dequeued)
        self._session = aiohttp.ClientSession(
            connector=connector,
            trace_configs=[tracing],
            trust_env=False,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None),
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open_session()
        timeouts = request.extensions.get("timeout", {})
        connect = timeouts.get("connect")
        pool = timeouts.get("pool")
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's ``connect`` bounds the wait for a pooled connection and its setup.
            connect=None if pool is None else pool + (connect or 0.0),
            sock_connect=connect,
            sock_read=timeouts.get("read"),
        )
        body = await request.aread()
        proxy, proxy_headers = self._proxy(request.url)
        headers = request.headers.multi_items()
        if proxy_headers and request.url.scheme == "http":
            # A plain-HTTP request goes to the proxy as it is (aiohttp sends ``proxy_headers``
            # only to open an HTTPS tunnel), so the credentials ride along in it.
            headers += proxy_headers.items()
        queue = _Queue()
        with _translated(request, _BEFORE_ANSWER):
            try:
                response = await session.request(
                    request.method,
                    str(request.url),
                    headers=headers,
                    data=body or None,
                    allow_redirects=False,
                    proxy=proxy,
                    proxy_headers=proxy_headers,
                    timeout=timeout,
                    trace_request_ctx=queue,
                )
            except aiohttp.ConnectionTimeoutError as exc:
                if queue.queued:
                    raise _PoolWaitTimedOut(str(exc)) from exc
                raise
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request=request),
            extensions={
                "http_version": _version(response.version),
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def environment_proxy(url: httpx.URL) -> Proxy:
    """The proxy the environment names for ``url`` (``HTTP_PROXY``, ``HTTPS_PROXY``,
    ``ALL_PROXY``, less ``NO_PROXY``, as httpx reads them), with its credentials apart.

    aiohttp would look this up on every request when trusting the environment, in a thread,
    and read ``~/.netrc`` for credentials to the server too; an httpx client does neither.
    """
    proxies = urllib.request.getproxies()
    host = url.host
    if not host or urllib.request.proxy_bypass(host):
        return None, None
    named = proxies.get(url.scheme) or proxies.get("all")
    if not named:
        return None, None
    proxy = httpx.URL(named if "://" in named else f"http://{named}")
    if proxy.scheme != "http":
        # aiohttp reaches servers only through plain-HTTP proxies (https ones tunnel too).
        logger.warning(
            "The %s proxy the environment names is not supported; connecting directly.",
            proxy.scheme,
        )
        return None, None
    headers = None
    if proxy.username:
        pair = f"{proxy.username}:{proxy.password or ''}".encode()
        headers = {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return str(proxy.copy_with(username=None, password=None)), headers


def _version(version: aiohttp.HttpVersion | None) -> bytes:
    return b"HTTP/1.1" if version is None else f"HTTP/{version.major}.{version.minor}".encode()


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body, chunk by chunk as the server's bytes arrive."""

    def __init__(self, response: aiohttp.ClientResponse, *, request: httpx.Request) -> None:
        self._response = response
        self._request = request
        self._ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        while True:
            # Not ``with _translated(...)``: this runs once per SSE event, and a context
            # manager made from a generator costs more than the read's own Python.
            try:
                chunk = await content.readany()
            except (aiohttp.ClientError, TimeoutError) as exc:
                with _translated(self._request, _WHILE_READING):
                    raise exc
            if not chunk:
                self._ended = True
                return
            yield chunk

    async def aclose(self) -> None:
        if self._ended:
            self._response.release()  # read to its end: the connection serves again
        else:
            self._response.close()
