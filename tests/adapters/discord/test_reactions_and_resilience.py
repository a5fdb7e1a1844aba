"""Ratings from reactions, a dropped gateway and 429s, end to end."""

from __future__ import annotations

import math

import discord
import pytest

from knowrithm_bots.adapters.discord import DiscordAdapter
from knowrithm_bots.adapters.discord.errors import DEFAULT_RETRY_AFTER, translate
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.errors import MessageNotFound, PlatformAuthError, PlatformRateLimited
from knowrithm_bots.core.retry_after import MAX_RETRY_AFTER
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.emulators.discord_api import RateLimitRule
from tests.support import eventually

from .helpers import (
    answers,
    discord_bot,
    discord_world,
    make_adapter,
    settle,
)

pytestmark = pytest.mark.knowrithm_modes

SIXTY_WORDS = " ".join(f"w{i}" for i in range(60))


def slow_answer(question: str, history: object) -> str:
    return f"On '{question}': {SIXTY_WORDS}."


async def test_a_thumbs_up_rates_the_right_knowrithm_message() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm(agent=ScriptedAgent(slow_answer)) as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("one")
        )
        await settle(bot, world, chats=1)
        await emu.dispatch_message(channel_id=question.id, author_id=world.alice.id, content="two")
        await settle(bot, world, chats=2)
        first, second = world.bot_messages(question.id)
        (conversation,) = server.state.messages.values()
        first_id, second_id = [m.id for m in conversation if m.role == "assistant"]

        thread = question.id
        # Ignored: a custom emoji, another bot's thumbs-up, a reaction on Alice's own message.
        await emu.dispatch_reaction_add(
            channel_id=thread, message_id=first.id, user_id=world.alice.id, emoji="party:4242"
        )
        await emu.dispatch_reaction_add(
            channel_id=thread, message_id=first.id, user_id=world.other_bot.id, emoji="👍"
        )
        await emu.dispatch_reaction_add(
            channel_id=world.general.id, message_id=question.id, user_id=world.alice.id
        )
        await emu.dispatch_reaction_add(
            channel_id=thread, message_id=second.id, user_id=world.alice.id, emoji="👍"
        )
        await eventually(lambda: len(server.state.ratings) == 1, what="the rating")
        await bot.drain()
        assert [(r.message_id, r.rating) for r in server.state.ratings] == [(second_id, 5)]

        # Changing 👍 to 👎 on the first answer: a removal, then a new rating.
        await emu.dispatch_reaction_add(
            channel_id=thread, message_id=first.id, user_id=world.alice.id, emoji="👍"
        )
        await emu.dispatch_reaction_remove(
            channel_id=thread, message_id=first.id, user_id=world.alice.id, emoji="👍"
        )
        await emu.dispatch_reaction_add(
            channel_id=thread, message_id=first.id, user_id=world.alice.id, emoji="3️⃣"
        )
        await eventually(lambda: len(server.state.ratings) == 3, what="the new rating")
        await bot.drain()
        assert [(r.message_id, r.rating) for r in server.state.ratings] == [
            (second_id, 5),
            (first_id, 5),
            (first_id, 3),
        ]
        # The bot reacting itself (it never does, but Discord would echo it) is not a rating.
        bot_client = bot.adapters["discord"]
        assert isinstance(bot_client, DiscordAdapter)
        assert bot_client.client is not None
        channel = bot_client.client.get_partial_messageable(thread)
        await channel.get_partial_message(first.id).add_reaction("👎")
        # Alice's 2️⃣ reaches the bot after the echo of its own 👎 (one socket, in order), and
        # maps to a rating the 👎 could not, so a counted echo shows as an extra (first, 1).
        await emu.dispatch_reaction_add(
            channel_id=thread, message_id=second.id, user_id=world.alice.id, emoji="2️⃣"
        )
        await eventually(lambda: len(server.state.ratings) >= 4, what="the last rating")
        await bot.drain()
        assert [(r.message_id, r.rating) for r in server.state.ratings] == [
            (second_id, 5),
            (first_id, 5),
            (first_id, 3),
            (second_id, 2),
        ]


@pytest.mark.knowrithm_modes("streaming")
async def test_a_dropped_gateway_socket_loses_and_repeats_nothing() -> None:
    async with (
        discord_world() as world,
        LocalKnowrithm(agent=ScriptedAgent(slow_answer), word_delay=0.01) as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        # The answer stops after ten words until the socket is down, so the drop surely
        # lands mid-answer however slow the machine is.
        server.faults.hold_replies(after_words=10)
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("first")
        )
        await eventually(lambda: bool(world.bot_messages(question.id)), what="the answer to start")
        assert await emu.drop_gateway()
        assert answers(server) == []
        server.faults.release_replies()  # the edits go on over REST while the socket is down
        # Sent while the bot is away (nothing above yields to the loop, so it cannot have
        # reconnected yet): the RESUME replays it, exactly once.
        await emu.dispatch_message(
            channel_id=question.id, author_id=world.alice.id, content="while away"
        )
        await settle(bot, world, chats=2)
        await emu.wait_until_connected()
        assert (emu.resume_count, emu.identify_count) == (1, 1)
        from_alice = [
            data["content"]
            for name, data in emu.replayed_dispatches
            if name == "MESSAGE_CREATE" and data["author"]["id"] == str(world.alice.id)
        ]
        assert from_alice == ["while away"]
        assert [text for _, text in server.state.chat_requests] == ["first", "while away"]
        assert world.texts(question.id) == answers(server)
        assert len(server.state.conversations) == 1

        # A session Discord invalidates is identified afresh and keeps working.
        assert await emu.drop_gateway(invalidate_session=True)
        await emu.wait_until_connected()
        await emu.dispatch_message(channel_id=question.id, author_id=world.alice.id, content="new")
        await settle(bot, world, chats=3)
        assert emu.identify_count == 2
        assert world.texts(question.id) == answers(server)
        assert [text for _, text in server.state.chat_requests] == ["first", "while away", "new"]


