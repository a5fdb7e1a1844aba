"""The client's transport: httpx requests sent over aiohttp to a real server on 127.0.0.1,
with httpx's exceptions, timeouts and connection reuse."""

from __future__ import annotations

import asyncio
import base64
import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from knowrithm_bots.core.knowrithm.aiohttp_transport import AiohttpTransport, environment_proxy
from tests.support import free_port


class Server:
    """A small aiohttp server whose handlers the tests steer."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.peers: list[tuple[str, int]] = []
        self.gone = asyncio.Event()
        self.seen: list[tuple[str, bytes, str | None]] = []
        self.proxied: list[tuple[str, str | None]] = []
        self.url = ""

    async def stream(self, request: web.Request) -> web.StreamResponse:
        self.peers.append(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: first\n\n")
        try:
            # A comment now and then: a write fails once the client has closed the connection.
            while not self.release.is_set():
                await asyncio.sleep(0.02)
                await response.write(b": still here\n\n")
        except ConnectionError:
            self.gone.set()
            raise
        return response

    async def small(self, request: web.Request) -> web.Response:
        self.peers.append(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        body = await request.read()
        self.seen.append((request.method, body, request.headers.get("X-Test")))
        return web.Response(body=b"ok")

    async def as_proxy(self, request: web.Request) -> web.Response:
        """A forward proxy's view: the absolute target, and the proxy credentials sent."""
        self.proxied.append((str(request.url), request.headers.get("Proxy-Authorization")))
        return web.Response(body=b"via proxy")

    async def silent(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"data: one\n\n")
        await asyncio.sleep(30)
        return response

    async def dropped(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"data: one\n\n")
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.close()  # the chunked body never ends
        return response

    async def gzipped(self, request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b'{"ok": true}'),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    steered = Server()
    app = web.Application()
    app.router.add_get("/stream", steered.stream)
    app.router.add_route("*", "/small", steered.small)
    app.router.add_get("/silent", steered.silent)
    app.router.add_get("/dropped", steered.dropped)
    app.router.add_get("/gzipped", steered.gzipped)
    app.router.add_get("/proxied", steered.as_proxy)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    steered.url = f"http://127.0.0.1:{port}"
    try:
        yield steered
    finally:
        steered.release.set()
        await runner.cleanup()


def client(connections: int = 4, **timeouts: float | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=AiohttpTransport(connections=connections),
        timeout=httpx.Timeout(5.0, **timeouts),
    )


async def test_a_body_is_read_as_it_arrives_and_an_early_close_drops_the_connection(
    server: Server,
) -> None:
    async with client() as http:
        async with http.stream("GET", f"{server.url}/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            chunks = response.aiter_bytes()
            # The server holds the rest back: the first event shows before the body ends.
            assert await asyncio.wait_for(anext(chunks), 2) == b"data: first\n\n"
        # Closed while the client lives: a connection back in its pool would take the
        # server's writes; a closed one refuses them.
        await asyncio.wait_for(server.gone.wait(), 2)


async def test_a_whole_body_leaves_its_connection_for_the_next_request(server: Server) -> None:
    async with client() as http:
        first = await http.post(f"{server.url}/small", content=b"hello", headers={"X-Test": "1"})
        second = await http.get(f"{server.url}/small")
    assert (first.status_code, first.text, second.text) == (200, "ok", "ok")
    assert server.seen == [("POST", b"hello", "1"), ("GET", b"", None)]
    assert server.peers[0] == server.peers[1]  # one connection served both


async def test_a_compressed_body_is_decoded_once(server: Server) -> None:
    async with client() as http:
        response = await http.get(f"{server.url}/gzipped")
    assert response.json() == {"ok": True}


async def test_a_refused_connection_is_httpx_connect_error() -> None:
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port()}/nothing")


