"""An adapter that dies for good ends a Discord-only process with a non-zero status, in one
sentence, so that a supervisor restarts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.adapters.discord.helpers import discord_world
from tests.faults.configs import write_config
from tests.faults.figures import Figures, record
from tests.faults.process import bot_process

pytestmark = pytest.mark.faults

EXITS_WITHIN = 15.0


async def test_a_gateway_that_refuses_the_token_ends_the_process_non_zero(
    tmp_path: Path,
) -> None:
    figures = Figures(fault="Discord gateway refuses the token mid-run", order=50)
    async with discord_world() as world, LocalKnowrithm() as server:
        emu = world.emu
        config = write_config(
            tmp_path,
            server=server,
            adapters={
                "discord": {
                    "token": emu.token,
                    "api_base_url": emu.api_base,
                    "gateway_url": str(emu.gateway_url),
                    "guild_ready_timeout": 0.05,
                }
            },
        )
        async with bot_process(config=config, adapters=["discord"], folder=tmp_path) as bot:
            await bot.start(ready=lambda: "connected to Discord as bot" in bot.log())
            await emu.wait_until_connected(timeout_s=10)
            # Discord closes the gateway with 4004 when the token is revoked.
            assert await emu.drop_gateway(code=4004)
            status = await bot.exit_status(within=EXITS_WITHIN)
            log = bot.log()
    figures.trials = 1
    figures.sentences = int("stopped for good" in log)
    record(figures)
    assert status == 2, log[-3000:]  # not 0: a supervisor restarts it
    assert "the discord adapter stopped for good: Discord refused the bot token" in log
    assert "Traceback" not in log
    assert emu.token not in log