@pytest.mark.knowrithm_modes("streaming")
async def test_429s_are_survived_without_losing_text() -> None:
    async with (
        discord_world(
            # Unannounced limits: discord.py cannot pace itself and meets real 429s.
            advertise_rate_limits=False,
            rate_limit=RateLimitRule(limit=1, per=0.8),
        ) as world,
        LocalKnowrithm(agent=ScriptedAgent(slow_answer), word_delay=0.01) as server,
        discord_bot(world, server, message_content_intent=True) as bot,
    ):
        emu = world.emu
        emu.fail_next(status=429, method="PATCH", retry_after=0.2, times=2)
        question = await emu.dispatch_message(
            channel_id=world.general.id, author_id=world.alice.id, content=world.mention("busy?")
        )
        await settle(bot, world, chats=1)
        await emu.dispatch_message(channel_id=question.id, author_id=world.alice.id, content="more")
        await settle(bot, world, chats=2)
        statuses = [c.status for c in emu.calls if c.route.startswith("/channels/{channel_id}/m")]
        assert statuses.count(429) >= 3  # two injected, the rest from the channel limit
        assert world.texts(question.id) == answers(server)
        assert len(world.bot_messages(question.id)) == 2


async def test_errors_discord_py_does_not_absorb_reach_the_engine_translated() -> None:
    async with discord_world() as world:
        emu = world.emu
        adapter = make_adapter(emu)
        await adapter.start(sink=EventRecorder())
        try:
            assert adapter.identity is not None
            thread = f"discord:{adapter.identity.application_id}:channel:{world.general.id}"
            posted = await adapter.post(thread=thread, text="**hello**")
            assert emu.messages[int(posted.id)].content == "**hello**"

            # Longer than max_rate_limit_wait: discord.py raises instead of sleeping.
            emu.fail_next(status=429, method="PATCH", retry_after=45.0)
            with pytest.raises(PlatformRateLimited) as limited:
                await adapter.edit(thread=thread, message_id=posted.id, text="x")
            assert limited.value.retry_after == pytest.approx(45.0)
            # Absurdly longer: obeying it would pause the channel for ever, so it is capped.
            emu.fail_next(status=429, method="PATCH", retry_after=1e300)
            with pytest.raises(PlatformRateLimited) as absurd:
                await adapter.edit(thread=thread, message_id=posted.id, text="x")
            assert absurd.value.retry_after == MAX_RETRY_AFTER

            # discord.py gives up after five 429s in a row.
            emu.fail_next(status=429, method="POST", retry_after=0.01, times=5)
            with pytest.raises(PlatformRateLimited) as exhausted:
                await adapter.post(thread=thread, text="y")
            # Only the headers survive discord.py's last try: Retry-After in whole seconds.
            assert exhausted.value.retry_after == pytest.approx(1.0)

            emu.fail_next(status=404, method="PATCH", code=10008, message="Unknown Message")
            with pytest.raises(MessageNotFound):
                await adapter.edit(thread=thread, message_id=posted.id, text="z")
            emu.fail_next(status=403, method="POST", code=50013, message="Missing Permissions")
            with pytest.raises(PlatformAuthError, match="Missing Permissions"):
                await adapter.post(thread=thread, text="z")
            # Deleting a message that is already gone is what was wanted.
            await adapter.delete(thread=thread, message_id=posted.id)
            await adapter.delete(thread=thread, message_id=posted.id)
            assert emu.messages[int(posted.id)].deleted
        finally:
            await adapter.stop()
            await adapter.stop()


class _Answer:
    """The parts of aiohttp's response that discord.HTTPException reads."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.status, self.reason, self.headers = 429, "Too Many Requests", headers


# The emulator cannot send these (it rounds the wait up), so the library's own exceptions
# are built here with what a broken proxy could send.


@pytest.mark.parametrize("value", ["inf", "nan", "soon"])
def test_an_unreadable_retry_after_header_waits_the_default(value: str) -> None:
    gave_up = discord.HTTPException(
        _Answer({"X-RateLimit-Reset-After": value, "Retry-After": value}),
        {"message": "You are being rate limited.", "code": 0},
    )
    error = translate(gave_up, action="posting")
    assert isinstance(error, PlatformRateLimited)
    assert error.retry_after == DEFAULT_RETRY_AFTER


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_a_rate_limit_without_a_finite_wait_waits_the_default(value: float) -> None:
    error = translate(discord.RateLimited(value), action="posting")
    assert isinstance(error, PlatformRateLimited)
    assert error.retry_after == DEFAULT_RETRY_AFTER
