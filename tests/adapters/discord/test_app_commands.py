"""Application commands /new, /end, /stop, /help: registered at start, answered through the
interaction, run by the bridge (discord.py against the emulator)."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.bridge import STOP_MARK
from knowrithm_bots.core.user_messages import NOTHING_TO_STOP
from tests.emulators.discord_api.app_commands import CommandUse
from tests.support import eventually

from .helpers import World, discord_bot, discord_world, settle

NAMES = ["new", "end", "stop", "help"]


async def _answered(use: CommandUse) -> str:
    await eventually(lambda: use.original_content is not None, what=f"the answer to /{use.name}")
    assert use.original_content is not None
    return use.original_content


async def _ask_in_thread(world: World, bot: object, text: str) -> int:
    """Alice mentions the bot in #general; the id of the thread the answer went to."""
    question = await world.emu.dispatch_message(
        channel_id=world.general.id, author_id=world.alice.id, content=world.mention(text)
    )
    return question.id


async def test_the_commands_are_registered_globally_at_start_with_their_options() -> None:
    async with discord_world() as world, LocalKnowrithm() as server:
        async with discord_bot(world, server):
            registered = world.emu.commands[None]
        assert [c["name"] for c in registered] == NAMES
        end = next(c for c in registered if c["name"] == "end")
        rating, feedback = end["options"]
        assert (rating["name"], rating["type"], rating["required"]) == ("rating", 4, False)
        assert [c["value"] for c in rating["choices"]] == [1, 2, 3, 4, 5]
        assert (feedback["name"], feedback["type"]) == ("feedback", 3)
        assert all(c["contexts"] == [0, 1] for c in registered)

        # Per guild when configured (shown at once there), and not globally.
        world.emu.world.commands.clear()
        async with discord_bot(world, server, command_guilds=[world.guild.id]):
            assert [c["name"] for c in world.emu.commands[world.guild.id]] == NAMES
            assert None not in world.emu.commands
        # Turned off: nothing registered.
        world.emu.world.commands.clear()
        async with discord_bot(world, server, native_commands=False):
            assert world.emu.commands == {}


async def test_help_is_answered_to_the_user_alone() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True),
    ):
        use = await world.emu.use_command(
            channel_id=world.general.id, user_id=world.alice.id, name="help"
        )
        await eventually(lambda: use.response is not None, what="the answer")
        assert use.response is not None and use.response["type"] == 4
        assert use.ephemeral
        assert "`/end rating: feedback:`" in (use.content or "")
        assert world.bot_messages(world.general.id) == []
        assert server.state.chat_requests == []


async def test_new_and_end_run_in_the_thread_and_answer_through_the_interaction() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        thread = await _ask_in_thread(world, bot, "first question")
        await settle(bot, world, chats=1)
        [first] = server.state.conversations

        new = await emu.use_command(channel_id=thread, user_id=world.alice.id, name="new")
        done = await _answered(new)
        assert new.response is not None and new.response["type"] == 5  # deferred, in time
        assert not new.ephemeral
        assert done.startswith("Done: your next message starts a new conversation")
        assert [e.conversation_id for e in server.state.ends] == [first]
        # The response is a message of the thread, not a second post.
        assert [m.content for m in world.bot_messages(thread)][-1] == done

        await emu.dispatch_message(channel_id=thread, author_id=world.alice.id, content="again")
        await settle(bot, world, chats=2)
        second = next(c for c in server.state.conversations if c != first)

        end = await emu.use_command(
            channel_id=thread,
            user_id=world.alice.id,
            name="end",
            options={"rating": 4, "feedback": "thanks a lot"},
        )
        ended = await _answered(end)
        await bot.drain()
    assert ended.startswith("Conversation ended, rated 4/5")
    assert [(e.conversation_id, e.rating, e.feedback) for e in server.state.ends] == [
        (first, None, None),
        (second, 4, "thanks a lot"),
    ]
    assert new.refused == [] and end.refused == []


async def test_stop_ends_the_answer_being_written_and_the_next_message_is_answered() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        server.faults.hold_replies(after_words=4)
        try:
            thread = await _ask_in_thread(world, bot, "tell me a long story")
            await eventually(lambda: len(world.bot_messages(thread)) == 1, what="the answer")
            stop = await emu.use_command(channel_id=thread, user_id=world.alice.id, name="stop")
            await eventually(lambda: stop.response is not None, what="the answer to /stop")
        finally:
            server.faults.release_replies()
        await bot.drain()
        assert stop.response is not None and stop.response["type"] == 4
        assert (stop.content, stop.ephemeral) == ("Stopped.", True)
        [stopped] = world.bot_messages(thread)
        assert stopped.content.endswith(STOP_MARK.format(name="Alice Liddell"))

        again = await emu.use_command(channel_id=thread, user_id=world.alice.id, name="stop")
        await eventually(lambda: again.response is not None, what="the answer to /stop")
        assert (again.content, again.ephemeral) == (NOTHING_TO_STOP, True)
        await emu.dispatch_message(channel_id=thread, author_id=world.alice.id, content="and now?")
        await settle(bot, world, chats=2)
        # The stopped answer, then the next one: the /stop answers were never in the thread.
        assert len(world.bot_messages(thread)) == 2


async def test_refused_registration_leaves_the_text_commands_working(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with discord_world() as world, LocalKnowrithm() as server:
        world.emu.fail_next(
            status=403,
            method="PUT",
            route="/applications/{application_id}/commands",
            code=50001,
            message="Missing Access",
        )
        async with discord_bot(world, server, message_content_intent=True) as bot:
            dm = world.emu.add_dm_channel(user_id=world.alice.id)
            await world.emu.dispatch_message(
                channel_id=dm.id, author_id=world.alice.id, content="hello"
            )
            await settle(bot, world, chats=1)
            await world.emu.dispatch_message(
                channel_id=dm.id, author_id=world.alice.id, content="/end 5 great"
            )
            await eventually(lambda: len(server.state.ends) == 1, what="the end")
            await bot.drain()
        assert world.emu.commands == {}
    assert [(e.rating, e.feedback) for e in server.state.ends] == [(5, "great")]
    [warning] = [r for r in caplog.records if "applications.commands" in r.getMessage()]
    assert warning.levelname == "WARNING"


async def test_outside_the_allowed_channels_a_command_is_refused_privately() -> None:
    async with discord_world() as world, LocalKnowrithm() as server:
        async with discord_bot(world, server, allowed_channels=[world.random.id]):
            use = await world.emu.use_command(
                channel_id=world.general.id, user_id=world.alice.id, name="new"
            )
            await eventually(lambda: use.response is not None, what="the answer")
        assert use.ephemeral
        assert use.content == "Sorry, this bot is not available here."
        assert server.state.ends == []
