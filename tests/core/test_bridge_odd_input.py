"""Odd text through the bridge, the real client and the local server: a sentence, not a crash."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.knowrithm import KnowrithmClient
from tests.core.test_bridge import Bot, make_bot

RATING_SENTENCE = "A rating must be a whole number from 1 to 5"


@pytest.fixture
async def bot(knowrithm: LocalKnowrithm, client: KnowrithmClient) -> AsyncIterator[Bot]:
    made = await make_bot(knowrithm, client)
    yield made
    await made.bridge.stop()


@pytest.mark.parametrize("digit", ["²", "①", "9" * 5000])
async def test_end_with_a_digit_int_cannot_read_gets_the_rating_sentence(
    bot: Bot, digit: str, caplog: pytest.LogCaptureFixture
) -> None:
    await bot.ask("hello")
    visible = await bot.ask(f"/end {digit}")
    assert visible.endswith("try /end 4 thanks!")
    assert RATING_SENTENCE in visible
    assert len(visible) < 2000  # a huge number is not echoed back in full
    assert bot.server.state.ends == []  # the conversation goes on
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_arabic_indic_digits_still_rate(bot: Bot) -> None:
    await bot.ask("hello")
    await bot.ask("/end ٣ شكرا")
    assert [(end.rating, end.feedback) for end in bot.server.state.ends] == [(3, "شكرا")]


async def test_end_rating_then_a_new_line_keeps_the_rating(bot: Bot) -> None:
    await bot.ask("hello")
    visible = await bot.ask("/end 3\nline two\nline three")
    assert "rated 3/5" in visible
    assert [(end.rating, end.feedback) for end in bot.server.state.ends] == [
        (3, "line two\nline three")
    ]


async def test_overlong_feedback_gets_a_sentence_and_the_conversation_goes_on(bot: Bot) -> None:
    await bot.ask("hello")
    visible = await bot.ask("/end 5 " + "x" * 9000)
    assert "Your feedback is 9,000 characters long and the limit is 8,000" in visible
    assert bot.server.state.ends == []
    await bot.ask("/end 5 " + "x" * 8000)  # at the limit: accepted
    assert [(end.rating, len(end.feedback or "")) for end in bot.server.state.ends] == [(5, 8000)]


async def test_lone_surrogates_are_replaced_before_sending(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    # A lone surrogate in the text and in the name, and a pair held as two code points.
    await bot.adapter.say("hi \ud800 there \ud83d\ude00", display_name="Ada \udcff")
    await bot.bridge.drain()
    assert [text for _, text in bot.server.state.chat_requests] == ["hi \ufffd there 😀"]
    (conversation,) = bot.server.state.conversations.values()
    assert conversation.metadata["user_name"] == "Ada \ufffd"
    visible = bot.adapter.visible(bot.adapter.thread_key("general"))
    assert visible == bot.assistant_messages()[0]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_lone_surrogate_in_end_feedback_is_replaced(bot: Bot) -> None:
    await bot.ask("hello")
    visible = await bot.ask("/end 4 good \udcff bot")
    assert "rated 4/5" in visible
    assert [(end.rating, end.feedback) for end in bot.server.state.ends] == [(4, "good \ufffd bot")]
