"""An adapter whose platform ends it for good is reported; the other adapters keep serving.

Policy (README, "What happens when things break"): the runner logs the dead adapter at
ERROR and lists it in ``BotRunner.failed_adapters`` (for health checks) while the others
go on; when the run ends, ``run`` raises ``PlatformError`` so the process exits non-zero
and a supervisor restarts it. tests/adapters/discord/test_cli.py runs the whole process.
"""

from __future__ import annotations

import logging

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.errors import PlatformError
from tests.adapters.discord.helpers import discord_world, make_adapter
from tests.adapters.telegram.support import adapter_for
from tests.emulators.telegram_api import ALICE, FloodLimits, TelegramEmulator
from tests.harness import running_bot
from tests.support import eventually


def _echo() -> ScriptedAgent:
    return ScriptedAgent(lambda question, history: f"answer to {question}")


async def test_a_dead_discord_adapter_is_reported_while_telegram_keeps_answering(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="knowrithm_bots.bots.runner")
    alice = int(ALICE["id"])
    async with (
        discord_world() as world,
        TelegramEmulator(flood=FloodLimits.off()) as tg,
        LocalKnowrithm(agent=_echo(), word_delay=0.0) as server,
    ):
        adapters = {"discord": make_adapter(world.emu), "telegram": adapter_for(tg)}

        async def discord_dies_while_telegram_answers() -> None:
            async with running_bot(adapters, server=server) as bot:
                assert bot.runner.failed_adapters == {}
                # Discord closes the gateway with 4004 when the token is revoked.
                assert await world.emu.drop_gateway(code=4004)
                await eventually(lambda: "discord" in bot.runner.failed_adapters)
                tg.push_update(tg.build.private_text(text="still there?"))
                await eventually(lambda: "answer to still there?" in tg.visible_text(alice))
                assert list(bot.runner.failed_adapters) == ["discord"]
                assert "Discord refused the bot token" in bot.runner.failed_adapters["discord"]

        # When the run ends (here: the test stops it), it raises, so the process exits non-zero.
        with pytest.raises(PlatformError, match="the discord adapter stopped for good"):
            await discord_dies_while_telegram_answers()
    (logged,) = [r for r in caplog.records if "stopped for good" in r.getMessage()]
    assert logged.levelno == logging.ERROR


async def test_telegram_refusing_the_token_mid_run_ends_the_adapter_for_good() -> None:
    async with (
        TelegramEmulator(flood=FloodLimits.off()) as tg,
        LocalKnowrithm(agent=_echo(), word_delay=0.0) as server,
    ):

        async def the_token_is_revoked() -> None:
            async with running_bot({"telegram": adapter_for(tg)}, server=server) as bot:
                tg.fail_next(method="getUpdates", error_code=401, description="Unauthorized")
                # The run ends by itself: the harness waits for it and raises its error.
                await eventually(lambda: "telegram" in bot.runner.failed_adapters)

        with pytest.raises(PlatformError, match="Telegram rejected the bot token while polling"):
            await the_token_is_revoked()