async def test_silence_past_the_read_timeout_is_httpx_read_timeout(server: Server) -> None:
    async with client(read=0.2) as http, http.stream("GET", f"{server.url}/silent") as response:
        chunks = response.aiter_bytes()
        assert await anext(chunks) == b"data: one\n\n"
        with pytest.raises(httpx.ReadTimeout):
            await anext(chunks)


async def test_a_body_cut_short_is_an_httpx_transport_error(server: Server) -> None:
    async with client() as http, http.stream("GET", f"{server.url}/dropped") as response:
        with pytest.raises(httpx.RemoteProtocolError):
            async for _ in response.aiter_bytes():
                pass


async def test_requests_beyond_the_pool_wait_for_a_connection_or_the_pool_timeout(
    server: Server,
) -> None:
    # aiohttp bounds the wait for a connection and the connect together: pool + connect.
    async with client(connections=1, pool=0.1, connect=0.1) as http:
        held = await http.send(http.build_request("GET", f"{server.url}/stream"), stream=True)
        with pytest.raises(httpx.PoolTimeout):
            await http.get(f"{server.url}/small")
        waiting = asyncio.create_task(http.get(f"{server.url}/small", timeout=5.0))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        await held.aclose()
        assert (await asyncio.wait_for(waiting, 2)).text == "ok"


async def test_a_closed_transport_refuses_requests(server: Server) -> None:
    transport = AiohttpTransport(connections=1)
    async with httpx.AsyncClient(transport=transport) as http:
        assert (await http.get(f"{server.url}/small")).text == "ok"
    with pytest.raises(httpx.ConnectError, match="closed"):
        await transport.handle_async_request(httpx.Request("GET", f"{server.url}/small"))


def test_a_transport_needs_a_connection() -> None:
    with pytest.raises(ValueError, match="at least one"):
        AiohttpTransport(connections=0)


@pytest.fixture
def clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


async def test_requests_go_through_the_proxy_the_environment_names(
    server: Server, clean_proxy_environment: pytest.MonkeyPatch
) -> None:
    # The test server plays the proxy: it gets the absolute target and the credentials,
    # which the proxy URL carried and which must not go to the server as well.
    proxy = server.url.replace("http://", "http://bot%40corp:s3cret@")
    clean_proxy_environment.setenv("HTTP_PROXY", proxy)
    async with client() as http:
        response = await http.get("http://knowrithm.invalid/proxied")
    assert response.text == "via proxy"
    ((target, credentials),) = server.proxied
    assert target == "http://knowrithm.invalid/proxied"
    assert credentials == "Basic " + base64.b64encode(b"bot@corp:s3cret").decode()


async def test_no_proxy_and_an_unsupported_proxy_connect_directly(
    server: Server, clean_proxy_environment: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    nothing_listens = f"http://127.0.0.1:{free_port()}"
    clean_proxy_environment.setenv("HTTP_PROXY", nothing_listens)
    clean_proxy_environment.setenv("NO_PROXY", "127.0.0.1")
    async with client() as http:
        assert (await http.get(f"{server.url}/small")).text == "ok"
    clean_proxy_environment.delenv("NO_PROXY")
    clean_proxy_environment.setenv("HTTP_PROXY", "socks5://127.0.0.1:1")
    async with client() as http:
        assert (await http.get(f"{server.url}/small")).text == "ok"
    assert "socks5 proxy the environment names is not supported" in caplog.text
    assert server.proxied == []


def test_the_proxy_is_looked_up_without_credentials_in_its_url(
    clean_proxy_environment: pytest.MonkeyPatch,
) -> None:
    clean_proxy_environment.setenv("ALL_PROXY", "proxy.corp:3128")
    assert environment_proxy(httpx.URL("https://api.example/v1")) == (
        "http://proxy.corp:3128",
        None,
    )
    clean_proxy_environment.setenv("NO_PROXY", "api.example")
    assert environment_proxy(httpx.URL("https://api.example/v1")) == (None, None)
