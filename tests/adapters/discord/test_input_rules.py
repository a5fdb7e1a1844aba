"""Bad and borderline input, allow lists, the content intent and leads, end to end."""

from __future__ import annotations

import pytest

from knowrithm_bots.adapters.discord.members import Membership
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.commands import HELP_TEXT
from knowrithm_bots.core.testing.conformance import EventRecorder
from knowrithm_bots.core.user_messages import EMPTY_MESSAGE
from tests.emulators.discord_api import AttachmentSpec, UserInfo
from tests.support import eventually

from .helpers import discord_bot, discord_world, make_adapter, settle

pytestmark = pytest.mark.knowrithm_modes

LEAD_RULES = {
    "conversations": {
        "entity_rules": [{"entity_type": "LEAD", "adapters": ["discord"], "external": True}]
    },
    "leads": {"email_domain": "leads.example.com"},
}


async def test_attachment_only_messages_are_answered_naming_the_file() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        picture = [AttachmentSpec(filename="chart.png", content_type="image/png")]
        dm = emu.add_dm_channel(user_id=world.alice.id)
        await emu.dispatch_message(channel_id=dm.id, author_id=world.alice.id, attachments=picture)
        await settle(bot, world, chats=1)
        await bot.drain()
        # The agent is told of the picture it cannot see, and answers; never "write it out".
        (asked,) = [text for _, text in server.state.chat_requests]
        assert "chart.png" in asked and "image/png" in asked
        assert "http" not in asked  # no attachment URL reaches Knowrithm
        assert EMPTY_MESSAGE not in world.texts(dm.id)
        assert len(world.texts(dm.id)) == 1


async def test_guilds_and_channels_off_the_allow_lists_are_ignored() -> None:
    async with discord_world() as world:
        emu = world.emu
        elsewhere = emu.add_guild(name="Elsewhere")
        foreign = emu.add_text_channel(guild_id=elsewhere.id, name="general")
        async with (
            LocalKnowrithm() as server,
            discord_bot(
                world,
                server,
                message_content_intent=True,
                allowed_guilds=[world.guild.id],
                allowed_channels=[world.general.id],
            ) as bot,
        ):
            ignored = [
                await emu.dispatch_message(
                    channel_id=channel.id, author_id=world.alice.id, content=world.mention("hi")
                )
                for channel in (world.random, foreign)
            ]
            await emu.dispatch_message(
                channel_id=world.general.id, author_id=world.alice.id, content=world.mention("ok")
            )
            await settle(bot, world, chats=1)
            assert [text for _, text in server.state.chat_requests] == ["ok"]
            for message in ignored:
                assert message.id not in emu.threads
                assert world.bot_messages(message.channel_id) == []


async def test_without_the_content_intent_threads_need_mentions_and_say_so_once() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=False) as bot,
    ):
        emu = world.emu
        await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content="not for the bot"
        )
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("q1")
        )
        await settle(bot, world, chats=1)
        thread = question.id
        # Discord blanks these for the bot: it cannot answer them, and says why once.
        for text in ("follow-up without mention", "another one"):
            await emu.dispatch_message(channel_id=thread, author_id=world.alice.id, content=text)
        await emu.dispatch_message(
            channel_id=thread, author_id=world.alice.id, content=world.mention("q2")
        )
        await settle(bot, world, chats=2)
        texts = world.texts(thread)
        hints = [t for t in texts if "only read messages here that mention me" in t]
        assert len(hints) == 1
        assert f"<@{world.bot_id}>" in hints[0]
        assert [text for _, text in server.state.chat_requests] == ["q1", "q2"]
        assert len(server.state.conversations) == 1
        assert world.bot_messages(world.general.id) == []


async def test_mentions_without_a_question_are_answered_in_the_channel() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server) as bot,
    ):
        emu = world.emu
        await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=f"<@{world.bot_id}>"
        )
        await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("/help")
        )
        await eventually(lambda: len(world.texts(world.general.id)) == 2, what="two answers")
        await bot.drain()
        assert world.texts(world.general.id) == [EMPTY_MESSAGE, HELP_TEXT]
        assert emu.threads == {}
        assert server.state.chat_requests == []


async def test_a_refused_thread_is_explained_in_the_channel() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server) as bot,
    ):
        emu = world.emu
        emu.fail_next(
            status=403,
            route="/channels/{channel_id}/messages/{message_id}/threads",
            code=50013,
            message="Missing Permissions",
        )
        await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("why?")
        )
        await eventually(lambda: bool(world.texts(world.general.id)), what="the explanation")
        await bot.drain()
        (notice,) = world.texts(world.general.id)
        assert "Create Public Threads permission" in notice
        assert server.state.chat_requests == []


async def test_dms_from_people_outside_the_guilds_start_lead_conversations() -> None:
    async with discord_world() as world:
        emu = world.emu
        visitor = emu.add_user(username="visitor", global_name="Vera Visitor", guilds=[])
        async with (
            LocalKnowrithm() as server,
            discord_bot(world, server, settings=LEAD_RULES) as bot,
        ):
            for user in (visitor, world.alice):
                dm = emu.add_dm_channel(user_id=user.id)
                await emu.dispatch_message(channel_id=dm.id, author_id=user.id, content="hello")
            await settle(bot, world, chats=2)
            # The local server keeps the entity type as the client sent it (either case).
            kinds = sorted(c.entity_type.upper() for c in server.state.conversations.values())
            assert kinds == ["LEAD", "USER"]
            (lead,) = server.state.leads.values()
            assert (lead.first_name, lead.last_name) == ("Vera", "Visitor")
            assert lead.email == f"discord-{visitor.id}@leads.example.com"
            lead_conversation = next(
                c for c in server.state.conversations.values() if c.entity_type.upper() == "LEAD"
            )
            assert lead_conversation.lead_id == lead.id


async def test_membership_answers_are_kept_for_the_most_recent_users_only() -> None:
    async with discord_world() as world:
        emu = world.emu
        adapter = make_adapter(emu)
        await adapter.start(sink=EventRecorder())
        try:
            assert adapter.client is not None
            membership = Membership(client=adapter.client, allowed_guilds=None, ttl=600, size=2)
            first, second, third = (emu.add_user(username=f"user{n}") for n in range(3))

            def lookups(user: UserInfo) -> int:
                path = f"/guilds/{world.guild.id}/members/{user.id}"
                return sum(1 for call in emu.calls if call.path == path)

            for user in (first, second, third):
                assert await membership.shares_guild(user.id)
            assert await membership.shares_guild(third.id)  # remembered: not asked again
            assert [lookups(u) for u in (first, second, third)] == [1, 1, 1]
            # Three users in a memory of two: the first was forgotten and is asked again.
            assert await membership.shares_guild(first.id)
            assert [lookups(u) for u in (first, second, third)] == [2, 1, 1]
        finally:
            await adapter.stop()
