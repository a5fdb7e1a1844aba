"""Config validation, start-up failures, secrets and the process-wide endpoint."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import discord
import pytest

from knowrithm_bots.adapters.discord import DiscordAdapter, DiscordConfig
from knowrithm_bots.adapters.discord.endpoint import Endpoint, claim, release
from knowrithm_bots.core.errors import ConfigError, PlatformAuthError, PlatformUnavailable
from knowrithm_bots.core.plugins import load_adapter
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.emulators.discord_api import DiscordEmulator
from tests.support import NullSink

from .helpers import adapter_config, discord_world, make_adapter

SECRET = "sekrit-token-value-123"


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({}, "adapters.discord.token"),
        ({"token": "  "}, "adapters.discord.token"),
        ({"token": SECRET, "api_base_url": "ftp://example"}, "adapters.discord.api_base_url"),
        ({"token": SECRET, "gateway_url": "https://x"}, "adapters.discord.gateway_url"),
        ({"token": SECRET, "tokn": "typo"}, "adapters.discord.tokn"),
        ({"token": SECRET, "allowed_guilds": ["general"]}, "adapters.discord.allowed_guilds.0"),
        ({"token": SECRET, "allowed_channels": [-4]}, "adapters.discord.allowed_channels"),
        ({"token": SECRET, "thread_auto_archive_minutes": 5}, "adapters.discord.thread_auto_"),
        ({"token": SECRET, "max_rate_limit_wait": 5}, "adapters.discord.max_rate_limit_wait"),
        ({"token": SECRET, "message_content_intent": "maybe"}, "adapters.discord.message_con"),
        # discord.py is ready only guild_ready_timeout after connecting: never within this.
        (
            {"token": SECRET, "connect_timeout": 2, "guild_ready_timeout": 2},
            "adapters.discord.connect_timeout",
        ),
        ({"token": SECRET, "connect_timeout": 1}, "adapters.discord.connect_timeout"),
    ],
)
def test_bad_config_names_the_key_and_never_the_token(section: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DiscordAdapter.from_config(config=section)
    assert caught.value.key_path is not None
    assert caught.value.key_path.startswith(key)
    assert key in str(caught.value)
    assert SECRET not in str(caught.value)


def test_good_config_is_read_without_connecting_and_hides_the_token() -> None:
    adapter = DiscordAdapter.from_config(
        config={"token": f"Bot {SECRET}", "allowed_guilds": ["123"], "direct_messages": False}
    )
    assert adapter.client is None and adapter.identity is None
    assert SECRET not in repr(adapter)
    assert load_adapter("discord") is DiscordAdapter
    assert DiscordAdapter.config_model is DiscordConfig
    assert DiscordAdapter.limits.max_message_length == 2000
    assert {b.scope for b in DiscordAdapter.limits.budgets} == {"chat", "bot"}
    keys = adapter.budget_keys(thread="discord:7:thread:99")
    assert (keys["chat"], keys["bot"]) == ("99", "7")


async def test_a_wrong_token_fails_start_in_one_sentence_without_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with DiscordEmulator() as emu:
        adapter = DiscordAdapter.from_config(config={**adapter_config(emu), "token": SECRET})
        with pytest.raises(PlatformAuthError) as caught:
            await adapter.start(sink=EventRecorder())
        assert "adapters.discord.token" in str(caught.value)
        assert adapter.client is None
        await adapter.stop()
    assert SECRET not in str(caught.value)
    assert SECRET not in caplog.text
    assert all(SECRET not in str(r.args) for r in caplog.records)


async def test_a_refused_content_intent_says_how_to_fix_it() -> None:
    async with DiscordEmulator(allowed_privileged_intents=0) as emu:
        adapter = make_adapter(emu, message_content_intent=True)
        with pytest.raises(PlatformAuthError, match="message_content_intent"):
            await adapter.start(sink=EventRecorder())
        assert emu.identify_count == 0
        # Off, the same application connects: the intent is not requested.
        adapter = make_adapter(emu, message_content_intent=False)
        await adapter.start(sink=EventRecorder())
        try:
            assert emu.intents is not None
            assert not emu.intents & discord.Intents(message_content=True).value
        finally:
            await adapter.stop()


async def test_an_unreachable_gateway_fails_start_within_the_timeout() -> None:
    # Bound but never listening: connections are refused, and no other process can take
    # the port while the test runs.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
        async with DiscordEmulator() as emu:
            adapter = make_adapter(
                emu, gateway_url=f"ws://127.0.0.1:{dead_port}/gateway", connect_timeout=0.3
            )
            started = time.monotonic()
            # discord.py either keeps retrying (not ready in time) or gives up at once.
            with pytest.raises(PlatformUnavailable, match=f"gateway at ws://127.0.0.1:{dead_port}"):
                await adapter.start(sink=EventRecorder())
            elapsed = time.monotonic() - started
            assert adapter.client is None
    # The 0.3 s connect timeout bounds start(); 5 s leaves room for a loaded machine while
    # still catching a start that waits for discord.py's own (much longer) reconnect loop.
    assert elapsed < 5.0


async def test_start_and_stop_are_idempotent_and_wait_closed_returns() -> None:
    async with discord_world() as world:
        adapter = make_adapter(world.emu)
        sink = EventRecorder()
        await adapter.start(sink=sink)
        await adapter.start(sink=sink)
        assert world.emu.identify_count == 1
        assert adapter.identity is not None
        assert adapter.identity.bot_id == world.bot_id
        assert adapter.identity.application_id == world.emu.application_id
        await adapter.stop()
        await adapter.wait_closed()
        await adapter.stop()
        assert adapter.client is None


async def test_calls_before_start_or_after_stop_are_platform_unavailable() -> None:
    async with discord_world() as world:
        adapter = make_adapter(world.emu)
        thread = f"discord:{world.emu.application_id}:channel:{world.general.id}"

        async def every_call() -> None:
            calls = (
                adapter.post(thread=thread, text="hello"),
                adapter.edit(thread=thread, message_id="123456789012345678", text="hello"),
                adapter.delete(thread=thread, message_id="123456789012345678"),
                adapter.typing(thread=thread),
            )
            for call in calls:
                with pytest.raises(PlatformUnavailable, match="not started or is already stopped"):
                    await call

        await every_call()
        await adapter.start(sink=NullSink())
        await adapter.post(thread=thread, text="while running")
        await adapter.stop()
        await every_call()
        # Only the post made while running reached Discord.
        assert world.texts(world.general.id) == ["while running"]


async def test_one_process_serves_one_discord_endpoint() -> None:
    async with discord_world() as world:
        first = make_adapter(world.emu)
        await first.start(sink=EventRecorder())
        try:
            assert world.emu.api_base == discord.http.Route.BASE
            second = make_adapter(world.emu, api_base_url="http://127.0.0.1:9/api/v10")
            with pytest.raises(ConfigError) as caught:
                await second.start(sink=EventRecorder())
            assert caught.value.key_path == "adapters.discord.api_base_url"
            assert second.client is None
            assert world.emu.api_base == discord.http.Route.BASE  # the first is untouched
        finally:
            await first.stop()
    # Once released, another endpoint may be claimed.
    other = Endpoint(api_base_url="http://127.0.0.1:9/api/v10", gateway_url="ws://127.0.0.1:9/")
    claim(other)
    release(other)
