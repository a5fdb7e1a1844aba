"""Fixtures shared by the whole suite: the local Knowrithm server and a client for it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import settings

from bots.local_knowrithm import LocalKnowrithm
from core.knowrithm import KnowrithmClient, RetryPolicy


@pytest.fixture
async def knowrithm() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm() as server:
        yield server


@pytest.fixture
async def client(knowrithm: LocalKnowrithm) -> AsyncIterator[KnowrithmClient]:
    async with KnowrithmClient(
        base_url=knowrithm.base_url,
        api_key=knowrithm.api_key,
        api_secret=knowrithm.api_secret,
        retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
        task_poll_interval=0.01,
        stream_idle_timeout=2.0,
    ) as kn_client:
        yield kn_client


# CI runs the property tests on a fixed seed, so a landing never depends on luck; local
# runs keep exploring new examples.
if os.environ.get("CI"):
    settings.register_profile("ci", derandomize=True, database=None)
    settings.load_profile("ci")
