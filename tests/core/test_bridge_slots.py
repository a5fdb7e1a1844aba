"""A thread holds its place in the Knowrithm queue only while Knowrithm is answering it."""

from __future__ import annotations

import asyncio

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.adapter import Posted
from knowrithm_bots.core.config.models import ConversationSettings
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.testing import RecordingAdapter
from tests.core.test_bridge import make_bot
from tests.support import stored_replies

pytestmark = pytest.mark.knowrithm_modes


class GatedPlatform(RecordingAdapter):
    """A platform whose posts wait until the test opens the gate (a long 429, say)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        await self.gate.wait()
        return await super().post(thread=thread, text=text, reply_to=reply_to)


async def until(condition: object, *, within: float = 10.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(within):
        # The local server signals nothing when it stores a reply: look every 10 ms.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_a_question_reaches_knowrithm_while_another_answer_waits_for_the_platform(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    platform = GatedPlatform()
    one_at_a_time = ConversationSettings(max_concurrent_threads=1)
    bot = await make_bot(knowrithm, client, settings=one_at_a_time, adapter=platform)
    try:
        await platform.say("first", chat="a")
        # Knowrithm finished the first answer; the platform has not shown a word of it.
        await until(lambda: len(stored_replies(knowrithm)) == 1)
        await platform.say("second", chat="b")
        await until(lambda: len(knowrithm.state.chat_requests) == 2)
        assert platform.messages_in(platform.thread_key("a")) == []
        platform.gate.set()
        await bot.bridge.drain()
        shown = [platform.messages_in(platform.thread_key(chat)) for chat in ("a", "b")]
        assert shown == [[reply.content] for reply in stored_replies(knowrithm)]
    finally:
        platform.gate.set()
        await bot.bridge.stop()
