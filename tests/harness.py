"""Runs a real bot (runner, bridge, client, store) around any adapter, for end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowrithm_bots.bots.local_knowrithm import SERVER_MODES, LocalKnowrithm, ServerMode
from knowrithm_bots.bots.observability import build_observability
from knowrithm_bots.bots.runner import BotRunner, build_store
from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.config import Settings, parse_settings
from knowrithm_bots.core.knowrithm import KnowrithmClient, RetryPolicy
from knowrithm_bots.core.store import MemoryStore, SqliteStore, Store
from tests.support import stored_replies

# Settings for tests that send several messages of one person at once and want each answered
# on its own (the default merges them: see core/merging.py).
ONE_ANSWER_EACH: Mapping[str, Any] = {"conversations": {"busy": "queue"}}


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
        return [m.content for m in stored_replies(self.server)]


def knowrithm_modes(
    *, asked: str | None, marked: tuple[str, ...] | None
) -> tuple[ServerMode, ...] | None:
    """The local Knowrithm server modes one test runs in (tests/conftest.py applies them).

    ``asked`` is ``--knowrithm-mode`` (a mode, "both", or None); ``marked`` the modes of the
    test's ``knowrithm_modes`` marker (empty: every mode), None when it has none. None means
    "do not parametrize: the streaming default"; an empty tuple means "skip this test".
    """
    allowed = tuple(m for m in SERVER_MODES if not marked or m in marked)
    if asked is None:
        return None if marked is None or allowed == ("streaming",) else allowed
    if asked == "both":
        return allowed if marked is not None else SERVER_MODES
    return tuple(m for m in allowed if m == asked)


def client_for(server: LocalKnowrithm, **options: Any) -> KnowrithmClient:
    """A Knowrithm client for ``server`` with retries and polling quick enough for tests;
    ``options`` override any setting, the server's credentials included."""
    settings: dict[str, Any] = {
        "api_key": server.api_key,
        "api_secret": server.api_secret,
        "retry": RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05),
        "task_poll_interval": 0.02,
        "stream_idle_timeout": 5.0,
        **options,
    }
    return KnowrithmClient(base_url=server.base_url, **settings)


@asynccontextmanager
async def running_bot(
    adapters: Mapping[str, Adapter],
    *,
    server: LocalKnowrithm,
    config: Mapping[str, Any] | None = None,
    store_path: Path | None = None,
    start_timeout: float = 30.0,
) -> AsyncIterator[RunningBot]:
    """Start ``adapters`` against ``server`` (already started) and stop everything after.

    ``config`` is a settings document (``conversations``, ``ratings``, a Redis ``store`` ...);
    ``store_path`` selects a sqlite store so a test can restart the bot on the same file. A
    bot that has neither started nor failed after ``start_timeout`` seconds is torn down and
    ``TimeoutError`` raised.
    """
    settings: Settings = parse_settings(dict(config or {}), env={})
    store: Store = SqliteStore(path=store_path) if store_path else MemoryStore()
    if settings.store.backend == "redis":  # `store: {backend: redis, url: ...}` in ``config``
        store = build_store(settings)
    # With `observability.listen` in `config`, the bot serves /metrics, Knowrithm's included.
    observability = build_observability(settings.observability)
    async with client_for(server, transport=observability.knowrithm_transport()) as client:
        runner = BotRunner(
            settings=settings,
            adapters=adapters,
            client=client,
            agent_id=server.agent_id,
            store=store,
            observability=observability,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop=stop))
        started = asyncio.create_task(runner.started.wait())
        await asyncio.wait(
            {task, started}, timeout=start_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        started.cancel()
        if task.done():
            await store.close()
            task.result()  # raises why the bot could not start
            raise RuntimeError("the bot stopped before it started")
        if not runner.started.is_set():
            await _abandon(task, adapters=adapters, store=store)
            names = ", ".join(adapters)
            raise TimeoutError(
                f"the bot did not start within {start_timeout:g} s: the start() of an adapter "
                f"({names}) neither returned nor failed"
            )
        try:
            yield RunningBot(runner, server, client, store, adapters)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=30)
            await store.close()


async def _abandon(
    task: asyncio.Task[None], *, adapters: Mapping[str, Adapter], store: Store
) -> None:
    """Tear down a bot stuck starting: cancel its run, stop every adapter, close the store."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    for adapter in adapters.values():
        # stop() is idempotent, so adapters the cancelled run already stopped are fine; a
        # failing or hanging stop must not hide the TimeoutError the caller is about to see.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(adapter.stop(), timeout=5.0)
    await store.close()
