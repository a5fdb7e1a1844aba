"""People and channel look-ups through slack-sdk against the emulator: one call per key at once."""

from __future__ import annotations

import asyncio

import aiohttp

from knowrithm_bots.adapters.slack.config import SlackConfig
from knowrithm_bots.adapters.slack.people import Directory
from knowrithm_bots.adapters.slack.sdk import sdk_logger, web_client
from tests.adapters.slack.helpers import slack_config
from tests.emulators.slack_api import SlackEmulator, ids


async def test_lookups_of_one_key_at_once_make_one_call(emu: SlackEmulator) -> None:
    emu.add_channel(channel_id="C0DIRECTORY", name="launch")
    emu.add_user(user_id=ids.USER_ID, real_name="Some One")
    config = SlackConfig.load(slack_config(emu, mode="socket"), prefix="adapters.slack")
    async with aiohttp.ClientSession() as session:
        client = web_client(config=config, session=session, logger=sdk_logger())
        directory = Directory(client=client)
        # Fifty mentions in a channel the bot has not seen, all at once.
        names = await asyncio.gather(*(directory.channel_name("C0DIRECTORY") for _ in range(50)))
        people = await asyncio.gather(*(directory.person(ids.USER_ID) for _ in range(50)))
        assert names == ["launch"] * 50
        assert {p.real_name if p else None for p in people} == {"Some One"}
        assert len(emu.calls_to("conversations.info")) == 1
        assert len(emu.calls_to("users.info")) == 1
        # Later asks are answered from the cache.
        assert await directory.channel_name("C0DIRECTORY") == "launch"
        assert len(emu.calls_to("conversations.info")) == 1


async def test_a_waiter_cancelled_leaves_the_lookup_to_the_others(emu: SlackEmulator) -> None:
    emu.add_channel(channel_id="C0DIRECTORY", name="launch")
    config = SlackConfig.load(slack_config(emu, mode="socket"), prefix="adapters.slack")
    async with aiohttp.ClientSession() as session:
        client = web_client(config=config, session=session, logger=sdk_logger())
        directory = Directory(client=client)
        first = asyncio.create_task(directory.channel_name("C0DIRECTORY"))
        second = asyncio.create_task(directory.channel_name("C0DIRECTORY"))
        await asyncio.sleep(0)
        first.cancel()
        assert await second == "launch"
        assert len(emu.calls_to("conversations.info")) == 1
