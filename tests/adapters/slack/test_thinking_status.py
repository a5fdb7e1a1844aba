"""The "is thinking…" status is set once per thread and again only before Slack's two-minute
timeout; after a 429 the workspace gets none until Retry-After has passed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.status import REFRESH_AFTER, ThinkingStatus
from knowrithm_bots.adapters.slack.threads import ThreadKey
from tests.emulators.slack_api import SlackEmulator, ids

FIRST = ThreadKey(ids.TEAM_ID, ids.BOT_USER_ID, ids.CHANNEL_ID, "1700000000.000100")
SECOND = ThreadKey(ids.TEAM_ID, ids.BOT_USER_ID, ids.CHANNEL_ID, "1700000000.000200")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client(emu: SlackEmulator) -> AsyncIterator[AsyncWebClient]:
    async with aiohttp.ClientSession() as session:
        yield AsyncWebClient(
            token=emu.identity.bot_token, base_url=emu.api_url, session=session, retry_handlers=[]
        )


def status_calls(emu: SlackEmulator) -> list[tuple[str, str]]:
    return [
        (call.params["thread_ts"], call.params["status"])
        for call in emu.calls_to("assistant.threads.setStatus")
    ]


async def test_the_status_is_set_once_and_refreshed_only_before_it_lapses(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    clock = Clock()
    status = ThinkingStatus(client=client, text="is thinking…", clock=clock)
    for _ in range(20):  # the engine asks every 4 s while an answer is coming
        await status.show(FIRST)
        clock.now += 4.0
    assert status_calls(emu) == [(FIRST.thread_ts, "is thinking…")]
    clock.now += REFRESH_AFTER
    await status.show(FIRST)
    assert len(status_calls(emu)) == 2
    status.forget(FIRST)  # the bot replied, which clears it on Slack
    await status.show(FIRST)  # the next question in the thread shows it again
    assert len(status_calls(emu)) == 3


async def test_after_a_429_the_workspace_waits_out_retry_after(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    clock = Clock()
    status = ThinkingStatus(client=client, text="is thinking…", clock=clock)
    emu.fail_next("assistant.threads.setStatus", "ratelimited", status=429, retry_after=30)
    await status.show(FIRST)  # refused, quietly
    clock.now += 10.0
    await status.show(FIRST)
    await status.show(SECOND)
    assert len(emu.calls_to("assistant.threads.setStatus")) == 1
    clock.now += 21.0
    await status.show(SECOND)
    await status.show(FIRST)
    assert status_calls(emu)[1:] == [
        (SECOND.thread_ts, "is thinking…"),
        (FIRST.thread_ts, "is thinking…"),
    ]
