"""The webhook listener: Telegram's deliveries, checked before python-telegram-bot reads them.

python-telegram-bot's own webhook server answers 400 to an update it cannot read, logging
the whole update (user text included); Telegram then delivers the same update again and
again, holding back the ones after it. Here a delivery that carries the right secret but an
unreadable update is logged once (``update_check``), answered 200 so that Telegram moves on,
and skipped. Sound updates go into the application's update queue, as the library's server
would put them.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiohttp import web
from telegram import Bot, Update

from knowrithm_bots.adapters.telegram.update_check import PoisonLog, problem_of

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram sends one update per request; anything larger is not one of its deliveries.
_LARGEST_BODY = 1024 * 1024


class WebhookListener:
    """Serves ``path`` on ``host``:``port`` for Telegram's POSTs.

    Like the library's server it answers 403 to a request without ``Content-Type:
    application/json`` or without the configured secret token; unlike it, it answers 200 to
    an authentic delivery it cannot use, which it logs once and drops.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        path: str,
        secret: str,
        bot: Bot,
        queue: asyncio.Queue[object],
    ) -> None:
        self._host = host
        self._port = port
        self._path = "/" + path.strip("/")
        self._secret = secret
        self._bot = bot
        self._queue = queue
        self._poison = PoisonLog()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen; ``OSError`` when the address cannot be bound."""
        app = web.Application(client_max_size=_LARGEST_BODY)
        app.router.add_post(self._path, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Content-Type") != "application/json":
            return web.Response(status=403)
        token = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(token.encode(), self._secret.encode()):
            log.debug("refused a webhook request without the right secret token")
            return web.Response(status=403)
        body = await request.read()
        try:
            raw: object = json.loads(body)
        except ValueError:  # UnicodeDecodeError is one
            self._poison.skipped(body, problem="its body is not JSON")
            return web.Response(status=200)
        problem = problem_of(raw)
        if problem is not None or not isinstance(raw, dict):
            self._poison.skipped(raw, problem=problem or "it is not a JSON object")
            return web.Response(status=200)  # so that Telegram does not deliver it again
        await self._queue.put(Update.de_json(raw, self._bot))
        return web.Response(status=200)
