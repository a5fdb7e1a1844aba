"""`knowrithm-bots run discord --config FILE` as a user runs it, against the emulator."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from knowrithm_bots.core.commands import HELP_TEXT
from tests.emulators.discord_api import DiscordEmulator
from tests.support import env_without_proxies, eventually

from .helpers import discord_world

BIN = Path(sys.executable).parent


def _bot_config(folder: Path, emu: DiscordEmulator) -> tuple[Path, dict[str, str]]:
    """A config file running the Discord adapter against ``emu``, and the environment
    that carries its token."""
    config = folder / "bot.yaml"
    config.write_text(
        "knowrithm: {base_url: local}\n"
        "store: {backend: memory}\n"
        "adapters:\n"
        "  discord:\n"
        "    token: ${DISCORD_BOT_TOKEN}\n"
        f"    api_base_url: {emu.api_base}\n"
        f"    gateway_url: {emu.gateway_url}\n"
        "    guild_ready_timeout: 0.05\n"
    )
    return config, {**env_without_proxies(), "DISCORD_BOT_TOKEN": emu.token}


async def test_the_command_runs_the_discord_bot_from_a_config_file(tmp_path: Path) -> None:
    async with discord_world() as world:
        emu = world.emu
        config, env = _bot_config(tmp_path, emu)
        process = await asyncio.create_subprocess_exec(
            str(BIN / "knowrithm-bots"),
            "--log-level",
            "DEBUG",
            "run",
            "discord",
            "--config",
            str(config),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await emu.wait_until_connected(timeout_s=15.0)
            dm = emu.add_dm_channel(user_id=world.alice.id)
            await emu.dispatch_message(channel_id=dm.id, author_id=world.alice.id, content="/help")
            await eventually(lambda: world.texts(dm.id) == [HELP_TEXT], what="the help answer")
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=15.0)
        assert process.returncode == 130, stderr.decode()[-2000:]  # stopped by Ctrl-C
        # Even at DEBUG level, the token never reaches the log.
        assert emu.token not in stderr.decode()
        assert "connected to Discord" in stderr.decode()


async def test_the_process_exits_non_zero_when_discord_refuses_the_bot_mid_run(
    tmp_path: Path,
) -> None:
    async with discord_world() as world:
        emu = world.emu
        config, env = _bot_config(tmp_path, emu)
        process = await asyncio.create_subprocess_exec(
            str(BIN / "knowrithm-bots"),
            "run",
            "discord",
            "--config",
            str(config),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stderr is not None
            started = b""
            while b"connected to Discord as bot" not in started:
                line = await asyncio.wait_for(process.stderr.readline(), timeout=15.0)
                assert line, started.decode()
                started += line
            # Discord closes the gateway with 4004 when the token is revoked.
            assert await emu.drop_gateway(code=4004)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=15.0)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = (started + stderr).decode()
    assert process.returncode == 2, log[-2000:]  # a supervisor restarts it
    assert "the discord adapter stopped for good: Discord refused the bot token" in log
    assert "Traceback" not in log
    assert emu.token not in log
