"""What the bridge asks the Slack adapter to post: notices through the sink, and reply_to."""

from __future__ import annotations

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.adapters.slack.threads import MessageRef, ThreadKey
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.markup import to_slack_mrkdwn
from tests.adapters.slack.helpers import slack_bot, slack_config
from tests.emulators.slack_api import SlackEmulator, ids
from tests.support import NullSink

pytestmark = pytest.mark.knowrithm_modes

ROOT = "1700000000.000100"
NOTICE = "Please **mention** me to start, or write to me directly."


def channel_thread(thread_ts: str | None = ROOT) -> ThreadKey:
    return ThreadKey(
        team=ids.TEAM_ID, bot=ids.BOT_USER_ID, channel=ids.CHANNEL_ID, thread_ts=thread_ts
    )


async def test_a_notice_goes_through_the_bridge_and_waits_out_a_429(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    emu.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=1)
    asked = MessageRef(team=ids.TEAM_ID, channel=ids.CHANNEL_ID, ts=ROOT).encode()
    async with slack_bot(emu, server, mode="http") as bot:
        await bot.bot.runner.bridge.on_notice(
            thread=channel_thread().encode(), text=NOTICE, reply_to=asked
        )
        await bot.settle()

    (notice,) = emu.bot_messages(ids.CHANNEL_ID)
    assert (notice.thread_ts, notice.text) == (ROOT, to_slack_mrkdwn(NOTICE))
    limited, posted = emu.calls_to("chat.postMessage")
    assert (limited.status, posted.status) == (429, 200)
    # Waited out as Slack asked (Retry-After: 1), not retried at once.
    assert posted.time - limited.time >= 0.9
    assert not server.state.chat_requests


async def test_reply_to_is_ignored_as_slack_answers_in_the_thread_already(
    emu: SlackEmulator,
) -> None:
    adapter = SlackAdapter.from_config(config=slack_config(emu, mode="http"))
    asked = MessageRef(team=ids.TEAM_ID, channel=ids.CHANNEL_ID, ts="1700000000.000300")
    await adapter.start(sink=NullSink())
    try:
        thread = channel_thread().encode()
        await adapter.post(thread=thread, text="answer", reply_to=asked.encode())
        await adapter.post(thread=thread, text="answer")
        # Not even a reply_to that names no Slack message stops the post.
        await adapter.post(thread=thread, text="answer", reply_to="not a message id")
        whole_dm = ThreadKey(
            team=ids.TEAM_ID, bot=ids.BOT_USER_ID, channel=ids.IM_CHANNEL_ID, thread_ts=None
        )
        await adapter.post(thread=whole_dm.encode(), text="top level", reply_to=asked.encode())
    finally:
        await adapter.stop()

    with_reply_to, without, garbled, in_dm = (c.params for c in emu.calls_to("chat.postMessage"))
    assert with_reply_to == without == garbled
    assert with_reply_to["thread_ts"] == ROOT
    assert "reply_broadcast" not in with_reply_to
    assert "thread_ts" not in in_dm
    assert [m.thread_ts for m in emu.bot_messages(ids.IM_CHANNEL_ID)] == [None]
