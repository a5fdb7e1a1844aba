"""Fixtures shared by the whole suite: the local Knowrithm server and a client for it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import settings

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.knowrithm import KnowrithmClient
from tests.harness import client_for
from tests.support import LOOPBACK_NO_PROXY, is_proxy_variable


@pytest.fixture(autouse=True)
def _loopback_without_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx, requests, aiohttp and slack-sdk all read proxy variables (some in either case)
    # and not all of them exempt 127.0.0.1: test traffic must never leave the machine.
    for name in list(os.environ):
        if is_proxy_variable(name):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", LOOPBACK_NO_PROXY)
    monkeypatch.setenv("no_proxy", LOOPBACK_NO_PROXY)


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
