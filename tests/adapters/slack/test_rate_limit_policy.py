"""Which 429s slack-sdk retries by itself and which reach the reply engine."""

from __future__ import annotations

import email.utils
import time

import aiohttp
import pytest

from knowrithm_bots.adapters.slack.config import SlackConfig
from knowrithm_bots.adapters.slack.errors import DEFAULT_RETRY_AFTER, translated
from knowrithm_bots.adapters.slack.sdk import sdk_logger, web_client
from knowrithm_bots.core.errors import PlatformRateLimited
from knowrithm_bots.core.retry_after import MAX_RETRY_AFTER
from tests.adapters.slack.helpers import slack_config
from tests.emulators.slack_api import SlackEmulator, ids


async def test_engine_calls_raise_429s_and_other_calls_are_retried(emu: SlackEmulator) -> None:
    config = SlackConfig.load(slack_config(emu, mode="socket"), prefix="adapters.slack")
    async with aiohttp.ClientSession() as session:
        client = web_client(config=config, session=session, logger=sdk_logger())
        emu.fail_next("users.info", "ratelimited", status=429, retry_after=0)
        emu.add_user(user_id=ids.USER_ID, real_name="Some One")
        person = await client.users_info(user=ids.USER_ID)
        assert person["user"]["real_name"] == "Some One"
        assert [c.status for c in emu.calls_to("users.info")] == [429, 200]

        emu.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=2)
        with pytest.raises(PlatformRateLimited) as limited, translated(action="chat.postMessage"):
            await client.chat_postMessage(channel=ids.CHANNEL_ID, text="hello")
        assert limited.value.retry_after == 2
        assert [c.status for c in emu.calls_to("chat.postMessage")] == [429]

        posted = await client.chat_postMessage(channel=ids.CHANNEL_ID, text="hello")
        emu.fail_next("chat.update", "ratelimited", status=429, retry_after=3)
        with pytest.raises(PlatformRateLimited) as limited, translated(action="chat.update"):
            await client.chat_update(channel=ids.CHANNEL_ID, ts=posted["ts"], text="edited")
        assert limited.value.retry_after == 3
        assert [c.status for c in emu.calls_to("chat.update")] == [429]

        emu.fail_next("chat.appendStream", "ratelimited", status=429, retry_after=1)
        with pytest.raises(PlatformRateLimited), translated(action="chat.appendStream"):
            await client.chat_appendStream(channel=ids.CHANNEL_ID, ts="1.1", markdown_text="x")
        assert len(emu.calls_to("chat.appendStream")) == 1


@pytest.mark.parametrize(
    ("header", "wait"),
    [("inf", DEFAULT_RETRY_AFTER), ("nan", DEFAULT_RETRY_AFTER), ("1e308", MAX_RETRY_AFTER)],
)
async def test_an_absurd_retry_after_never_pauses_for_ever(
    emu: SlackEmulator, header: str, wait: float
) -> None:
    config = SlackConfig.load(slack_config(emu, mode="socket"), prefix="adapters.slack")
    async with aiohttp.ClientSession() as session:
        client = web_client(config=config, session=session, logger=sdk_logger())
        emu.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=header)
        with pytest.raises(PlatformRateLimited) as limited, translated(action="chat.postMessage"):
            await client.chat_postMessage(channel=ids.CHANNEL_ID, text="hello")
    assert limited.value.retry_after == wait
    assert [c.response.get("error") for c in emu.calls_to("chat.postMessage")] == ["ratelimited"]


async def test_an_http_date_retry_after_is_read_as_the_time_until_then(emu: SlackEmulator) -> None:
    config = SlackConfig.load(slack_config(emu, mode="socket"), prefix="adapters.slack")
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    async with aiohttp.ClientSession() as session:
        client = web_client(config=config, session=session, logger=sdk_logger())
        emu.fail_next("chat.update", "ratelimited", status=429, retry_after=when)
        with pytest.raises(PlatformRateLimited) as limited, translated(action="chat.update"):
            await client.chat_update(channel=ids.CHANNEL_ID, ts="1.1", text="edited")
    assert limited.value.retry_after == pytest.approx(120, abs=3)
