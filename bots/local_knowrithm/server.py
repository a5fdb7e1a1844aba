"""LocalKnowrithm: the Knowrithm-compatible HTTP server, run in-process or by the CLI."""

from __future__ import annotations

from typing import ClassVar

from aiohttp import web

from knowrithm_bots.bots.local_knowrithm.agent import Agent, EchoAgent
from knowrithm_bots.bots.local_knowrithm.context import (
    CONTEXT,
    SERVER_MODES,
    ServerContext,
    ServerMode,
    Settings,
)
from knowrithm_bots.bots.local_knowrithm.events import EventHub
from knowrithm_bots.bots.local_knowrithm.faults import Faults
from knowrithm_bots.bots.local_knowrithm.middleware import api_middleware
from knowrithm_bots.bots.local_knowrithm.replies import Pacing, ReplyRunner
from knowrithm_bots.bots.local_knowrithm.routes import api_routes
from knowrithm_bots.bots.local_knowrithm.state import LocalState
from knowrithm_bots.bots.local_site import LocalService, LocalSite

SHUTDOWN_TIMEOUT = 2.0  # streams are told to end first, so this only bounds stuck writes


class LocalKnowrithm(LocalService):
    """A Knowrithm-compatible API on one local port; nothing binds until `start()`.

    ``mode="streaming"`` (the default) adds what a streaming deployment offers: token
    deltas, replay to a late subscriber and a ``stream_url``. ``mode="documented"`` offers
    only what the public record shows of the hosted service (see ``context.ServerMode``).
    """

    # The mode of servers built without one. The test harness sets it for a whole run or
    # per test (tests/conftest.py), so suites run in either mode without naming it.
    default_mode: ClassVar[ServerMode] = "streaming"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "local-key",
        api_secret: str = "local-secret",
        agent: Agent | None = None,
        word_delay: float = 0.0,
        first_token_delay: float = 0.0,
        heartbeat_interval: float = 15.0,
        agent_id: str = "local-agent",
        mode: ServerMode | None = None,
    ) -> None:
        if word_delay < 0 or first_token_delay < 0 or heartbeat_interval <= 0:
            raise ValueError("delays must be >= 0 and heartbeat_interval > 0")
        chosen = mode if mode is not None else type(self).default_mode
        if chosen not in SERVER_MODES:
            raise ValueError(f"mode must be one of {', '.join(SERVER_MODES)}, not {chosen!r}")
        self.mode: ServerMode = chosen
        self.host = host
        self.port = port
        self.api_key = api_key
        self.api_secret = api_secret
        self.agent_id = agent_id
        self.state = LocalState()
        self.faults = Faults()
        self._agent: Agent = agent if agent is not None else EchoAgent()
        self._pacing = Pacing(word_delay=word_delay, first_token_delay=first_token_delay)
        self._heartbeat_interval = heartbeat_interval
        self._site = LocalSite(
            host=host, shutdown_timeout=SHUTDOWN_TIMEOUT, handler_cancellation=True
        )
        self._hub: EventHub | None = None
        self._replies: ReplyRunner | None = None

    @property
    def base_url(self) -> str:
        """The API root clients are configured with; paths below it start with /v1."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/api"

    async def start(self) -> None:
        """Bind the port (port 0 picks a free one, stored in `.port`) and start serving."""
        if self._site.running:
            raise RuntimeError("LocalKnowrithm is already started")
        documented = self.mode == "documented"
        hub = EventHub(replay=not documented)
        replies = ReplyRunner(
            state=self.state,
            hub=hub,
            faults=self.faults,
            agent=self._agent,
            pacing=self._pacing,
            documented=documented,
        )
        app = web.Application(middlewares=[api_middleware])
        app[CONTEXT] = ServerContext(
            settings=Settings(
                api_key=self.api_key,
                api_secret=self.api_secret,
                agent_id=self.agent_id,
                heartbeat_interval=self._heartbeat_interval,
                mode=self.mode,
            ),
            state=self.state,
            faults=self.faults,
            hub=hub,
            replies=replies,
        )
        app.add_routes(api_routes())
        self.port = await self._site.start(app, port=self.port)
        self._hub, self._replies = hub, replies

    async def stop(self) -> None:
        """End open streams, cancel replies being written, close the port. Idempotent."""
        hub, replies = self._hub, self._replies
        self._hub = self._replies = None
        self.faults.answer_again()  # requests left unanswered on purpose must not hold it
        if hub is not None:
            hub.close_all()
        if replies is not None:
            await replies.stop()
        await self._site.stop()
