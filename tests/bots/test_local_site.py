"""LocalSite serves one application on a local port; LocalService gives it ``async with``."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from knowrithm_bots.bots.local_site import LocalService, LocalSite


def hello_app() -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    return app


async def test_serves_on_a_free_port_until_stopped() -> None:
    site = LocalSite()
    assert not site.running
    with pytest.raises(RuntimeError, match="not running"):
        _ = site.port
    port = await site.start(hello_app())
    assert site.running and site.port == port > 0
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/") as got:
        assert await got.text() == "hello"
    with pytest.raises(RuntimeError, match="already running"):
        await site.start(hello_app())
    await site.stop()
    await site.stop()  # idempotent
    assert not site.running
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{port}/")


async def test_a_taken_port_fails_and_leaves_the_site_stopped() -> None:
    first = LocalSite()
    port = await first.start(hello_app())
    second = LocalSite()
    refused = hello_app()
    cleaned: list[web.Application] = []

    async def note_cleanup(app: web.Application) -> None:
        cleaned.append(app)

    refused.on_cleanup.append(note_cleanup)
    try:
        with pytest.raises(OSError, match=str(port)):
            await second.start(refused, port=port)
        assert not second.running
        # The runner set up for the refused app was cleaned up, not left holding its resources.
        assert cleaned == [refused]
        # Still usable: the failed attempt left nothing half-started.
        other = await second.start(hello_app())
        assert other != port
    finally:
        await second.stop()
        await first.stop()


async def test_a_service_runs_for_its_async_with_block() -> None:
    calls: list[str] = []

    class Service(LocalService):
        async def start(self) -> None:
            calls.append("start")

        async def stop(self) -> None:
            calls.append("stop")

    async def use() -> None:
        async with Service() as service:
            assert isinstance(service, Service)
            assert calls == ["start"]
            raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        await use()
    assert calls == ["start", "stop"]


def kernel_backlog_cap() -> int:
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


async def test_connections_beyond_aiohttps_default_backlog_wait_in_the_queue() -> None:
    """A thousand clients connecting at once (the bridge benchmark's reply streams) must not
    overflow the listen queue: the kernel drops what overflows, and a client then retries
    only a second later. 400 connect while the server accepts none; every one is made."""
    somaxconn = kernel_backlog_cap()
    if somaxconn < 400:
        pytest.skip(f"net.core.somaxconn is {somaxconn} here: the kernel caps any backlog")
    site = LocalSite()
    port = await site.start(hello_app())
    clients: list[socket.socket] = []
    try:
        # Blocking on purpose: the loop, and so the server, accepts nothing meanwhile.
        for _ in range(400):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
            clients.append(client)
        deadline = time.monotonic() + 0.5
        pending = list(clients)
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], pending, [], 0.05)
            pending = [client for client in pending if client not in writable]
        assert not pending, f"{len(pending)} of 400 connections were not made"
        assert all(c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 for c in clients)
    finally:
        for client in clients:
            client.close()
        await site.stop()
