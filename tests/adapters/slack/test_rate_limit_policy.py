"""Which 429s slack-sdk retries by itself and which reach the reply engine."""

from __future__ import annotations

import aiohttp
import pytest

from adapters.slack.config import load_config
from adapters.slack.errors import guarded
from adapters.slack.sdk import sdk_logger, web_client
from core.errors import PlatformRateLimited
from tests.adapters.slack.helpers import slack_config
from tests.emulators.slack_api import SlackEmulator, ids


async def test_engine_calls_raise_429s_and_other_calls_are_retried(emu: SlackEmulator) -> None:
    config = load_config(slack_config(emu, mode="socket"))
    async with aiohttp.ClientSession() as session:
        client = web_client(config=config, session=session, logger=sdk_logger())
        emu.fail_next("users.info", "ratelimited", status=429, retry_after=0)
        emu.add_user(user_id=ids.USER_ID, real_name="Some One")
        person = await client.users_info(user=ids.USER_ID)
        assert person["user"]["real_name"] == "Some One"
        assert [c.status for c in emu.calls_to("users.info")] == [429, 200]

        emu.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=2)
        with pytest.raises(PlatformRateLimited) as limited:
            await guarded(
                client.chat_postMessage(channel=ids.CHANNEL_ID, text="hello"),
                method="chat.postMessage",
            )
        assert limited.value.retry_after == 2
        assert [c.status for c in emu.calls_to("chat.postMessage")] == [429]

        posted = await client.chat_postMessage(channel=ids.CHANNEL_ID, text="hello")
        emu.fail_next("chat.update", "ratelimited", status=429, retry_after=3)
        with pytest.raises(PlatformRateLimited) as limited:
            await guarded(
                client.chat_update(channel=ids.CHANNEL_ID, ts=posted["ts"], text="edited"),
                method="chat.update",
            )
        assert limited.value.retry_after == 3
        assert [c.status for c in emu.calls_to("chat.update")] == [429]

        emu.fail_next("chat.appendStream", "ratelimited", status=429, retry_after=1)
        with pytest.raises(PlatformRateLimited):
            await guarded(
                client.chat_appendStream(channel=ids.CHANNEL_ID, ts="1.1", markdown_text="x"),
                method="chat.appendStream",
            )
        assert len(emu.calls_to("chat.appendStream")) == 1
