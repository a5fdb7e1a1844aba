"""The Stop button on an answer being written, and 👎 "Tell us why", through slack-bolt."""

from __future__ import annotations

from typing import Any

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.bridge import STOP_MARK
from tests.adapters.slack.helpers import slack_bot
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.support import eventually, stored_replies

MENTION = f"<@{ids.BOT_USER_ID}>"


def action_ids(blocks: list[dict[str, Any]] | None) -> list[str]:
    return [
        str(element.get("action_id"))
        for block in blocks or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


async def test_stop_ends_an_answer_at_once_and_the_next_is_answered(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    # Posted and edited (a chat stream carries no button while it streams).
    emu.add_user(user_id=ids.USER_ID, real_name="Grace Hopper")
    async with slack_bot(emu, server, mode=mode, native_streaming=False) as bot:
        server.faults.hold_replies(after_words=4)
        mention = events.app_mention(text=f"{MENTION} tell me a story")
        await bot.send(mention)
        await eventually(
            lambda: (
                [action_ids(m.blocks) for m in emu.bot_messages(ids.CHANNEL_ID)]
                == [["knowrithm_stop"]]
            ),
            what="the Stop button on the answer being written",
        )
        [streaming] = emu.bot_messages(ids.CHANNEL_ID)
        # The button came with the post itself: no call of its own.
        assert [c.method for c in emu.calls if c.method == "chat.update"] == []
        url = bot.adapter.events_url if mode == "http" else None
        await emu.click(
            channel=ids.CHANNEL_ID, ts=streaming.ts, action_id="knowrithm_stop", url=url
        )
        await eventually(lambda: len(emu.ephemerals) == 1, what="the note to the clicker")
        await bot.settle()
        [note] = emu.ephemerals
        assert (note.user, note.text, note.thread_ts) == (ids.USER_ID, "Stopped.", mention["ts"])
        [stopped] = emu.bot_messages(ids.CHANNEL_ID)
        assert stopped.text.endswith(STOP_MARK.format(name="Grace Hopper"))
        # The final update took the blocks (and the button) away: no rating buttons either.
        assert not stopped.blocks
        server.faults.release_replies()
        await bot.send(events.thread_reply(text="and then?", thread_ts=mention["ts"]))
        await eventually(lambda: len(emu.bot_messages(ids.CHANNEL_ID)) == 2, what="the answer")
        await bot.settle()
        messages = {m.ts: m for m in emu.bot_messages(ids.CHANNEL_ID)}
        first = messages.pop(stopped.ts)
        [second] = messages.values()
        assert first.text == stopped.text
        assert "and then?" in second.text
        assert action_ids(second.blocks) == ["knowrithm_rate_up", "knowrithm_rate_down"]
        # A click that raced the end of the answer stops nothing, and says so.
        first.blocks = [
            {
                "type": "actions",
                "block_id": "knowrithm_controls",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "knowrithm_stop",
                        "text": {"type": "plain_text", "text": "⏹ Stop"},
                    }
                ],
            }
        ]
        await emu.click(channel=ids.CHANNEL_ID, ts=first.ts, action_id="knowrithm_stop", url=url)
        await eventually(lambda: len(emu.ephemerals) == 2, what="the second note")
    assert emu.ephemerals[-1].text == "Nothing to stop: that answer has ended."
    assert [text for _, text in server.state.chat_requests][1:] == ["and then?"]


async def test_a_thumbs_down_opens_a_modal_whose_reason_becomes_the_feedback(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    async with slack_bot(emu, server, mode=mode) as bot:
        mention = events.app_mention(text=f"{MENTION} question")
        await bot.send(mention)
        await bot.settle()
        [answer] = emu.bot_messages(ids.CHANNEL_ID)
        url = bot.adapter.events_url if mode == "http" else None
        await emu.click(
            channel=ids.CHANNEL_ID, ts=answer.ts, action_id="knowrithm_rate_down", url=url
        )
        await eventually(lambda: len(emu.views.opened) == 1, what="the modal")
        [opened] = emu.views.opened
        assert opened.user == ids.USER_ID
        assert opened.view["title"]["text"] == "Tell us why"
        await emu.submit_view(opened, values={"reason": "It ignored my question"}, url=url)
        await eventually(lambda: len(server.state.ratings) == 2, what="the rating with a reason")
        await eventually(lambda: len(emu.ephemerals) == 2, what="the thanks")
        await bot.settle()
        [reply] = stored_replies(server)
    assert [(r.message_id, r.rating, r.feedback) for r in server.state.ratings] == [
        (reply.id, 1, None),
        (reply.id, 1, "It ignored my question"),
    ]
    assert [n.text for n in emu.ephemerals] == ["Thanks, rated 👎", "Thanks for telling us why."]
    assert [text for _, text in server.state.chat_requests] == ["question"]
    assert len(emu.bot_messages(ids.CHANNEL_ID)) == 1
