"""A BotRunner with nothing but a recording adapter and a local Knowrithm, for runner tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.bots.runner import BotRunner
from knowrithm_bots.core.clock import Clock
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.store import MemoryStore
from knowrithm_bots.core.testing import RecordingAdapter
from tests.harness import client_for


@asynccontextmanager
async def bare_runner(*, clock: Clock | None = None) -> AsyncIterator[BotRunner]:
    """A runner built (not started) with default settings, over a local Knowrithm that
    lives until the block ends."""
    adapter = RecordingAdapter()
    async with LocalKnowrithm() as server, client_for(server) as client:
        yield BotRunner(
            settings=parse_settings({}, env={}),
            adapters={adapter.name: adapter},
            client=client,
            agent_id=server.agent_id,
            store=MemoryStore(),
            clock=clock,
        )
