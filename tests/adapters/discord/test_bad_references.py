"""Garbled thread keys and message ids become core errors; a failed start leaves no task."""

from __future__ import annotations

import asyncio
import socket

import pytest

from knowrithm_bots.adapters.discord import DiscordAdapter, DiscordConfig
from knowrithm_bots.adapters.discord.threads import ThreadKey
from knowrithm_bots.core.errors import MessageNotFound, PlatformError, PlatformUnavailable
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.emulators.discord_api import DiscordEmulator

from .helpers import adapter_config, discord_world, make_adapter


def _ready_waiters() -> list[asyncio.Task[object]]:
    """Unfinished tasks waiting on an asyncio.Event (the adapter's 'ready' waiter)."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and getattr(task.get_coro(), "__qualname__", "") == "Event.wait"
    ]


class _Probe(DiscordAdapter):
    """Notes the waiters still pending at the moment a failed start begins to clean up."""

    pending_at_failure: list[asyncio.Task[object]] | None = None

    async def _shutdown(self) -> None:
        if self.pending_at_failure is None:
            self.pending_at_failure = _ready_waiters()
        await super()._shutdown()


async def test_a_gateway_that_never_gets_ready_leaves_no_waiting_task() -> None:
    # Bound but never listening: connections are refused, and no other process can take
    # the port while the test runs.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
        async with DiscordEmulator() as emu:
            config = DiscordConfig.model_validate(
                adapter_config(
                    emu, gateway_url=f"ws://127.0.0.1:{dead_port}/gateway", connect_timeout=0.3
                )
            )
            adapter = _Probe(config=config, identify_delay=0.0)
            with pytest.raises(PlatformUnavailable):
                await adapter.start(sink=EventRecorder())
            assert adapter.pending_at_failure == []
            assert _ready_waiters() == []


@pytest.mark.parametrize("garbled", ["abc", "12x", "", "-5", "٣", str(2**64), "1:2:3"])
async def test_garbled_message_ids_are_message_not_found(garbled: str) -> None:
    async with discord_world() as world:
        adapter = make_adapter(world.emu)
        await adapter.start(sink=EventRecorder())
        try:
            thread = ThreadKey(
                application_id=world.emu.application_id,
                kind="channel",
                channel_id=world.general.id,
            ).encode()
            with pytest.raises(MessageNotFound, match="not a Discord message id"):
                await adapter.edit(thread=thread, message_id=garbled, text="hello")
            with pytest.raises(MessageNotFound, match="not a Discord message id"):
                await adapter.delete(thread=thread, message_id=garbled)
            # A well-formed id of a message that does not exist is also MessageNotFound
            # for edit, and an already reached goal for delete.
            with pytest.raises(MessageNotFound):
                await adapter.edit(thread=thread, message_id="123456789012345678", text="hi")
            await adapter.delete(thread=thread, message_id="123456789012345678")
        finally:
            await adapter.stop()


async def test_garbled_thread_keys_are_a_platform_error_not_a_value_error() -> None:
    async with discord_world() as world:
        adapter = make_adapter(world.emu)
        await adapter.start(sink=EventRecorder())
        try:
            for garbled in ("discord:x:dm:2", "slack:T:U:C:", ""):
                with pytest.raises(PlatformError, match="Discord thread key") as caught:
                    await adapter.post(thread=garbled, text="hello")
                assert not isinstance(caught.value, ValueError)
                with pytest.raises(PlatformError, match="Discord thread key"):
                    await adapter.edit(thread=garbled, message_id="1", text="hello")
                with pytest.raises(PlatformError, match="Discord thread key"):
                    await adapter.delete(thread=garbled, message_id="1")
            assert world.texts(world.general.id) == []
        finally:
            await adapter.stop()
