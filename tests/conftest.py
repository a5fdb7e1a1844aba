"""Fixtures shared by the whole suite: the local Knowrithm server and a client for it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import settings

from knowrithm_bots.bots.local_knowrithm import SERVER_MODES, LocalKnowrithm, ServerMode
from knowrithm_bots.core.knowrithm import KnowrithmClient
from tests.harness import client_for, knowrithm_modes
from tests.redis_server import redis_server  # noqa: F401  (a fixture for the whole suite)
from tests.support import LOOPBACK_NO_PROXY, is_proxy_variable


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--knowrithm-mode",
        choices=(*SERVER_MODES, "both"),
        default=None,
        help="run every test against the local Knowrithm server in this mode (both: in each"
        " mode). Without it, tests marked knowrithm_modes run in their modes, others streaming.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "knowrithm_modes(*modes): run the test against the local Knowrithm server in each of"
        " these modes (streaming, documented; none named: all of them)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("knowrithm_modes")
    modes = knowrithm_modes(
        asked=metafunc.config.getoption("--knowrithm-mode"),
        marked=None if marker is None else tuple(marker.args),
    )
    if modes is None:
        return
    skip = pytest.mark.skip(reason="not meant for the local Knowrithm mode asked for")
    params = list(modes) or [pytest.param("streaming", marks=skip)]
    metafunc.parametrize("knowrithm_mode", params, indirect=True)


@pytest.fixture(autouse=True)
def knowrithm_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ServerMode:
    """The local Knowrithm server mode of this test; every server it builds uses it."""
    mode: ServerMode = getattr(request, "param", "streaming")
    monkeypatch.setattr(LocalKnowrithm, "default_mode", mode)
    return mode


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
async def knowrithm(knowrithm_mode: ServerMode) -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm(mode=knowrithm_mode) as server:
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
