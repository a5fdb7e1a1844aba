"""Socket Mode: one-time connection tickets, the WebSocket endpoint, envelopes out and acks back."""

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

logger = logging.getLogger(__name__)


class SocketHub:
    """Tracks live Socket Mode connections, what was sent to them and which envelopes were acked."""

    def __init__(self, *, app_id: str, on_change: Callable[[], Awaitable[None]]) -> None:
        self._app_id = app_id
        self._on_change = on_change
        self._tickets: set[str] = set()
        self.connections: list[web.WebSocketResponse] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.pings = 0
        self.connects = 0

    def issue_ticket(self) -> str:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return ticket

    @property
    def live(self) -> list[web.WebSocketResponse]:
        return [ws for ws in self.connections if not ws.closed]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            # Tickets from apps.connections.open are single use, as Slack's are.
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        self.connections.append(ws)
        self.connects += 1
        await self._send(ws, self._hello())
        await self._on_change()
        try:
            async for message in ws:
                if message.type == WSMsgType.PING:
                    self.pings += 1
                    await ws.pong(message.data)
                    await self._on_change()
                elif message.type == WSMsgType.TEXT:
                    await self._receive(message.data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            with contextlib.suppress(ValueError):
                self.connections.remove(ws)
            await self._on_change()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.live),
            "debug_info": {
                "host": "applink-emulated",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self._app_id},
        }

    async def _receive(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            logger.warning("Socket Mode client sent a frame that is not JSON")
            return
        if not isinstance(message, dict):
            return
        self.received.append(message)
        envelope_id = message.get("envelope_id")
        if isinstance(envelope_id, str):
            self.acks[envelope_id] = message
        await self._on_change()

    async def _send(self, ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
        self.sent.append(message)
        await ws.send_str(json.dumps(message))

    async def push(self, message: dict[str, Any]) -> None:
        """Send to the newest live connection (Slack picks one of the app's connections)."""
        live = self.live
        if not live:
            raise RuntimeError("no Socket Mode connection is open")
        await self._send(live[-1], message)

    async def disconnect_all(self, *, reason: str) -> None:
        """Ask every client to reconnect, as Slack does before it rotates a connection."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emu"}}
        for ws in self.live:
            await self._send(ws, message)

    async def close_all(self) -> None:
        for ws in list(self.connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), timeout=1.0)
