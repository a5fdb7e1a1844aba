"""Mentions, threads and DMs through the real bolt app in both modes."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.adapters.slack.helpers import slack_bot
from tests.emulators.slack_api import SlackEmulator, events, ids

pytestmark = pytest.mark.knowrithm_modes

MENTION = f"<@{ids.BOT_USER_ID}>"


@pytest.mark.knowrithm_modes("streaming")
async def test_mention_is_streamed_in_a_thread_and_the_thread_continues(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    async with slack_bot(emu, server, mode=mode) as bot:
        mention = events.app_mention(text=f"{MENTION} what is new?")
        await bot.send(mention)
        await bot.settle()
        follow_up = events.thread_reply(text="and then?", thread_ts=mention["ts"])
        await bot.send(follow_up)
        await bot.settle()

    first, second = bot.replies()
    assert first.startswith("Answer 1 to what is new?")
    assert second.startswith("Answer 2 to and then?")
    (conversation,) = server.state.conversations.values()
    assert [m.content for m in server.state.messages[conversation.id]] == [
        "what is new?",
        first,
        "and then?",
        second,
    ]
    answers = emu.bot_messages(ids.CHANNEL_ID)
    assert [(m.thread_ts, m.text, m.is_stream, m.stream_state) for m in answers] == [
        (mention["ts"], first, True, "stopped"),
        (mention["ts"], second, True, "stopped"),
    ]
    start = emu.calls_to("chat.startStream")[0].params
    assert (start["recipient_user_id"], start["recipient_team_id"]) == (ids.USER_ID, ids.TEAM_ID)
    assert not emu.calls_to("chat.postMessage")


async def test_production_pacing_streams_in_a_thread(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    async with slack_bot(emu, server, quick=False) as bot:
        mention = events.app_mention(text=f"{MENTION} hello")
        await bot.send(mention)
        await bot.settle()
    (answer,) = emu.bot_messages(ids.CHANNEL_ID)
    assert answer.text == bot.replies()[0]
    assert answer.thread_ts == mention["ts"]


@pytest.mark.knowrithm_modes("streaming")
async def test_a_dm_starts_a_conversation_in_its_own_thread(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    async with slack_bot(emu, server, mode=mode) as bot:
        first = events.im_message(text="hi there")
        await bot.send(first)
        await bot.settle()
        second = events.im_message(text="a new topic")
        await bot.send(second)
        await bot.settle()
        reply = events.im_message(text="more on it", thread_ts=second["ts"])
        await bot.send(reply)
        await bot.settle()

    assert len(server.state.conversations) == 2
    answers = emu.bot_messages(ids.IM_CHANNEL_ID)
    assert [(m.thread_ts, m.text) for m in answers] == [
        (first["ts"], bot.replies()[0]),
        (second["ts"], bot.replies()[1]),
        (second["ts"], bot.replies()[2]),
    ]
    assert bot.replies()[2].startswith("Answer 2 to more on it")
    # The asker is named as the stream's recipient; the thinking status showed meanwhile.
    assert emu.calls_to("chat.startStream")[0].params["recipient_user_id"] == ids.USER_ID
    assert {s.thread_ts for s in emu.statuses} == {first["ts"], second["ts"]}


async def test_dm_channel_mode_is_one_conversation_answered_top_level(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    async with slack_bot(emu, server, direct_messages="channel") as bot:
        for text in ("one", "two"):
            await bot.send(events.im_message(text=text))
            await bot.settle()

    assert len(server.state.conversations) == 1
    answers = emu.bot_messages(ids.IM_CHANNEL_ID)
    assert [(m.thread_ts, m.text, m.is_stream) for m in answers] == [
        (None, bot.replies()[0], False),
        (None, bot.replies()[1], False),
    ]
    assert bot.replies()[1].startswith("Answer 2 to two")
    assert not emu.calls_to("chat.startStream")


async def test_every_message_mode_answers_without_a_mention(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    emu.fail_next("assistant.threads.setStatus", "not_allowed")
    async with slack_bot(emu, server, channel_messages="all") as bot:
        plain = events.channel_message(text="anyone there?")
        await bot.send(plain)
        await bot.settle()
        other = events.channel_message(text="still there?")
        await bot.send(other)
        await bot.settle()

    assert [m.thread_ts for m in emu.bot_messages(ids.CHANNEL_ID)] == [plain["ts"], other["ts"]]
    # The channel refused the thinking status once; it was not asked again there.
    assert len(emu.calls_to("assistant.threads.setStatus")) == 1


async def test_answers_continue_after_slack_rotates_the_socket(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    async with slack_bot(emu, server) as bot:
        await emu.disconnect_sockets()
        await emu.wait_for(lambda: emu.socket_connects == 2 and emu.socket_connections == 1)
        await bot.send(events.im_message(text="after the rotation"))
        await bot.settle()
    assert bot.replies()[0].startswith("Answer 1 to after the rotation")
