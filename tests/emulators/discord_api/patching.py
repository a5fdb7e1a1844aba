"""Point discord.py at a DiscordEmulator (REST base and gateway URL) and restore it after."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest_asyncio

from .emulator import DiscordEmulator


@contextlib.contextmanager
def patched_discord_py(emulator: DiscordEmulator) -> Iterator[None]:
    """Set `Route.BASE` and `DEFAULT_GATEWAY` to the emulator for the duration of the block."""
    import discord.gateway
    import discord.http

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = emulator.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = emulator.gateway_url
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@pytest_asyncio.fixture
async def discord_emulator() -> AsyncIterator[DiscordEmulator]:
    """A running emulator with discord.py patched to use it (import this name into a test)."""
    async with DiscordEmulator() as emulator:
        with patched_discord_py(emulator):
            yield emulator
