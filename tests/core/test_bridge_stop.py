"""/stop ends the answer being written at once; the next message is answered as usual."""

from __future__ import annotations

import asyncio

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.bridge import STOP_MARK
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.user_messages import NOTHING_TO_STOP
from tests.core.test_bridge import make_bot

pytestmark = pytest.mark.knowrithm_modes

THREAD = "recording:general"


async def test_stop_ends_a_streaming_answer_and_the_next_message_is_answered(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await make_bot(knowrithm, client)
    try:
        knowrithm.faults.hold_replies(after_words=4)
        await bot.adapter.say("tell me a long story")
        if knowrithm.mode == "streaming":
            await bot.adapter.wait_for_messages(THREAD, count=1)
        else:
            # The documented service shows nothing before the end: wait for the question.
            async with asyncio.timeout(10):
                while not knowrithm.state.chat_requests:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        await bot.adapter.say("/stop", display_name="Grace")
        await bot.bridge.drain()
        (stopped,) = bot.adapter.messages_in(THREAD)
        assert stopped.endswith(STOP_MARK.format(name="Grace"))
        # Only what had shown stays: never the rest of the answer.
        assert "This is message 1" not in stopped
        knowrithm.faults.release_replies()

        visible = await bot.ask("and now?")
        assert '"and now?"' in visible
        # /stop never reached Knowrithm; the stopped question did, once.
        asked = [text for _, text in knowrithm.state.chat_requests]
        assert asked == ["tell me a long story", "and now?"]
    finally:
        knowrithm.faults.release_replies()
        await bot.bridge.stop()


async def test_stop_with_nothing_being_written_says_so(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    bot = await make_bot(knowrithm, client)
    try:
        visible = await bot.ask("/stop")
        assert visible == NOTHING_TO_STOP
        assert knowrithm.state.chat_requests == []
    finally:
        await bot.bridge.stop()
