"""The inbound half: an HTTP endpoint that checks each event's signature and hands it on."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from knowrithm_bots.adapter import Inbound, Reaction
from knowrithm_webhook.wire import SIGNATURE_HEADER, parse_event, signed

log = logging.getLogger(__name__)

Deliver = Callable[[Inbound | Reaction], Awaitable[None]]


class Receiver:
    """Serves ``POST <path>``; answers 401 for a bad signature, 400 for a bad event, else 200."""

    def __init__(self, *, path: str, secret: str, bot_id: str, deliver: Deliver) -> None:
        self._path = path
        self._secret = secret
        self._bot_id = bot_id
        self._deliver = deliver
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, *, host: str, port: int) -> str:
        """Listen on ``host:port`` (0 picks a free port); return the endpoint's URL."""
        app = web.Application()
        app.router.add_post(self._path, self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}{self._path}"
        return self.url

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signed(secret=self._secret, body=body, header=request.headers.get(SIGNATURE_HEADER)):
            return web.json_response({"ok": False, "error": "bad signature"}, status=401)
        try:
            event = parse_event(json.loads(body), bot_id=self._bot_id)
        except ValueError as exc:  # bad JSON or a BadEvent: the sender's mistake
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        if event is not None:
            await self._deliver(event)
        else:
            log.debug("ignored an event from the bot itself or another bot")
        return web.json_response({"ok": True})
