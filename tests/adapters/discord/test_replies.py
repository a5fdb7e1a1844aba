"""``post(reply_to=...)``: a Discord reply in a text channel itself, plain messages elsewhere."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.commands import HELP_TEXT
from knowrithm_bots.core.testing.conformance import EventRecorder
from knowrithm_bots.core.user_messages import EMPTY_MESSAGE
from tests.support import eventually

from .helpers import discord_bot, discord_world, make_adapter, settle

pytestmark = pytest.mark.knowrithm_modes

MESSAGES_ROUTE = "/channels/{channel_id}/messages"


async def test_answers_in_a_channel_reply_to_the_mention_without_pinging() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server) as bot,
    ):
        emu = world.emu
        empty = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=f"<@{world.bot_id}>"
        )
        command = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("/help")
        )
        await eventually(lambda: len(world.texts(world.general.id)) == 2, what="two answers")
        await bot.drain()
        posted = world.bot_messages(world.general.id)
        assert [m.content for m in posted] == [EMPTY_MESSAGE, HELP_TEXT]
        assert [m.reference_id for m in posted] == [empty.id, command.id]
        (first_post, _) = [c for c in emu.calls if c.method == "POST" and c.route == MESSAGES_ROUTE]
        assert first_post.json["message_reference"]["fail_if_not_exists"] is False
        # Nobody pinged, the author replied to included (replied_user absent is false).
        assert first_post.json["allowed_mentions"] == {"parse": []}


async def test_answers_in_threads_and_dms_are_plain_messages() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("one")
        )
        await settle(bot, world, chats=1)
        await emu.dispatch_message(channel_id=question.id, author_id=world.alice.id, content="two")
        await settle(bot, world, chats=2)
        dm = emu.add_dm_channel(user_id=world.alice.id)
        await emu.dispatch_message(channel_id=dm.id, author_id=world.alice.id, content="three")
        await settle(bot, world, chats=3)
        in_thread = world.bot_messages(question.id)
        in_dm = world.bot_messages(dm.id)
        assert (len(in_thread), len(in_dm)) == (2, 1)
        assert [m.reference_id for m in in_thread + in_dm] == [None, None, None]


async def test_reply_to_is_used_only_where_it_fits_and_never_fails_a_post() -> None:
    async with discord_world() as world:
        emu = world.emu
        adapter = make_adapter(emu)
        recorder = EventRecorder()
        await adapter.start(sink=recorder)
        try:
            assert adapter.identity is not None
            app = adapter.identity.application_id
            channel = f"discord:{app}:channel:{world.general.id}"
            mention = await emu.dispatch_message(
                channel_id=world.general.id, author_id=world.alice.id, content=world.mention("x")
            )
            await recorder.message_with("x", within=5.0)
            replied = await adapter.post(thread=channel, text="a", reply_to=str(mention.id))
            assert emu.messages[int(replied.id)].reference_id == mention.id
            # A message gone (or never there), or an id that is not one: a plain post.
            for missing in ("123456789012345678", "not-an-id"):
                plain = await adapter.post(thread=channel, text="b", reply_to=missing)
                assert emu.messages[int(plain.id)].reference_id is None
            # In a thread or a DM the reply would repeat the question just above: none.
            dm = emu.add_dm_channel(user_id=world.alice.id)
            places = {"thread": mention.id, "dm": dm.id}  # the mention started a thread
            for kind, channel_id in places.items():
                said = await emu.dispatch_message(
                    channel_id=channel_id, author_id=world.alice.id, content=world.mention("y")
                )
                post = await adapter.post(
                    thread=f"discord:{app}:{kind}:{channel_id}", text="c", reply_to=str(said.id)
                )
                assert emu.messages[int(post.id)].reference_id is None
        finally:
            await adapter.stop()
