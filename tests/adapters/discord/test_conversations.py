"""Threads, DMs and long answers through discord.py, the emulator and the local Knowrithm."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from knowrithm_bots.core.commands import HELP_TEXT
from tests.support import eventually

from .helpers import answers, discord_bot, discord_world, settle

pytestmark = pytest.mark.knowrithm_modes

WORDS = " ".join(f"word{i}" for i in range(60))


def numbered_answer(question: str, history: Sequence[StoredMessage]) -> str:
    return f"Answer to '{question}' after {len(history)} messages: {WORDS}."


@pytest.mark.knowrithm_modes("streaming")
async def test_mention_starts_a_thread_streams_there_and_the_thread_continues(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    agent = ScriptedAgent(numbered_answer)
    async with (
        discord_world() as world,
        LocalKnowrithm(agent=agent, word_delay=0.01, first_token_delay=0.2) as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        question = await emu.dispatch_message(
            channel_id=world.general.id,
            author_id=world.alice.id,
            content=world.mention("What is Knowrithm?"),
        )
        await settle(bot, world, chats=1)
        # The thread is started from the question and takes its id, as on Discord.
        thread = emu.threads[question.id]
        assert thread.parent_id == world.general.id
        assert thread.name == "What is Knowrithm?"
        assert thread.auto_archive_duration == 1440
        (first_answer,) = answers(server)
        (posted,) = world.bot_messages(thread.id)
        assert posted.content == first_answer
        assert posted.edit_count >= 1  # it grew in place while the agent wrote
        assert first_answer.startswith(posted.versions[0].rstrip())
        assert world.bot_messages(world.general.id) == []
        assert thread.id in [t.channel_id for t in emu.typing]
        assert server.state.chat_requests[0][1] == "What is Knowrithm?"

        # A follow-up in the thread needs no mention (the intent is on) and continues.
        await emu.dispatch_message(
            channel_id=thread.id, author_id=world.alice.id, content="And who made it?"
        )
        await settle(bot, world, chats=2)
        assert len(server.state.conversations) == 1
        (messages,) = server.state.messages.values()
        assert [m.content for m in messages if m.role == "user"] == [
            "What is Knowrithm?",
            "And who made it?",
        ]
        assert world.texts(thread.id) == answers(server)
        assert answers(server)[1].startswith("Answer to 'And who made it?' after 2")
        assert len(emu.threads) == 1
    assert emu.token not in caplog.text
    assert all(emu.token not in str(record.args) for record in caplog.records)


async def test_direct_messages_are_one_conversation_until_new() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm(agent=ScriptedAgent(numbered_answer)) as server,
        discord_bot(world, server) as bot,
    ):
        emu = world.emu
        dm = emu.add_dm_channel(user_id=world.alice.id)
        await emu.dispatch_message(channel_id=dm.id, author_id=world.alice.id, content="hello")
        await settle(bot, world, chats=1)
        await emu.dispatch_message(channel_id=dm.id, author_id=world.alice.id, content="again")
        await settle(bot, world, chats=2)
        assert len(server.state.conversations) == 1
        assert world.texts(dm.id) == answers(server)

        await emu.dispatch_message(channel_id=dm.id, author_id=world.alice.id, content="/new")
        await eventually(lambda: len(world.texts(dm.id)) == 3, what="the /new answer")
        assert world.texts(dm.id)[-1].startswith("Done: your next message starts a new")
        await emu.dispatch_message(channel_id=dm.id, author_id=world.alice.id, content="fresh")
        await settle(bot, world, chats=3)
        assert len(server.state.conversations) == 2
        await emu.dispatch_message(
            channel_id=dm.id, author_id=world.alice.id, content="/end 4 very helpful"
        )
        await eventually(lambda: len(server.state.ends) == 2, what="the conversation to end")
        # /new ended the first conversation without a rating; /end rated the second.
        assert [(e.rating, e.feedback) for e in server.state.ends] == [
            (None, None),
            (4, "very helpful"),
        ]
        await emu.dispatch_message(channel_id=dm.id, author_id=world.alice.id, content="/help")
        await eventually(lambda: world.texts(dm.id)[-1] == HELP_TEXT, what="the help text")
        assert not server.state.leads  # Alice shares the guild: not a lead


@pytest.mark.knowrithm_modes("streaming")
async def test_a_5000_character_answer_arrives_complete_and_in_order() -> None:
    paragraphs = [f"Paragraph {n}: " + " ".join(f"p{n}w{i}" for i in range(80)) for n in range(12)]
    long_answer = "\n\n".join(paragraphs)
    assert len(long_answer) > 5000
    async with (
        discord_world() as world,
        LocalKnowrithm(agent=ScriptedAgent(lambda q, h: long_answer), word_delay=0.001) as server,
        # The adapter's real pace (one edit per second per message).
        discord_bot(world, server, brisk=False, message_content_intent=True) as bot,
    ):
        question = await world.emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("Tell")
        )
        await settle(bot, world, chats=1)
        texts = world.texts(question.id)
        assert len(texts) >= 3
        assert all(len(t) <= 2000 for t in texts)
        assert "".join(texts) == long_answer
        # It was streamed: the first message grew through edits before rolling over.
        assert world.bot_messages(question.id)[0].edit_count >= 1
        assert answers(server) == [long_answer]


async def test_the_bot_ignores_itself_and_other_bots() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        await emu.dispatch_message(
            channel_id=world.general.id,
            author_id=world.other_bot.id,
            content=world.mention("ping me back forever"),
        )
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("hi")
        )
        await settle(bot, world, chats=1)
        # Another bot in the bot's own thread is ignored too.
        await emu.dispatch_message(
            channel_id=question.id, author_id=world.other_bot.id, content="beep boop"
        )
        marker = await emu.dispatch_message(
            channel_id=question.id, author_id=world.alice.id, content="thanks"
        )
        await settle(bot, world, chats=2)
        assert [text for _, text in server.state.chat_requests] == ["hi", "thanks"]
        assert list(emu.threads) == [question.id]
        # The bot's own answers came back on the gateway and did not become questions.
        assert len(world.bot_messages(question.id)) == 2
        assert marker.id in emu.messages
