"""Malformed input through the real bot process: every malformed Telegram update and Discord
gateway event is logged once (by its id, nothing of its payload) and stepped over, the next
message is answered, and the process does not spin; Slack HTTP mode answers 401 to every
unsigned or malformed request, with no traceback."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from tests.adapters.discord.helpers import discord_world
from tests.adapters.slack.test_signed_requests import BAD_REQUESTS
from tests.emulators.discord_api import MALFORMED_DISPATCHES, Places, malformed_dispatch
from tests.emulators.discord_api import POISON_MARKER as DISCORD_MARKER
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.emulators.telegram_api import (
    ALICE,
    MALFORMED_UPDATES,
    FloodLimits,
    TelegramEmulator,
    malformed_update,
)
from tests.emulators.telegram_api import POISON_MARKER as TELEGRAM_MARKER
from tests.faults.configs import write_config
from tests.faults.figures import Figures, record
from tests.faults.process import BotProcess, bot_process, until
from tests.support import free_port

pytestmark = pytest.mark.faults

ANSWER_WITHIN = 10.0
IDLE = 2.0
MAX_IDLE_CPU = 0.5  # seconds of CPU over IDLE seconds after the poison: no hot loop


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    agent = ScriptedAgent(lambda question, history: f"answer to {question}")
    async with LocalKnowrithm(agent=agent, word_delay=0.0) as local:
        yield local


def skipped(log: str) -> list[str]:
    return [line for line in log.splitlines() if " was skipped" in line]


async def idle_cpu(bot: BotProcess) -> float:
    """The CPU seconds the bot uses over IDLE seconds with nothing to do."""
    await asyncio.sleep(0.5)  # the poison itself may cost a little to read
    before = bot.cpu_seconds()
    await asyncio.sleep(IDLE)
    return bot.cpu_seconds() - before


async def test_every_malformed_telegram_update_is_skipped_and_the_next_message_answered(
    server: LocalKnowrithm, tmp_path: Path
) -> None:
    figures = Figures(fault="malformed Telegram updates (every class)", order=20)
    async with TelegramEmulator(flood=FloodLimits.off()) as emu:
        config = write_config(
            tmp_path,
            server=server,
            adapters={
                "telegram": {"token": emu.token, "api_base_url": emu.base_url, "poll_timeout": 1}
            },
        )
        async with bot_process(config=config, adapters=["telegram"], folder=tmp_path) as bot:
            await bot.start(ready=lambda: "is running (polling)" in bot.log())
            update_id = 50_000
            for index, entry in enumerate(MALFORMED_UPDATES):
                before = len(skipped(bot.log()))
                update_id += 1
                poison = malformed_update(emu.build, entry, update_id=update_id)
                emu.push_raw_update(poison)
                # A chat of its own per class: Telegram's one message a second per chat.
                user = {**ALICE, "id": 20_000 + index}
                update_id = emu.push_update(
                    emu.build.private_text(text=f"question {index}", user=user)
                )
                answered = await until(
                    lambda index=index, user=user: (
                        emu.visible_text(int(user["id"])) == [f"answer to question {index}"]
                    ),
                    within=ANSWER_WITHIN,
                )
                figures.trials += 1
                figures.delivered += answered
                assert answered, f"no answer after '{entry.name}':\n{bot.log()[-3000:]}"
                warned = skipped(bot.log())[before:]
                assert len(warned) == 1, (entry.name, warned)
                assert " WARNING " in warned[0], warned
                if isinstance(poison, dict) and type(poison.get("update_id")) is int:
                    assert f"update {update_id - 1} was skipped" in warned[0], (entry.name, warned)
            # Every class at once, then nothing: the process must sit still.
            for entry in MALFORMED_UPDATES:
                update_id += 1
                emu.push_raw_update(malformed_update(emu.build, entry, update_id=update_id))
            spent = await idle_cpu(bot)
            emu.push_update(emu.build.private_text(text="still there?"))
            assert await until(
                lambda: "answer to still there?" in emu.visible_text(int(ALICE["id"])),
                within=ANSWER_WITHIN,
            ), bot.log()[-3000:]
            log = bot.log()
    record(figures)
    assert spent < MAX_IDLE_CPU, f"{spent:.2f} s of CPU in {IDLE:g} s after the poison"
    assert TELEGRAM_MARKER not in log
    assert emu.token not in log and emu.token.split(":")[1] not in log
    assert "Traceback" not in log
    assert not [line for line in log.splitlines() if " ERROR " in line]


async def test_every_malformed_discord_event_is_skipped_and_the_next_message_answered(
    server: LocalKnowrithm, tmp_path: Path
) -> None:
    figures = Figures(fault="malformed Discord gateway events (every class)", order=21)
    async with discord_world() as world:
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
        dm = emu.add_dm_channel(user_id=world.alice.id)
        thread = emu.add_thread(channel_id=world.general.id, name="a thread")
        places = Places(
            dm_channel_id=dm.id,
            guild_channel_id=world.general.id,
            thread_id=thread.id,
            user_id=world.alice.id,
            bot_id=world.bot_id,
        )
        async with bot_process(config=config, adapters=["discord"], folder=tmp_path) as bot:
            await bot.start(ready=lambda: "connected to Discord as bot" in bot.log())
            await emu.wait_until_connected(timeout_s=10)
            for index, entry in enumerate(MALFORMED_DISPATCHES):
                before = len(skipped(bot.log()))
                await emu.dispatch_raw(
                    event=entry.event, data=malformed_dispatch(emu, entry, places=places)
                )
                # A DM of its own per class: Discord paces each channel at 5 messages in 5 s.
                person = emu.add_user(username=f"person{index}")
                own_dm = emu.add_dm_channel(user_id=person.id)
                await emu.dispatch_message(
                    channel_id=own_dm.id, author_id=person.id, content=f"question {index}"
                )
                answered = await until(
                    lambda dm_id=own_dm.id, index=index: (
                        [
                            m.content
                            for m in emu.messages_in(channel_id=dm_id)
                            if m.author_id == world.bot_id
                        ]
                        == [f"answer to question {index}"]
                    ),
                    within=ANSWER_WITHIN,
                )
                figures.trials += 1
                figures.delivered += answered
                assert answered, f"no answer after '{entry.name}':\n{bot.log()[-3000:]}"
                warned = skipped(bot.log())[before:]
                # Some breakages touch fields nothing reads: those pass without a word.
                assert len(warned) <= 1, (entry.name, warned)
                assert all(f"Discord {entry.event} event" in w for w in warned), (entry, warned)
                assert all(" WARNING " in w for w in warned), warned
            for entry in MALFORMED_DISPATCHES:
                await emu.dispatch_raw(
                    event=entry.event, data=malformed_dispatch(emu, entry, places=places)
                )
            spent = await idle_cpu(bot)
            await emu.dispatch_message(
                channel_id=dm.id, author_id=world.alice.id, content="still there?"
            )
            assert await until(
                lambda: any(
                    m.content == "answer to still there?" for m in emu.messages_in(channel_id=dm.id)
                ),
                within=ANSWER_WITHIN,
            ), bot.log()[-3000:]
            assert emu.identify_count == 1  # one connection throughout: nothing ended it
            log = bot.log()
    record(figures)
    assert spent < MAX_IDLE_CPU, f"{spent:.2f} s of CPU in {IDLE:g} s after the poison"
    assert DISCORD_MARKER not in log
    assert emu.token not in log
    assert "Traceback" not in log
    assert not [line for line in log.splitlines() if " ERROR " in line]


async def test_slack_http_mode_answers_401_to_unsigned_and_malformed_requests(
    server: LocalKnowrithm, tmp_path: Path
) -> None:
    figures = Figures(fault="unsigned or malformed Slack HTTP requests", order=22)
    port = free_port()
    async with SlackEmulator() as emu:
        adapter: dict[str, Any] = {
            "bot_token": emu.identity.bot_token,
            "signing_secret": emu.identity.signing_secret,
            "api_base_url": emu.api_url,
            "mode": "http",
            "host": "127.0.0.1",
            "port": port,
        }
        config = write_config(tmp_path, server=server, adapters={"slack": adapter})
        async with bot_process(config=config, adapters=["slack"], folder=tmp_path) as bot:
            await bot.start(ready=lambda: "serving Slack events on" in bot.log())
            (url,) = re.findall(r"serving Slack events on (\S+)", bot.log())
            statuses = {}
            for request in BAD_REQUESTS:
                statuses[request.name] = await emu.deliver_raw(
                    url=url,
                    body=request.body,
                    sign=request.sign,
                    timestamp=request.timestamp,
                    signature=request.signature,
                    content_type=request.content_type,
                )
            figures.trials = len(statuses)
            figures.delivered = sum(status == 401 for status in statuses.values())
            record(figures)
            assert statuses == {name: 401 for name in statuses}
            event = events.app_mention(text=f"<@{ids.BOT_USER_ID}> a real question")
            assert await emu.deliver_event(url=url, event=event) == 200
            answered: Callable[[], bool] = lambda: any(  # noqa: E731
                m.text.startswith("answer to a real question") for m in emu.bot_messages()
            )
            assert await until(answered, within=ANSWER_WITHIN), bot.log()[-3000:]
            log = bot.log()
    assert [text for _, text in server.state.chat_requests] == ["a real question"]
    assert "Traceback" not in log
    assert emu.identity.signing_secret not in log
    assert not [line for line in log.splitlines() if " ERROR " in line]
