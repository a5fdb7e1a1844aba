"""Rating buttons under answers: message components whose clicks rate the Knowrithm message."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from tests.emulators.discord_api.components import buttons_of
from tests.emulators.discord_api.interactions import EPHEMERAL
from tests.support import eventually, stored_replies

from .helpers import discord_bot, discord_world, settle

pytestmark = pytest.mark.knowrithm_modes


def two_part_answer(question: str, history: object) -> str:
    return " ".join(f"w{index:04d}" for index in range(500))  # 2,999 chars: two messages


async def test_a_click_rates_the_answer_and_only_the_clicker_is_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm(agent=ScriptedAgent(two_part_answer)) as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("hi")
        )
        await settle(bot, world, chats=1)
        head, tail = world.bot_messages(question.id)
        assert buttons_of(head.components) == []
        assert [(b["emoji"]["name"], b["custom_id"]) for b in buttons_of(tail.components)] == [
            ("👍", "knowrithm:rate:up"),
            ("👎", "knowrithm:rate:down"),
        ]
        shown = world.texts(question.id)
        click = await emu.click(
            channel_id=question.id, message_id=tail.id, user_id=world.alice.id, emoji="👎"
        )
        await eventually(lambda: len(server.state.ratings) == 1, what="the rating")
        await eventually(lambda: click.response is not None, what="the acknowledgement")
        await bot.drain()
        [answer] = stored_replies(server)
        assert [(r.message_id, r.rating) for r in server.state.ratings] == [(answer.id, 1)]
        # A 👎 is answered with the "Tell us why" modal (see test_controls), seen by the
        # clicker alone; the rating is already made.
        assert click.response is not None and click.response["type"] == 9
        assert click.response["data"]["custom_id"] == f"knowrithm:why:{tail.id}"
        assert click.refused == []
        # The answer stands as it was, and nothing was posted in the thread.
        assert world.texts(question.id) == shown
        # A second person's 👍 rates again: Knowrithm keeps the latest.
        bob = emu.add_user(username="bob")
        await emu.click(channel_id=question.id, message_id=tail.id, user_id=bob.id, emoji="👍")
        await eventually(lambda: len(server.state.ratings) == 2, what="the second rating")
    assert server.state.ratings[-1].rating == 5
    # discord.py took the acknowledgement too: nothing failed on the bot's side.
    assert not [
        r
        for r in caplog.records
        if r.name.startswith("knowrithm_bots.adapters.discord")
        and r.levelname in ("WARNING", "ERROR")
    ]
    assert server.state.find_message(message_id=answer.id).rating == 5  # type: ignore[union-attr]


async def test_a_click_in_a_direct_message_rates_too() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        dm = emu.add_dm_channel(user_id=world.alice.id)
        await emu.dispatch_message(channel_id=dm.id, author_id=world.alice.id, content="hello")
        await settle(bot, world, chats=1)
        [reply] = world.bot_messages(dm.id)
        click = await emu.click(
            channel_id=dm.id, message_id=reply.id, user_id=world.alice.id, emoji="👍"
        )
        await eventually(lambda: click.response is not None, what="the acknowledgement")
        await bot.drain()
        [answer] = stored_replies(server)
    assert [(r.message_id, r.rating) for r in server.state.ratings] == [(answer.id, 5)]
    assert click.response is not None
    assert click.response["data"]["flags"] & EPHEMERAL


async def test_buttons_can_be_turned_off() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True, feedback_buttons=False) as bot,
    ):
        emu = world.emu
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("hi")
        )
        await settle(bot, world, chats=1)
        [reply] = world.bot_messages(question.id)
        assert reply.components == []
        with pytest.raises(LookupError):
            await emu.click(channel_id=question.id, message_id=reply.id, user_id=world.alice.id)
