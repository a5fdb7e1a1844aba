"""The slash command (/knowrithm new|end|stop|help) in both modes, through slack-bolt."""

from __future__ import annotations

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.bridge import STOP_MARK
from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.user_messages import NOTHING_TO_END, NOTHING_TO_STOP
from tests.adapters.slack.helpers import SlackBot, slack_bot, slack_config
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.support import eventually

MENTION = f"<@{ids.BOT_USER_ID}>"


def _answers(emu: SlackEmulator, thread_ts: str) -> list[str]:
    """What the bot wrote in the channel thread, in the order it was written."""
    return [m.text for m in emu.bot_messages(ids.CHANNEL_ID) if m.thread_ts == thread_ts]


def _url(bot: SlackBot) -> str | None:
    return bot.adapter.events_url if bot.mode == "http" else None


async def test_help_is_answered_to_the_user_alone_at_once(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    async with slack_bot(emu, server, mode=mode) as bot:
        answer = await emu.slash_command(text="help", url=_url(bot))
        empty = await emu.slash_command(text="", url=_url(bot))
        await bot.settle()
    assert answer.ack_text is not None
    assert "`/knowrithm end [1-5] [feedback]`" in answer.ack_text
    assert "`/knowrithm stop`" in answer.ack_text
    assert empty.ack_text == answer.ack_text  # no text is help too
    # Ephemeral: nothing in the channel, nothing asked of Knowrithm.
    assert emu.bot_messages() == []
    assert server.state.chat_requests == []


async def test_new_and_end_act_on_the_users_latest_conversation_in_the_channel(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    async with slack_bot(emu, server, mode=mode) as bot:
        mention = events.app_mention(text=f"{MENTION} first question")
        await bot.send(mention)
        await bot.settle()
        [first] = server.state.conversations

        answer = await emu.slash_command(text="new", url=_url(bot))
        assert answer.ack_text is None  # acked at once; the bridge answers in the thread
        await bot.settle()
        assert [e.conversation_id for e in server.state.ends] == [first]
        done = _answers(emu, mention["ts"])[-1]
        assert done.startswith("Done: your next message starts a new conversation")

        await bot.send(events.channel_message(text="second question", thread_ts=mention["ts"]))
        await bot.settle()
        assert len(server.state.conversations) == 2
        second = next(c for c in server.state.conversations if c != first)

        await emu.slash_command(text="end 4 thanks a lot", url=_url(bot))
        await bot.settle()
        ended = _answers(emu, mention["ts"])[-1]
    assert [(e.conversation_id, e.rating, e.feedback) for e in server.state.ends] == [
        (first, None, None),
        (second, 4, "thanks a lot"),
    ]
    assert ended.startswith("Conversation ended, rated 4/5")
    # Nothing of it was told privately: the thread saw both.
    assert emu.command_responses == []


async def test_stop_ends_the_answer_being_written_and_says_privately_when_there_is_none(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    emu.add_user(user_id=ids.USER_ID, real_name="Grace Hopper", display_name="Grace")
    async with slack_bot(emu, server, mode=mode) as bot:
        mention = events.app_mention(text=f"{MENTION} tell me a long story")
        server.faults.hold_replies(after_words=4)
        try:
            await bot.send(mention)
            await eventually(
                lambda: len(_answers(emu, mention["ts"])) == 1,
                what="the answer to start showing",
            )
            answer = await emu.slash_command(text="stop", url=_url(bot))
            await eventually(lambda: len(emu.command_responses) == 1, what="the private answer")
            await bot.settle()
        finally:
            server.faults.release_replies()
        assert answer.ack_text is None  # acked at once, told through the response_url
        [stopped] = emu.bot_messages(ids.CHANNEL_ID)
        assert stopped.text.rstrip().endswith(STOP_MARK.format(name="Grace"))

        await emu.slash_command(text="stop", url=_url(bot))
        await eventually(lambda: len(emu.command_responses) == 2, what="the private answer")
        # The next message of the thread is answered as usual.
        await bot.send(events.channel_message(text="and now?", thread_ts=mention["ts"]))
        await bot.settle()
    assert [(r.user, r.channel, r.response_type, r.text) for r in emu.command_responses] == [
        (ids.USER_ID, ids.CHANNEL_ID, "ephemeral", "Stopped."),
        (ids.USER_ID, ids.CHANNEL_ID, "ephemeral", NOTHING_TO_STOP),
    ]
    # Only the stopped answer and the next one are in the channel's thread.
    assert len(emu.bot_messages(ids.CHANNEL_ID)) == 2
    assert "and now?" in bot.replies()[-1]


async def test_mistakes_and_nothing_to_end_are_told_to_the_user_alone(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    async with slack_bot(emu, server, mode="socket", direct_messages="channel") as bot:
        bad = await emu.slash_command(text="end 9 great")
        unknown = await emu.slash_command(text="restart")
        nothing = await emu.slash_command(text="end 5", channel=ids.IM_CHANNEL_ID)
        await bot.settle()
        await eventually(lambda: len(emu.command_responses) == 1, what="the private answer")
    assert bad.ack_text == (
        "A rating must be a whole number from 1 to 5, not 9: try /knowrithm end 4 thanks!"
    )
    assert unknown.ack_text is not None and unknown.ack_text.startswith(
        "I don't know `/knowrithm restart`."
    )
    assert nothing.ack_text is None
    assert [(r.channel, r.text) for r in emu.command_responses] == [
        (ids.IM_CHANNEL_ID, NOTHING_TO_END)
    ]
    assert server.state.ends == []
    assert emu.bot_messages() == []


async def test_a_whole_dm_conversation_is_ended_by_the_command(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    async with slack_bot(emu, server, mode="http", direct_messages="channel") as bot:
        await bot.send(events.im_message(text="hello there"))
        await bot.settle()
        [conversation] = server.state.conversations
        await emu.slash_command(text="/end 5 great", channel=ids.IM_CHANNEL_ID, url=_url(bot))
        await bot.settle()
        # A text command in the DM still works as before.
        await bot.send(events.im_message(text="/end"))
        await bot.settle()
        texts = [m.text for m in emu.bot_messages(ids.IM_CHANNEL_ID)]
    assert [(e.conversation_id, e.rating, e.feedback) for e in server.state.ends] == [
        (conversation, 5, "great")
    ]
    assert texts[-2].startswith("Conversation ended, rated 5/5")
    assert texts[-1] == NOTHING_TO_END


async def test_outside_allowed_channels_the_command_is_refused_privately(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    async with slack_bot(emu, server, mode="socket", allowed_channels=["C0OTHER001"]) as bot:
        answer = await emu.slash_command(text="new")
        await bot.settle()
        await eventually(lambda: len(emu.command_responses) == 1, what="the refusal")
    assert answer.ack_text is None
    assert emu.command_responses[0].text == "The agent does not answer in this channel."
    assert emu.bot_messages() == []


async def test_the_command_name_is_configurable_and_can_be_turned_off(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    async with slack_bot(emu, server, mode="http", slash_command="/Ask") as bot:
        answer = await emu.slash_command(text="help", command="/ask", url=_url(bot))
        assert answer.ack_text is not None and "`/ask new`" in answer.ack_text
    async with slack_bot(emu, server, mode="http", slash_command=None) as bot:
        # No listener: bolt answers 404, as for any command the app does not serve.
        with pytest.raises(AssertionError, match="HTTP 404"):
            await emu.slash_command(text="help", url=_url(bot))


def test_a_command_name_must_look_like_one(emu: SlackEmulator) -> None:
    config = slack_config(emu, mode="socket", slash_command="knowrithm bot")
    with pytest.raises(ConfigError, match="slash_command"):
        SlackAdapter.from_config(config=config)
