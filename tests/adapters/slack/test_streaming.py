"""Native chat streams, the post + edit fallback, expiry mid-answer, long answers, 429s."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from knowrithm_bots.core.markup import to_slack_mrkdwn
from knowrithm_bots.core.streaming.layout import Layout
from tests.adapters.slack.helpers import QuickSlackAdapter, slack_bot
from tests.emulators.slack_api import SlackEmulator, events, ids

pytestmark = pytest.mark.knowrithm_modes

MENTION = f"<@{ids.BOT_USER_ID}>"


def long_lines(count: int, width: int = 490) -> str:
    return "".join(f"Line {n}: " + "x" * width + "\n" for n in range(count))


def slow_server(answer: str, *, word_delay: float = 0.01) -> LocalKnowrithm:
    def script(question: str, history: Sequence[StoredMessage]) -> str:
        return answer

    return LocalKnowrithm(agent=ScriptedAgent(script), word_delay=word_delay)


@pytest.fixture
async def refusing_emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(streaming_enabled=False) as emulator:
        yield emulator


@pytest.mark.knowrithm_modes("streaming")
async def test_refused_streaming_falls_back_to_post_and_update(
    refusing_emu: SlackEmulator, mode: str
) -> None:
    emu = refusing_emu
    answer = " ".join(["Fallback *answer* with a [link](https://example.com) & more words"] * 3)
    server = slow_server(answer, word_delay=0.005)
    async with server, slack_bot(emu, server, mode=mode) as bot:
        first = events.app_mention(text=f"{MENTION} first")
        await bot.send(first)
        await bot.settle()
        second = events.app_mention(text=f"{MENTION} second")
        await bot.send(second)
        await bot.settle()

    expected = to_slack_mrkdwn(answer)
    assert "<https://example.com|link>" in expected and "&amp;" in expected
    answers = emu.bot_messages(ids.CHANNEL_ID)
    assert [(m.thread_ts, m.text, m.is_stream) for m in answers] == [
        (first["ts"], expected, False),
        (second["ts"], expected, False),
    ]
    assert len(emu.calls_to("chat.postMessage")) == 2
    # Refused once; the next answer does not ask again.
    assert [c.error for c in emu.calls_to("chat.startStream")] == ["feature_not_enabled"]
    assert bot.replies() == [answer, answer]


@pytest.mark.knowrithm_modes("streaming")
async def test_stream_expiring_mid_answer_continues_in_the_same_message(
    emu: SlackEmulator, mode: str
) -> None:
    answer = " ".join(f"word{n}" for n in range(80))
    server = slow_server(answer, word_delay=0.01)
    async with server, slack_bot(emu, server, mode=mode) as bot:
        mention = events.app_mention(text=f"{MENTION} tell me")
        await bot.send(mention)
        await emu.wait_for_call("chat.appendStream")
        assert emu.expire_streams()
        await bot.settle()

    (message,) = emu.bot_messages(ids.CHANNEL_ID)
    assert message.thread_ts == mention["ts"]
    assert message.stream_state == "expired"
    assert message.text == answer
    assert emu.calls_to("chat.update")
    assert not emu.calls_to("chat.postMessage")
    # Every version the message showed was a prefix of the answer: nothing repeated.
    assert all(answer.startswith(text) for text in message.texts)


@pytest.mark.knowrithm_modes("streaming")
async def test_a_stream_closed_by_slack_after_showing_the_whole_answer_is_the_answer() -> None:
    # The first start is refused with a 429, so the answer is whole before the stream
    # opens: the stream starts with all of it and is stopped at once; Slack (idle TTL 0
    # here, ~30 s in life, when stops queue at Tier 2) has closed it by then.
    answer = " ".join(f"word{n}" for n in range(10))
    async with SlackEmulator(stream_idle_ttl=0.0) as emu:
        emu.fail_next("chat.startStream", "ratelimited", status=429, retry_after=1)
        server = slow_server(answer, word_delay=0.001)
        async with server, slack_bot(emu, server) as bot:
            await bot.send(events.app_mention(text=f"{MENTION} quick"))
            await bot.settle()

    assert [c.error for c in emu.calls_to("chat.stopStream")] == ["message_not_in_streaming_state"]
    # Shown once, in the stream's message: not posted a second time.
    (message,) = emu.bot_messages(ids.CHANNEL_ID)
    assert (message.is_stream, message.stream_state, message.text) == (True, "expired", answer)
    assert not emu.calls_to("chat.postMessage")
    assert bot.replies() == [answer]


@pytest.mark.knowrithm_modes("streaming")
async def test_an_answer_longer_than_a_stream_rolls_over(emu: SlackEmulator) -> None:
    answer = long_lines(30)  # about 15,000 characters
    async with slow_server(answer, word_delay=0.002) as server, slack_bot(emu, server) as bot:
        mention = events.app_mention(text=f"{MENTION} a long one")
        await bot.send(mention)
        await bot.settle()

    final = bot.replies()[0]
    limit = QuickSlackAdapter.limits.max_message_length
    layout = Layout(limit=limit, measure=lambda text: len(to_slack_mrkdwn(text)))
    segments = layout.segments(final)
    expected = [to_slack_mrkdwn(segment) for segment in segments]
    assert len(expected) == 2
    messages = emu.bot_messages(ids.CHANNEL_ID)
    # The streamed message holds its segment as the markdown it was streamed in when the
    # stream happened to stop right at the segment's end (nothing left to edit; the raw
    # text keeps the line break the mrkdwn of an edit drops), else as edited to mrkdwn.
    assert messages[0].text in (expected[0], segments[0])
    assert [m.text for m in messages[1:]] == expected[1:]
    assert all(m.thread_ts == mention["ts"] for m in messages)
    # The stream was stopped where it was and taken over by chat.update.
    assert messages[0].is_stream
    assert emu.calls_to("chat.stopStream")
    assert emu.calls_to("chat.update")


@pytest.mark.knowrithm_modes("streaming")
async def test_429s_on_streams_are_waited_out_without_losing_text(emu: SlackEmulator) -> None:
    answer = " ".join(f"w{n}" for n in range(40))
    emu.fail_next("chat.appendStream", "ratelimited", status=429, retry_after=0)
    emu.fail_next("chat.appendStream", "ratelimited", status=429, retry_after=0)
    emu.fail_next("chat.stopStream", "ratelimited", status=429, retry_after=0)
    async with slow_server(answer, word_delay=0.02) as server, slack_bot(emu, server) as bot:
        await bot.send(events.app_mention(text=f"{MENTION} go"))
        await bot.settle()

    (message,) = emu.bot_messages(ids.CHANNEL_ID)
    assert message.text == answer
    assert message.stream_state == "stopped"
    # slack-sdk retried chat.stopStream itself; the engine waited out the append 429s.
    assert [c.status for c in emu.calls_to("chat.stopStream")] == [429, 200]
    assert [c.status for c in emu.calls_to("chat.appendStream")][:2] == [429, 429]


@pytest.mark.knowrithm_modes("streaming")
async def test_429s_on_post_and_update_are_waited_out_without_losing_text(
    refusing_emu: SlackEmulator,
) -> None:
    emu = refusing_emu
    answer = " ".join(f"w{n}" for n in range(20))
    emu.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=0)
    emu.fail_next("chat.update", "ratelimited", status=429, retry_after=0)
    emu.fail_next("chat.update", "ratelimited", status=429, retry_after=0)
    async with slow_server(answer, word_delay=0.01) as server, slack_bot(emu, server) as bot:
        await bot.send(events.im_message(text="go"))
        await bot.settle()

    (message,) = emu.bot_messages(ids.IM_CHANNEL_ID)
    assert message.text == answer
    assert [c.status for c in emu.calls_to("chat.postMessage")] == [429, 200]
    updates = [c.status for c in emu.calls_to("chat.update")]
    assert updates.count(429) == 2 and updates[-1] == 200
