"""The operators' HTTP listener: ``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.observability.readiness import Readiness

log = logging.getLogger(__name__)

__all__ = ["METRICS_MISSING", "Exposition", "ObservabilityListener"]

METRICS_MISSING = (
    "/metrics needs the prometheus-client package: install knowrithm-bots[metrics] "
    "(or pip install prometheus-client) and restart the bot."
)


@dataclass(frozen=True, kw_only=True)
class Exposition:
    """How to render the metrics: ``render()`` returns the body, of ``content_type``."""

    render: Callable[[], bytes]
    content_type: str


class ObservabilityListener:
    """Serves the three endpoints on ``host``:``port`` (0: any free port, see ``port``).

    ``/healthz`` answers 200 as long as the process serves HTTP at all. ``/readyz`` answers
    200 when every check of ``readiness`` passes, else 503; both bodies are JSON naming each
    check's state. ``/metrics`` renders ``exposition``, or answers 501 with
    ``METRICS_MISSING`` when there is none (prometheus-client is not installed).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        readiness: Readiness,
        exposition: Exposition | None,
    ) -> None:
        self._host = host
        self._port = port
        self._readiness = readiness
        self._exposition = exposition
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        """The port listened on once started (the one chosen when 0 was asked for)."""

    @property
    def url(self) -> str | None:
        """The listener's base URL once started, for logs and tests."""
        if self.port is None:
            return None
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Listen; ``ConfigError`` naming ``observability.listen`` when the address is taken."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host or None, self._port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"cannot listen on {self._host}:{self._port} for health and metrics "
                f"({exc.strerror or exc}): check observability.listen",
                key_path="observability.listen",
            ) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        if self._exposition is None:
            log.warning("%s", METRICS_MISSING)
        log.info("health and metrics on %s (/healthz, /readyz, /metrics)", self.url)

    async def stop(self) -> None:
        """Stop listening; safe before ``start`` and more than once."""
        runner, self._runner = self._runner, None
        self.port = None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return _json(200, {"status": "up"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        report = await self._readiness.report()
        body = {
            "ready": report.ready,
            "not_ready": report.not_ready(),
            "checks": dict(report.checks),
        }
        return _json(200 if report.ready else 503, body)

    async def _metrics(self, _request: web.Request) -> web.Response:
        if self._exposition is None:
            return web.Response(status=501, text=METRICS_MISSING + "\n")
        body = self._exposition.render()
        return web.Response(body=body, headers={"Content-Type": self._exposition.content_type})


def _json(status: int, body: object) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
    )
