"""How events reach the bolt app: a Socket Mode connection, or the HTTP Events API server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from knowrithm_bots.adapters.slack.errors import translated
from knowrithm_bots.adapters.slack.event_check import EventScreen
from knowrithm_bots.adapters.slack.signed_requests import events_handler
from knowrithm_bots.core.errors import PlatformAuthError, PlatformError

log = logging.getLogger(__name__)

SOCKET_PING_INTERVAL = 10.0


class Transport(Protocol):
    @property
    def connected(self) -> bool: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ScreenedSocketModeHandler(AsyncSocketModeHandler):
    """bolt's Socket Mode handler, acking what ``EventScreen`` keeps from bolt (which would
    fail on it or find no listener, and never ack it: Slack would send it again)."""

    def __init__(self, app: AsyncApp, *, screen: EventScreen, **options: Any) -> None:
        super().__init__(app, **options)
        self._screen = screen

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        if req.type != "events_api" or self._screen.admits(req.payload):
            await super().handle(client, req)
            return
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


class SocketTransport:
    """Socket Mode: an outgoing WebSocket opened with the app-level token; no public URL."""

    def __init__(
        self,
        *,
        app: AsyncApp,
        screen: EventScreen,
        app_token: str,
        logger: logging.Logger,
        timeout: float,
    ) -> None:
        self._timeout = timeout
        self._handler = ScreenedSocketModeHandler(
            app,
            screen=screen,
            app_token=app_token,
            logger=logger,
            web_client=app.client,
            ping_interval=SOCKET_PING_INTERVAL,
        )

    async def start(self) -> None:
        client = self._handler.client
        try:
            # Asked here first: the SDK's connect() retries every failure forever, which
            # would turn a wrong app token into a silent hang instead of an error.
            with translated(action="apps.connections.open"):
                client.wss_uri = await client.issue_new_wss_url()
            with translated(action="the Socket Mode connection"):
                await asyncio.wait_for(
                    self._handler.connect_async(),  # type: ignore[no-untyped-call]
                    timeout=self._timeout,
                )
        except PlatformAuthError:
            await self.stop()
            raise PlatformAuthError(
                "Slack refused the app-level token: check adapters.slack.app_token "
                "(it needs the connections:write scope)"
            ) from None
        except PlatformError:
            await self.stop()
            raise

    @property
    def connected(self) -> bool:
        """The SDK's own test (``is_connected``) without its ping, which needs I/O."""
        client = self._handler.client
        session = client.current_session
        return not client.closed and not client.stale and session is not None and not session.closed

    async def stop(self) -> None:
        client = self._handler.client
        await self._handler.close_async()  # type: ignore[no-untyped-call]
        # close() cancels the client's reader tasks without waiting; let them unwind here.
        for task in (
            client.message_processor,
            client.current_session_monitor,
            client.message_receiver,
        ):
            if task is not None and not task.done():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


class HttpTransport:
    """The Events API: Slack POSTs signed events to ``path``; they are checked
    (``signed_requests``), handed to bolt and acked."""

    def __init__(
        self,
        *,
        app: AsyncApp,
        host: str,
        port: int,
        path: str,
        signing_secret: str,
        screen: EventScreen,
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._path = path
        self._signing_secret = signing_secret
        self._screen = screen
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    async def start(self) -> None:
        web_app = web.Application()
        web_app.router.add_post(
            self._path,
            events_handler(self._app, signing_secret=self._signing_secret, screen=self._screen),
        )
        runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise PlatformError(
                f"cannot serve Slack events on {self._host}:{self._port} ({exc.strerror}): "
                "check adapters.slack.host and adapters.slack.port"
            ) from None
        self._runner = runner
        address = runner.addresses[0]
        self.bound_port = int(address[1])
        log.info("serving Slack events on http://%s:%s%s", self._host, self.bound_port, self._path)

    @property
    def connected(self) -> bool:
        """The server is listening."""
        return self._runner is not None

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
