"""An aiohttp application served on a local port: the local Knowrithm and the test emulators."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from aiohttp import web

# Linux caps a listen backlog at net.core.somaxconn, 4096 by default since kernel 5.4.
BACKLOG = 4096


class LocalSite:
    """Serves one application; ``start`` binds, ``stop`` closes (idempotent).

    Access logs stay off: these servers answer test and demo traffic only.

    The listen backlog is ``BACKLOG``, not aiohttp's 128: a thousand clients connecting at
    once (the bridge benchmark's questions, each opening its reply stream) would overflow
    128, and the kernel drops the connections beyond it, which the clients retry a second
    later (TCP's first SYN retransmission): a second of delay that is the server's, not
    the client's.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        shutdown_timeout: float = 1.0,
        handler_cancellation: bool = False,
    ) -> None:
        self._host = host
        self._shutdown_timeout = shutdown_timeout
        self._handler_cancellation = handler_cancellation
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def port(self) -> int:
        """The bound port (the free one picked when started with port 0)."""
        if self._port is None:
            raise RuntimeError("the server is not running")
        return self._port

    async def start(self, app: web.Application, *, port: int = 0) -> int:
        """Serve ``app`` on ``port`` (0 picks a free one) and return the bound port."""
        if self._runner is not None:
            raise RuntimeError("the server is already running")
        runner = web.AppRunner(
            app,
            access_log=None,
            shutdown_timeout=self._shutdown_timeout,
            handler_cancellation=self._handler_cancellation,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host=self._host, port=port, backlog=BACKLOG).start()
        except BaseException:
            # A port already taken must not leave the runner's resources behind.
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        return self._port

    async def stop(self) -> None:
        runner, self._runner, self._port = self._runner, None, None
        if runner is not None:
            await runner.cleanup()


class LocalService(ABC):
    """Something with ``start`` and ``stop`` that ``async with`` runs for its block."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
