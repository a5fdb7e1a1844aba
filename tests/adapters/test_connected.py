"""Each platform adapter says whether its connection is up, as its library tells (/readyz)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.adapters.discord.helpers import discord_world, make_adapter
from tests.adapters.slack.helpers import slack_config
from tests.adapters.telegram.support import adapter_for, free_port
from tests.emulators.slack_api import SlackEmulator
from tests.emulators.telegram_api import FloodLimits, TelegramEmulator


async def _connected_only_while_running(adapter: Adapter) -> None:
    assert not adapter.connected
    await adapter.start(sink=EventRecorder())
    try:
        assert adapter.connected
    finally:
        await adapter.stop()
    assert not adapter.connected


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_telegram_is_connected_while_polling_or_serving_its_webhook(mode: str) -> None:
    async with TelegramEmulator(flood=FloodLimits.off()) as emu:
        extra: dict[str, Any] = {}
        if mode == "webhook":
            port = free_port()
            extra = {
                "mode": "webhook",
                "webhook_url": f"http://127.0.0.1:{port}/telegram",
                "webhook_secret": "s3cret-token-for-tests",
                "webhook_listen": "127.0.0.1",
                "webhook_port": port,
            }
        await _connected_only_while_running(adapter_for(emu, **extra))


@pytest.mark.parametrize("mode", ["socket", "http"])
async def test_slack_is_connected_while_its_socket_is_open_or_its_server_up(mode: str) -> None:
    async with SlackEmulator() as emu:
        adapter = SlackAdapter.from_config(config=slack_config(emu, mode=mode))
        await _connected_only_while_running(adapter)


async def test_slack_socket_mode_is_not_connected_once_slack_closes_the_socket() -> None:
    async with SlackEmulator() as emu:
        adapter = SlackAdapter.from_config(config=slack_config(emu, mode="socket"))
        await adapter.start(sink=EventRecorder())
        try:
            await emu.wait_for_socket()
            assert adapter.connected
            await emu.close_sockets()
            # Until the SDK reconnects, if it does: the readiness check may see this state.
            seen = False
            for _ in range(200):
                if not adapter.connected:
                    seen = True
                    break
                await _tick()
            assert seen
        finally:
            await adapter.stop()


async def test_discord_is_connected_once_the_gateway_is_ready() -> None:
    async with discord_world() as world:
        await _connected_only_while_running(make_adapter(world.emu))


async def _tick() -> None:
    await asyncio.sleep(0.01)
