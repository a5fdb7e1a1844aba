"""A hung Knowrithm: a "still working" notice when the first words are slow, then a sentence.

Through the whole bot (runner, bridge, real client) against the local server told to stop
answering, with the waits shortened to fractions of a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import AnswerTimeout
from knowrithm_bots.core.testing import RecordingAdapter
from knowrithm_bots.core.user_messages import explain
from tests.harness import RunningBot, running_bot
from tests.support import eventually

pytestmark = pytest.mark.knowrithm_modes

NOTICE = "Hang on, the agent is still thinking…"
NOTICE_AFTER = 0.4
LIMIT = 1.5
GAVE_UP = explain(AnswerTimeout("gave up"))
THREAD = "recording:general"


# For the test of a quick answer: long enough that a loaded CI machine still answers sooner.
PATIENT_NOTICE_AFTER = 2.0


def waiting_config(notice_after: float) -> dict[str, dict[str, object]]:
    return {
        "conversations": {
            "still_working_after_seconds": notice_after,
            "still_working_text": NOTICE,
            "answer_timeout_seconds": max(LIMIT, notice_after * 2),
        }
    }


@pytest.fixture
async def bot(knowrithm: LocalKnowrithm) -> AsyncIterator[RunningBot]:
    config = waiting_config(NOTICE_AFTER)
    async with running_bot({"recording": RecordingAdapter()}, server=knowrithm, config=config) as b:
        yield b


@pytest.fixture
async def patient_bot(knowrithm: LocalKnowrithm) -> AsyncIterator[RunningBot]:
    config = waiting_config(PATIENT_NOTICE_AFTER)
    async with running_bot({"recording": RecordingAdapter()}, server=knowrithm, config=config) as b:
        yield b


def adapter_of(bot: RunningBot) -> RecordingAdapter:
    adapter = bot.adapters["recording"]
    assert isinstance(adapter, RecordingAdapter)
    return adapter


async def ask(bot: RunningBot, text: str) -> float:
    """Send ``text``, wait until it is dealt with; how long that took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    await adapter_of(bot).say(text)
    await asyncio.wait_for(bot.drain(), 30)
    return loop.time() - started


def first_post_at(adapter: RecordingAdapter, text: str, *, since: float) -> float:
    """When ``text`` was first posted at or after ``since``.

    Only posts from ``since`` on count: under load an earlier question may have had its own
    notice, which says nothing about this one.
    """
    return next(
        c.at for c in adapter.calls if c.kind == "post" and c.text == text and c.at >= since
    )


async def test_a_chat_request_that_is_never_answered_gets_the_notice_then_a_sentence(
    bot: RunningBot,
) -> None:
    adapter = adapter_of(bot)
    await ask(bot, "hello")  # the conversation exists; now Knowrithm hangs on the next send
    before = len(adapter.messages_in(THREAD))
    bot.server.faults.never_answer(path_contains="/chat")
    asked_at = asyncio.get_running_loop().time()
    took = await ask(bot, "are you there?")
    assert adapter.messages_in(THREAD)[before:] == [NOTICE, GAVE_UP]
    assert first_post_at(adapter, NOTICE, since=asked_at) - asked_at >= NOTICE_AFTER * 0.9
    assert LIMIT * 0.9 <= took < LIMIT + 5
    # Both are replies to the question they are about, in its thread.
    replies = [c for c in adapter.calls if c.kind == "post" and c.text in (NOTICE, GAVE_UP)]
    assert {c.reply_to for c in replies} == {replies[0].reply_to} != {None}

    bot.server.faults.answer_again()
    await ask(bot, "and now?")
    assert 'You asked: "and now?"' in adapter.messages_in(THREAD)[-1]


async def test_an_agent_that_never_writes_a_word_gets_the_notice_then_a_sentence(
    bot: RunningBot,
) -> None:
    adapter = adapter_of(bot)
    bot.server.faults.hold_replies(after_words=0)
    took = await ask(bot, "hello?")
    assert adapter.messages_in(THREAD) == [NOTICE, GAVE_UP]
    assert LIMIT * 0.9 <= took < LIMIT + 5
    # The typing indicator stopped with the sentence: nothing more is shown afterwards.
    calls = len(adapter.calls)
    await asyncio.sleep(0.3)
    assert len(adapter.calls) == calls

    bot.server.faults.release_replies()
    # The reply given up on lands late; the next question is asked once it has.
    await eventually(lambda: len(bot.assistant_replies()) == 1, what="the late reply")
    await ask(bot, "again")
    assert 'You asked: "again"' in adapter.messages_in(THREAD)[-1]


async def test_slow_first_words_get_the_notice_and_then_the_whole_answer(bot: RunningBot) -> None:
    adapter = adapter_of(bot)
    bot.server.faults.hold_replies(after_words=0)
    await adapter.say("take your time")
    await adapter.wait_for_messages(THREAD, count=1, within=10)
    assert adapter.messages_in(THREAD) == [NOTICE]
    bot.server.faults.release_replies()  # well before the limit
    await asyncio.wait_for(bot.drain(), 30)
    notice, answer = adapter.messages_in(THREAD)
    assert notice == NOTICE
    assert answer == bot.assistant_replies()[-1]
    assert GAVE_UP not in answer


async def test_a_quick_answer_gets_no_notice(patient_bot: RunningBot) -> None:
    adapter = adapter_of(patient_bot)
    took = await ask(patient_bot, "quick one")
    assert took < PATIENT_NOTICE_AFTER  # else this test would show nothing
    await asyncio.sleep(PATIENT_NOTICE_AFTER * 1.2)  # a notice would have been due by now
    assert adapter.messages_in(THREAD) == patient_bot.assistant_replies()


@pytest.mark.knowrithm_modes("streaming")
async def test_an_answer_that_stalls_midway_is_finished_with_the_sentence(
    bot: RunningBot,
) -> None:
    adapter = adapter_of(bot)
    bot.server.faults.hold_replies(after_words=3)
    took = await ask(bot, "tell me everything")
    (message,) = adapter.messages_in(THREAD)  # no notice: the first words came at once
    partial, _, sentence = message.rpartition("\n\n")
    assert sentence == GAVE_UP
    assert LIMIT * 0.9 <= took < LIMIT + 5
    # What was shown stays: the first three words of the answer Knowrithm was writing.
    bot.server.faults.release_replies()
    await eventually(lambda: bool(bot.assistant_replies()), what="the reply to be stored")
    (reply,) = bot.assistant_replies()
    assert len(partial.split()) == 3 and reply.startswith(partial)
