"""Malformed gateway events are logged once and skipped; the connection and the bot go on.

Every class in the emulator's catalogue goes through the real discord.py: the dispatch is
sent raw on the gateway, then Alice writes a DM that must be answered, on the same
connection (no new IDENTIFY, no RESUME).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import ClassVar

import pytest

from knowrithm_bots.adapters.discord import DiscordAdapter, DiscordConfig
from knowrithm_bots.adapters.discord.adapter import MAX_CRASHES
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.adapter import Limits
from knowrithm_bots.core.errors import PlatformError
from tests.emulators.discord_api import (
    MALFORMED_DISPATCHES,
    POISON_MARKER,
    Places,
    malformed_dispatch,
)
from tests.harness import ONE_ANSWER_EACH, running_bot
from tests.support import eventually

from .helpers import adapter_config, discord_world


class QuickDiscordAdapter(DiscordAdapter):
    """The real adapter at ten times its pace, so one DM can take answer after answer."""

    limits: ClassVar[Limits] = dataclasses.replace(
        DiscordAdapter.limits,
        budgets=tuple(
            dataclasses.replace(b, rate=b.rate * 10, burst=b.burst * 10)
            for b in DiscordAdapter.limits.budgets
        ),
    )


def _skipped(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "skipped" in r.getMessage()]


async def test_every_malformed_dispatch_is_skipped_and_the_next_message_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    agent = ScriptedAgent(lambda question, history: f"answer to {question}")
    async with discord_world() as world, LocalKnowrithm(agent=agent, word_delay=0.0) as server:
        emu = world.emu
        dm = emu.add_dm_channel(user_id=world.alice.id)
        thread = emu.add_thread(channel_id=world.general.id, name="a thread")
        places = Places(
            dm_channel_id=dm.id,
            guild_channel_id=world.general.id,
            thread_id=thread.id,
            user_id=world.alice.id,
            bot_id=world.bot_id,
        )
        config = DiscordConfig.model_validate(adapter_config(emu))
        adapter = QuickDiscordAdapter(config=config, identify_delay=0.0)
        async with running_bot({"discord": adapter}, server=server, config=ONE_ANSWER_EACH):
            for index, entry in enumerate(MALFORMED_DISPATCHES):
                before = len(_skipped(caplog))
                broken = malformed_dispatch(emu, entry, places=places)
                await emu.dispatch_raw(event=entry.event, data=broken)
                await emu.dispatch_message(
                    channel_id=dm.id, author_id=world.alice.id, content=f"question {index}"
                )
                await eventually(
                    lambda index=index: f"answer to question {index}" in world.texts(dm.id),
                    what=f"the answer after '{entry.name}'",
                )
                warned = [r.getMessage() for r in _skipped(caplog)[before:]]
                # Some breakages touch fields nothing reads: those pass without a word.
                assert len(warned) <= 1, (entry.name, warned)
                assert all(f"Discord {entry.event} event" in w for w in warned), (entry, warned)
            assert emu.identify_count == 1
            assert emu.resume_count == 0
    answers = [t for t in world.texts(dm.id) if t.startswith("answer to question")]
    assert answers == [f"answer to question {i}" for i in range(len(MALFORMED_DISPATCHES))]
    assert POISON_MARKER not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # Most classes are ones discord.py itself cannot read (the rest it reads, or ignores).
    assert len(_skipped(caplog)) >= len(MALFORMED_DISPATCHES) // 2


async def test_a_frame_discord_py_fails_on_costs_a_new_connection_not_the_bot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    agent = ScriptedAgent(lambda question, history: f"answer to {question}")
    async with discord_world() as world, LocalKnowrithm(agent=agent, word_delay=0.0) as server:
        emu = world.emu
        dm = emu.add_dm_channel(user_id=world.alice.id)
        config = DiscordConfig.model_validate(adapter_config(emu))
        adapter = QuickDiscordAdapter(config=config, identify_delay=0.0)
        async with running_bot({"discord": adapter}, server=server) as bot:
            # Not even JSON: discord.py fails before any parser could be asked.
            assert await emu.send_raw_frame(f"{POISON_MARKER} is not JSON")
            await eventually(lambda: emu.identify_count == 2, what="a new connection")
            await emu.wait_until_connected()
            await emu.dispatch_message(channel_id=dm.id, author_id=world.alice.id, content="hi")
            await eventually(lambda: "answer to hi" in world.texts(dm.id))
            assert bot.runner.failed_adapters == {}
    (warned,) = [
        r.getMessage() for r in caplog.records if "connecting to Discord again" in r.getMessage()
    ]
    assert "discord.py failed on what Discord's gateway sent (JSONDecodeError)" in warned
    assert POISON_MARKER not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_gateway_connection_that_keeps_failing_ends_the_adapter_for_good() -> None:
    async with discord_world() as world, LocalKnowrithm() as server:
        emu = world.emu
        config = DiscordConfig.model_validate(adapter_config(emu))
        adapter = QuickDiscordAdapter(config=config, identify_delay=0.0)

        async def fail_four_times() -> None:
            async with running_bot({"discord": adapter}, server=server) as bot:
                for attempt in range(1, MAX_CRASHES + 2):
                    await emu.wait_until_connected()
                    assert await emu.send_raw_frame("[]")
                    if attempt <= MAX_CRASHES:
                        await eventually(lambda attempt=attempt: emu.identify_count == attempt + 1)
                await eventually(lambda: "discord" in bot.runner.failed_adapters)

        with pytest.raises(PlatformError, match=f"failed {MAX_CRASHES + 1} times within 5 minutes"):
            await fail_four_times()
