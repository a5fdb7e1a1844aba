"""The Stop button on a streaming answer, and the 👎 "Tell us why" modal, through discord.py."""

from __future__ import annotations

import asyncio

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.bridge import STOP_MARK
from tests.emulators.discord_api.components import buttons_of
from tests.support import eventually, stored_replies

from .helpers import discord_bot, discord_world, settle

STOP = ("⏹", "knowrithm:stop")
RATINGS = [("👍", "knowrithm:rate:up"), ("👎", "knowrithm:rate:down")]


def shown_buttons(message: object) -> list[tuple[str, str]]:
    components = getattr(message, "components", [])
    return [(b["emoji"]["name"], b["custom_id"]) for b in buttons_of(components)]


async def test_stop_ends_a_streaming_answer_at_once_and_the_next_is_answered() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        server.faults.hold_replies(after_words=4)
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("story")
        )
        await eventually(
            lambda: [shown_buttons(m) for m in world.bot_messages(question.id)] == [[STOP]],
            what="the Stop button on the streaming answer",
        )
        [streaming] = world.bot_messages(question.id)
        click = await emu.click(
            channel_id=question.id,
            message_id=streaming.id,
            user_id=world.alice.id,
            custom_id="knowrithm:stop",
        )
        await eventually(lambda: click.response is not None, what="the acknowledgement")
        await bot.drain()
        assert click.ephemeral and click.content == "Stopped."
        [stopped] = world.bot_messages(question.id)
        assert stopped.content.endswith(STOP_MARK.format(name="Alice Liddell"))
        # The final edit took the button away; a stopped answer gets no rating buttons.
        assert buttons_of(stopped.components) == []
        server.faults.release_replies()
        await asyncio.sleep(0.3)  # time enough for Knowrithm's rest to arrive, were it shown
        assert [m.content for m in world.bot_messages(question.id)] == [stopped.content]
        await emu.dispatch_message(channel_id=question.id, author_id=world.alice.id, content="next")
        await settle(bot, world, chats=2)
        first, second = world.bot_messages(question.id)
        assert first.content == stopped.content
        assert '"next"' in second.content
        assert shown_buttons(second) == RATINGS
    assert [text for _, text in server.state.chat_requests] == ["story", "next"]


async def test_a_stop_click_after_the_answer_ended_stops_nothing() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        server.faults.hold_replies(after_words=4)
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("story")
        )
        await eventually(
            lambda: [shown_buttons(m) for m in world.bot_messages(question.id)] == [[STOP]],
            what="the Stop button",
        )
        [streaming] = world.bot_messages(question.id)
        # The click is on its way as the answer ends: the button is gone by the time it lands.
        server.faults.release_replies()
        await settle(bot, world, chats=1)
        streaming.components = [
            {
                "type": 1,
                "components": [
                    {
                        "type": 2,
                        "style": 4,
                        "custom_id": "knowrithm:stop",
                        "emoji": {"name": "⏹"},
                        "label": "Stop",
                    }
                ],
            }
        ]
        click = await emu.click(
            channel_id=question.id,
            message_id=streaming.id,
            user_id=world.alice.id,
            custom_id="knowrithm:stop",
        )
        await eventually(lambda: click.response is not None, what="the acknowledgement")
        await bot.drain()
        [answer] = world.bot_messages(question.id)
    assert click.ephemeral
    assert click.content == "Nothing to stop: that answer has ended."
    assert STOP_MARK.format(name="Alice Liddell") not in answer.content


async def test_a_thumbs_down_opens_a_modal_whose_reason_becomes_the_feedback() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("hi")
        )
        await settle(bot, world, chats=1)
        [reply] = world.bot_messages(question.id)
        click = await emu.click(
            channel_id=question.id, message_id=reply.id, user_id=world.alice.id, emoji="👎"
        )
        await eventually(lambda: click.response is not None, what="the modal")
        assert click.response is not None and click.response["type"] == 9
        submitted = await emu.submit_modal(
            opened_by=click, values={"reason": "It ignored my question"}
        )
        await eventually(lambda: submitted.response is not None, what="the acknowledgement")
        await eventually(lambda: len(server.state.ratings) == 2, what="the rating with a reason")
        await bot.drain()
        [answer] = stored_replies(server)
        texts = world.texts(question.id)
    assert [(r.message_id, r.rating, r.feedback) for r in server.state.ratings] == [
        (answer.id, 1, None),
        (answer.id, 1, "It ignored my question"),
    ]
    assert submitted.ephemeral and submitted.content == "Thanks for telling us why."
    # The reason went to Knowrithm as feedback, never to the agent, and nothing was posted.
    assert [text for _, text in server.state.chat_requests] == ["hi"]
    assert len(texts) == 1
