"""Fixtures shared by the whole suite: the local Knowrithm server and a client for it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import settings

from bots.local_knowrithm import LocalKnowrithm
from core.knowrithm import KnowrithmClient
from tests.harness import client_for


@pytest.fixture
async def knowrithm() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm() as server:
        yield server


@pytest.fixture
async def client(knowrithm: LocalKnowrithm) -> AsyncIterator[KnowrithmClient]:
    async with client_for(knowrithm) as kn_client:
        yield kn_client


# CI runs the property tests on a fixed seed, so a landing never depends on luck; local
# runs keep exploring new examples.
if os.environ.get("CI"):
    settings.register_profile("ci", derandomize=True, database=None)
    settings.load_profile("ci")
