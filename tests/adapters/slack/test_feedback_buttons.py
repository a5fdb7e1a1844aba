"""Rating buttons under answers: Block Kit buttons whose clicks rate the Knowrithm message."""

from __future__ import annotations

from typing import Any

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.adapters.slack.helpers import slack_bot
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.support import eventually, stored_replies

pytestmark = pytest.mark.knowrithm_modes

MENTION = f"<@{ids.BOT_USER_ID}>"
ACTIONS = {
    "type": "actions",
    "block_id": "knowrithm_feedback",
    "elements": [
        {
            "type": "button",
            "action_id": "knowrithm_rate_up",
            "text": {"type": "plain_text", "text": "👍", "emoji": True},
            "value": "up",
        },
        {
            "type": "button",
            "action_id": "knowrithm_rate_down",
            "text": {"type": "plain_text", "text": "👎", "emoji": True},
            "value": "down",
        },
    ],
}


async def test_a_click_rates_the_answer_and_only_the_clicker_is_told(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    async with slack_bot(emu, server, mode=mode) as bot:
        mention = events.app_mention(text=f"{MENTION} first question")
        await bot.send(mention)
        await bot.settle()
        [answer] = emu.bot_messages(ids.CHANNEL_ID)
        [reply] = stored_replies(server)
        if answer.is_stream:
            # The streamed Markdown stays shown, in a markdown block above the buttons.
            assert answer.blocks == [{"type": "markdown", "text": reply.content}, ACTIONS]
            assert answer.text == reply.content
        else:  # a Knowrithm that does not stream: the answer was posted whole
            shown = {"type": "mrkdwn", "text": answer.text}
            assert answer.blocks == [{"type": "section", "text": shown}, ACTIONS]
        url = bot.adapter.events_url if mode == "http" else None
        await emu.click(
            channel=ids.CHANNEL_ID, ts=answer.ts, action_id="knowrithm_rate_down", url=url
        )
        await eventually(lambda: len(emu.ephemerals) == 1, what="the note to the clicker")
        await bot.settle()
        assert [(r.message_id, r.rating) for r in server.state.ratings] == [(reply.id, 1)]
        [note] = emu.ephemerals
        assert (note.channel, note.user, note.text, note.thread_ts) == (
            ids.CHANNEL_ID,
            ids.USER_ID,
            "Thanks, rated 👎",
            mention["ts"],
        )
        # Nothing was posted again.
        assert [m.ts for m in emu.bot_messages(ids.CHANNEL_ID)] == [answer.ts]
        # Another person's 👍: Knowrithm keeps the latest rating.
        emu.add_user(user_id="U0USER0002", real_name="Bob Example")
        await emu.click(channel=ids.CHANNEL_ID, ts=answer.ts, user="U0USER0002", text="👍", url=url)
        await eventually(lambda: len(server.state.ratings) == 2, what="the second rating")
        await bot.settle()
    assert server.state.find_message(message_id=reply.id).rating == 5  # type: ignore[union-attr]
    assert [n.user for n in emu.ephemerals] == [ids.USER_ID, "U0USER0002"]


async def test_a_posted_answer_keeps_its_mrkdwn_in_sections_above_the_buttons(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    emu.streaming_enabled = False
    async with slack_bot(emu, server, mode="socket") as bot:
        await bot.send(events.app_mention(text=f"{MENTION} *bold* question"))
        await bot.settle()
        [answer] = emu.bot_messages(ids.CHANNEL_ID)
        assert not answer.is_stream
        blocks: list[dict[str, Any]] = answer.blocks or []
        assert blocks[-1] == ACTIONS
        assert [b["type"] for b in blocks[:-1]] == ["section"]
        assert blocks[0]["text"] == {"type": "mrkdwn", "text": answer.text}
        # chat.update kept the words: only the blocks changed.
        assert answer.texts[-2:] == [answer.text, answer.text]
        await emu.click(channel=ids.CHANNEL_ID, ts=answer.ts, text="👍")
        await eventually(lambda: len(server.state.ratings) == 1, what="the rating")
    assert server.state.ratings[0].rating == 5


async def test_buttons_can_be_turned_off(emu: SlackEmulator, server: LocalKnowrithm) -> None:
    async with slack_bot(emu, server, mode="socket", feedback_buttons=False) as bot:
        await bot.send(events.app_mention(text=f"{MENTION} hello"))
        await bot.settle()
        [answer] = emu.bot_messages(ids.CHANNEL_ID)
    assert answer.blocks is None
    assert emu.calls_to("chat.update") == []
    with pytest.raises(LookupError):
        await emu.click(channel=ids.CHANNEL_ID, ts=answer.ts)
