"""The adapter's own notices go through the sink, and a channel's events keep gateway order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from knowrithm_bots.adapters.discord import DiscordAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.commands import HELP_TEXT
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.support import eventually

from .helpers import World, discord_bot, discord_world, make_adapter

pytestmark = pytest.mark.knowrithm_modes

MESSAGES_ROUTE = "/channels/{channel_id}/messages"
THREADS_ROUTE = "/channels/{channel_id}/messages/{message_id}/threads"


def _key(adapter: DiscordAdapter, kind: str, channel_id: int) -> str:
    assert adapter.identity is not None
    return f"discord:{adapter.identity.application_id}:{kind}:{channel_id}"


def _thread_calls(world: World, *, status: int) -> int:
    return sum(1 for c in world.emu.calls if c.route == THREADS_ROUTE and c.status == status)


async def test_notices_reach_the_sink_and_the_adapter_posts_none_itself() -> None:
    async with discord_world() as world:
        emu = world.emu
        adapter = make_adapter(emu, message_content_intent=False)
        recorder = EventRecorder()
        await adapter.start(sink=recorder)
        try:
            emu.fail_next(
                status=403, route=THREADS_ROUTE, code=50013, message="Missing Permissions"
            )
            refused = await emu.dispatch_message(
                channel_id=world.general.id, author_id=world.alice.id, content=world.mention("a")
            )
            started = await emu.dispatch_message(
                channel_id=world.general.id, author_id=world.alice.id, content=world.mention("b")
            )
            await recorder.message_with("b", within=5.0)
            # Content hidden (the intent is off and it does not mention the bot): a hint.
            blank = await emu.dispatch_message(
                channel_id=started.id, author_id=world.alice.id, content="no mention"
            )
            await eventually(lambda: len(recorder.notices) == 2, what="two notices")
            no_thread, hint = recorder.notices
            assert no_thread.thread == _key(adapter, "channel", world.general.id)
            assert "Create Public Threads permission" in no_thread.text
            assert no_thread.reply_to == str(refused.id)
            assert hint.thread == _key(adapter, "thread", started.id)
            assert f"<@{world.bot_id}>" in hint.text
            assert hint.reply_to == str(blank.id)
            # Posting is the sink's job now: the adapter itself wrote nothing anywhere.
            assert world.bot_messages(world.general.id) == []
            assert world.bot_messages(started.id) == []
        finally:
            await adapter.stop()


async def test_a_notice_waits_out_a_429_like_an_answer() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server) as bot,
    ):
        emu = world.emu
        emu.fail_next(status=403, route=THREADS_ROUTE, code=50013, message="Missing Permissions")
        # discord.py gives up after five 429s in a row; the Retry-After of the last (1 s)
        # then reaches the reply engine, which must wait it out and post again.
        emu.fail_next(status=429, method="POST", route=MESSAGES_ROUTE, retry_after=0.01, times=5)
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("why?")
        )
        await eventually(lambda: bool(world.texts(world.general.id)), what="the notice")
        await bot.drain()
        (notice,) = world.bot_messages(world.general.id)
        assert "Create Public Threads permission" in notice.content
        assert notice.reference_id == question.id
        posts = [c for c in emu.calls if c.method == "POST" and c.route == MESSAGES_ROUTE]
        assert [c.status for c in posts] == [429] * 5 + [200]
        assert posts[-1].time - posts[-2].time >= 0.9
        assert server.state.chat_requests == []


async def test_a_quick_second_message_waits_for_the_first_to_get_its_thread() -> None:
    async with discord_world() as world:
        emu = world.emu
        adapter = make_adapter(emu)
        recorder = EventRecorder()
        await adapter.start(sink=recorder)
        try:
            # Starting the first message's thread meets a 429 that discord.py sleeps through;
            # the second needs no thread, so unordered it would reach the sink first.
            emu.fail_next(status=429, route=THREADS_ROUTE, retry_after=0.5)
            first = await emu.dispatch_message(
                channel_id=world.general.id, author_id=world.alice.id, content=world.mention("q")
            )
            second = await emu.dispatch_message(
                channel_id=world.general.id, author_id=world.alice.id, content=world.mention("")
            )
            await recorder.message_with("", within=5.0)
            assert [m.message_id for m in recorder.messages] == [str(first.id), str(second.id)]
            assert [m.thread for m in recorder.messages] == [
                _key(adapter, "thread", first.id),
                _key(adapter, "channel", world.general.id),
            ]
            assert _thread_calls(world, status=429) == 1
        finally:
            await adapter.stop()


async def test_a_notice_and_the_next_answer_in_a_channel_keep_their_order() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server) as bot,
    ):
        emu = world.emu
        # The thread is refused only after a 429 discord.py sleeps through: meanwhile
        # "/help" arrives, and must still be answered after the notice.
        emu.fail_next(status=429, route=THREADS_ROUTE, retry_after=0.5)
        emu.fail_next(status=403, route=THREADS_ROUTE, code=50013, message="Missing Permissions")
        first = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("why?")
        )
        second = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("/help")
        )
        await eventually(lambda: len(world.texts(world.general.id)) == 2, what="two posts")
        await bot.drain()
        notice, help_answer = world.bot_messages(world.general.id)
        assert "Create Public Threads permission" in notice.content
        assert help_answer.content == HELP_TEXT
        assert (notice.reference_id, help_answer.reference_id) == (first.id, second.id)
        assert _thread_calls(world, status=429) == 1
        assert server.state.chat_requests == []


def _ours(task: asyncio.Task[Any]) -> bool:
    """Not one of the emulator's own request or socket handlers (they end by themselves)."""
    code = getattr(task.get_coro(), "cr_code", None)
    filename = code.co_filename if code is not None else ""
    return "aiohttp" not in filename and "discord_api" not in filename


async def test_stop_cancels_a_translation_in_flight_and_leaves_no_task() -> None:
    async with discord_world() as world:
        emu = world.emu
        adapter = make_adapter(emu)
        recorder = EventRecorder()
        before = asyncio.all_tasks()
        await adapter.start(sink=recorder)
        try:
            # discord.py sleeps through this 429 (under 30 s): the translation is in flight.
            emu.fail_next(status=429, route=THREADS_ROUTE, retry_after=20.0)
            await emu.dispatch_message(
                channel_id=world.general.id, author_id=world.alice.id, content=world.mention("q")
            )
            await emu.wait_for_call(route=THREADS_ROUTE)
        finally:
            await adapter.stop()

        def left() -> list[asyncio.Task[Any]]:
            return [
                t
                for t in asyncio.all_tasks()
                if t not in before and t is not asyncio.current_task() and not t.done() and _ours(t)
            ]

        await eventually(lambda: not left(), within=1.0, what="every task to end")
        assert recorder.messages == []
