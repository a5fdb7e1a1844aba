"""Runs a real bot (runner, bridge, client, store) around any adapter, for end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bots.local_knowrithm import LocalKnowrithm
from bots.runner import BotRunner
from core.adapter import Adapter
from core.config import Settings, parse_settings
from core.knowrithm import KnowrithmClient, RetryPolicy
from core.store import MemoryStore, SqliteStore, Store


@dataclass
class RunningBot:
    """A bot running in the background of a test."""

    runner: BotRunner
    server: LocalKnowrithm
    client: KnowrithmClient
    store: Store
    adapters: Mapping[str, Adapter]

    async def drain(self) -> None:
        """Wait until every event the bridge has received so far is answered."""
        await self.runner.bridge.drain()

    def assistant_replies(self) -> list[str]:
        """Every answer the agent gave, in order of conversations then messages."""
        return [
            m.content
            for messages in self.server.state.messages.values()
            for m in messages
            if m.role == "assistant"
        ]


def client_for(server: LocalKnowrithm, **options: Any) -> KnowrithmClient:
    """A Knowrithm client for ``server`` with retries and polling quick enough for tests;
    ``options`` override the client's other settings."""
    settings: dict[str, Any] = {
        "retry": RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05),
        "task_poll_interval": 0.02,
        "stream_idle_timeout": 5.0,
        **options,
    }
    return KnowrithmClient(
        base_url=server.base_url,
        api_key=server.api_key,
        api_secret=server.api_secret,
        **settings,
    )


@asynccontextmanager
async def running_bot(
    adapters: Mapping[str, Adapter],
    *,
    server: LocalKnowrithm,
    config: Mapping[str, Any] | None = None,
    store_path: Path | None = None,
) -> AsyncIterator[RunningBot]:
    """Start ``adapters`` against ``server`` (already started) and stop everything after.

    ``config`` is a settings document (``conversations``, ``ratings`` ...); ``store_path``
    selects a sqlite store so a test can restart the bot on the same file.
    """
    settings: Settings = parse_settings(dict(config or {}), env={})
    store: Store = SqliteStore(path=store_path) if store_path else MemoryStore()
    async with client_for(server) as client:
        runner = BotRunner(
            settings=settings,
            adapters=adapters,
            client=client,
            agent_id=server.agent_id,
            store=store,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop=stop))
        started = asyncio.create_task(runner.started.wait())
        await asyncio.wait({task, started}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            started.cancel()
            await store.close()
            task.result()  # raises why the bot could not start
            raise RuntimeError("the bot stopped before it started")
        try:
            yield RunningBot(runner, server, client, store, adapters)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=30)
            await store.close()
