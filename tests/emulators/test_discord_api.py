"""The Discord emulator, driven by the real discord.py client over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.emulators.discord_api import (
    AttachmentSpec,
    ChannelInfo,
    DiscordEmulator,
    GuildInfo,
    RateLimitRule,
    UserInfo,
    discord_emulator,  # noqa: F401  (the shipped fixture, used by one test below)
    patched_discord_py,
)

WAIT_S = 5.0
MESSAGES_ROUTE = "/channels/{channel_id}/messages"
MESSAGE_ROUTE = "/channels/{channel_id}/messages/{message_id}"


@dataclass
class World:
    emu: DiscordEmulator
    guild: GuildInfo
    channel: ChannelInfo
    alice: UserInfo
    other_bot: UserInfo
    dm: ChannelInfo


@dataclass
class Bot:
    """A running discord.Client plus queues of the events it received."""

    client: discord.Client
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    messages: asyncio.Queue[discord.Message] = field(default_factory=asyncio.Queue)
    raw_reactions: asyncio.Queue[discord.RawReactionActionEvent] = field(
        default_factory=asyncio.Queue
    )
    threads: asyncio.Queue[discord.Thread] = field(default_factory=asyncio.Queue)

    async def next_message(self, *, not_from: int | None = None) -> discord.Message:
        """The next on_message, skipping messages authored by `not_from` (the bot's echoes)."""
        while True:
            message = await asyncio.wait_for(self.messages.get(), WAIT_S)
            if message.author.id != not_from:
                return message


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with DiscordEmulator(heartbeat_interval_ms=500) as emu:
        guild = emu.add_guild(name="Knowrithm Test")
        channel = emu.add_text_channel(guild_id=guild.id, name="general")
        alice = emu.add_user(username="alice")
        other_bot = emu.add_user(username="otherbot", bot=True)
        dm = emu.add_dm_channel(user_id=alice.id)
        with patched_discord_py(emu):
            yield World(emu, guild, channel, alice, other_bot, dm)


def make_intents(*, message_content: bool) -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = message_content
    return intents


@contextlib.asynccontextmanager
async def running_bot(
    emu: DiscordEmulator,
    *,
    message_content: bool = True,
    fast_reidentify: bool = False,
    intents: discord.Intents | None = None,
) -> AsyncIterator[Bot]:
    client = discord.Client(
        intents=intents or make_intents(message_content=message_content),
        guild_ready_timeout=0.05,
        chunk_guilds_at_startup=False,
    )
    if fast_reidentify:
        # discord.py sleeps 5 s before every IDENTIFY but the first; its public hook skips it.
        async def before_identify_hook(shard_id: int | None, *, initial: bool = False) -> None:
            del shard_id, initial

        client.before_identify_hook = before_identify_hook  # type: ignore[method-assign]
    bot = Bot(client)

    async def on_ready() -> None:
        bot.ready.set()

    async def on_message(message: discord.Message) -> None:
        await bot.messages.put(message)

    async def on_raw_reaction_add(event: discord.RawReactionActionEvent) -> None:
        await bot.raw_reactions.put(event)

    async def on_raw_reaction_remove(event: discord.RawReactionActionEvent) -> None:
        await bot.raw_reactions.put(event)

    async def on_thread_create(thread: discord.Thread) -> None:
        await bot.threads.put(thread)

    for handler in (
        on_ready,
        on_message,
        on_raw_reaction_add,
        on_raw_reaction_remove,
        on_thread_create,
    ):
        client.event(handler)
    task = asyncio.create_task(client.start(emu.token))
    try:
        ready = asyncio.create_task(bot.ready.wait())
        done, _ = await asyncio.wait({ready, task}, timeout=WAIT_S, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()
            raise TimeoutError("the client never became ready")
        yield bot
    finally:
        await client.close()
        await asyncio.wait_for(task, WAIT_S)


async def test_login_connect_and_ready_with_guild_cached(world: World) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        client = bot.client
        assert client.user is not None
        assert client.user.id == emu.bot_user.id
        assert client.application_id == emu.application_id
        guild = client.get_guild(world.guild.id)
        assert guild is not None
        assert guild.name == "Knowrithm Test"
        assert not guild.unavailable
        channel = client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        assert channel.name == "general"
        assert emu.identify_count == 1
        assert emu.intents == client.intents.value
        assert [c.path for c in emu.calls[:2]] == ["/users/@me", "/oauth2/applications/@me"]
        assert emu.gateway.heartbeat_count >= 1


async def test_bad_token_is_a_login_failure(world: World) -> None:
    client = discord.Client(intents=make_intents(message_content=False))
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    finally:
        await client.close()
    assert world.emu.calls[-1].status == 401


async def test_on_message_receives_user_bot_dm_and_attachment_messages(world: World) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        await emu.dispatch_message(
            channel_id=world.channel.id,
            author_id=world.alice.id,
            content=f"hello <@{emu.bot_user.id}>",
        )
        message = await bot.next_message()
        assert message.content == f"hello <@{emu.bot_user.id}>"
        assert message.author.id == world.alice.id
        assert not message.author.bot
        assert message.guild is not None
        assert message.guild.id == world.guild.id
        assert message.channel.id == world.channel.id
        assert [m.id for m in message.mentions] == [emu.bot_user.id]

        await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.other_bot.id, content="beep"
        )
        from_bot = await bot.next_message()
        assert from_bot.author.bot
        assert from_bot.content == "beep"

        await emu.dispatch_message(
            channel_id=world.channel.id,
            author_id=world.alice.id,
            attachments=[AttachmentSpec(filename="chart.png", content_type="image/png")],
        )
        with_file = await bot.next_message()
        assert with_file.content == ""
        assert [a.filename for a in with_file.attachments] == ["chart.png"]
        assert with_file.attachments[0].content_type == "image/png"

        await emu.dispatch_message(channel_id=world.dm.id, author_id=world.alice.id, content="psst")
        direct = await bot.next_message()
        assert isinstance(direct.channel, discord.DMChannel)
        assert direct.guild is None
        assert direct.content == "psst"


async def test_send_edit_reply_and_delete_hit_rest(world: World) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        channel = bot.client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("thinking…")
        call = await emu.wait_for_call(method="POST", route=MESSAGES_ROUTE)
        assert call.json["content"] == "thinking…"
        assert call.path == f"/channels/{world.channel.id}/messages"
        stored = emu.messages[sent.id]
        assert stored.author_id == emu.bot_user.id
        assert stored.channel_id == world.channel.id
        assert stored.guild_id == world.guild.id

        # Discord echoes the bot's own message on the gateway; bots must ignore it.
        echo = await bot.next_message()
        assert echo.id == sent.id
        assert echo.author == bot.client.user

        edited = await sent.edit(content="the answer is 42")
        assert edited.content == "the answer is 42"
        assert edited.edited_at is not None
        patch = await emu.wait_for_call(method="PATCH", route=MESSAGE_ROUTE)
        assert patch.json["content"] == "the answer is 42"
        assert stored.versions == ["thinking…", "the answer is 42"]
        assert stored.edit_count == 1

        await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.alice.id, content="q"
        )
        question = await bot.next_message(not_from=emu.bot_user.id)
        reply = await question.reply("a")
        assert reply.reference is not None
        assert reply.reference.message_id == question.id
        assert emu.messages[reply.id].reference_id == question.id

        upload = await channel.send(file=discord.File(io.BytesIO(b"a,b\n1,2\n"), "table.csv"))
        assert [a.filename for a in upload.attachments] == ["table.csv"]
        assert emu.messages[upload.id].attachments[0]["size"] == 8
        assert emu.calls[-1].files == ("table.csv",)

        fetched = await channel.fetch_message(sent.id)
        assert fetched.content == "the answer is 42"
        await sent.delete()
        assert emu.messages[sent.id].deleted
        with pytest.raises(discord.NotFound):
            await channel.fetch_message(sent.id)


async def test_rest_identity_gateway_and_error_shapes(world: World) -> None:
    emu = world.emu
    auth = {"Authorization": f"Bot {emu.token}"}
    async with aiohttp.ClientSession() as session:

        async def get(path: str, headers: dict[str, str]) -> tuple[int, str, Any]:
            async with session.get(emu.api_base + path, headers=headers) as response:
                return response.status, response.headers["Content-Type"], await response.json()

        status, content_type, me = await get("/users/@me", auth)
        assert (status, content_type) == (200, "application/json")
        assert me["id"] == str(emu.bot_user.id)
        assert me["bot"] is True
        _, _, gateway = await get("/gateway", {})
        assert gateway["url"] == str(emu.gateway_url)
        _, _, gateway_bot = await get("/gateway/bot", auth)
        assert gateway_bot["shards"] == 1
        assert gateway_bot["session_start_limit"]["max_concurrency"] == 1
        assert await get("/users/@me", {}) == (
            401,
            "application/json",
            {"message": "401: Unauthorized", "code": 0},
        )
        status, _, unknown = await get("/channels/42", auth)
        assert (status, unknown["code"]) == (404, 10003)
        status, _, no_route = await get("/no/such/route", auth)
        assert (status, no_route["code"]) == (404, 0)
    # Bodies are logged, tokens never are.
    assert all(emu.token not in repr(call) for call in emu.calls)


async def test_content_over_2000_chars_is_rejected_like_discord(world: World) -> None:
    async with running_bot(world.emu) as bot:
        channel = bot.client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as caught:
            await channel.send("x" * 2001)
        assert caught.value.status == 400
        assert caught.value.code == 50035
        assert "Must be 2000 or fewer in length" in caught.value.text
        assert "content" in caught.value.text
        assert not world.emu.messages_in(channel_id=world.channel.id)
        ok = await channel.send("x" * 2000)
        assert len(world.emu.messages[ok.id].content) == 2000


async def test_429_is_slept_on_and_retried_by_the_library(world: World) -> None:
    emu = world.emu
    # Without advertised headers the library cannot pace itself, so it meets the 429.
    emu.advertise_rate_limits = False
    # A window far longer than two sends take even on a loaded machine, so the second send
    # certainly lands inside it; the library's retry must wait for the window to end.
    emu.set_rate_limit(rule=RateLimitRule(limit=1, per=1.0), channel_id=world.channel.id)
    async with running_bot(emu) as bot:
        channel = bot.client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        started = time.monotonic()
        first = await channel.send("one")
        second = await channel.send("two")
        elapsed = time.monotonic() - started
        posts = [c for c in emu.calls if c.route == MESSAGES_ROUTE]
        assert [c.status for c in posts] == [200, 429, 200]
        assert elapsed >= 0.9
        assert [emu.messages[m.id].content for m in (first, second)] == ["one", "two"]


async def test_advertised_rate_limit_headers_pace_the_library(world: World) -> None:
    emu = world.emu
    emu.set_rate_limit(rule=RateLimitRule(limit=2, per=0.4), channel_id=world.channel.id)
    async with running_bot(emu) as bot:
        channel = bot.client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        started = time.monotonic()
        for text in ("a", "b", "c"):
            await channel.send(text)
        elapsed = time.monotonic() - started
        posts = [c for c in emu.calls if c.route == MESSAGES_ROUTE]
        assert [c.status for c in posts] == [200, 200, 200]
        assert elapsed >= 0.25


async def test_fail_next_injects_a_429_and_other_errors(world: World) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        channel = bot.client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        emu.fail_next(status=429, method="POST", route=MESSAGES_ROUTE, retry_after=0.05)
        sent = await channel.send("after a 429")
        assert emu.messages[sent.id].content == "after a 429"
        assert [c.status for c in emu.calls if c.route == MESSAGES_ROUTE] == [429, 200]

        emu.fail_next(status=403, route=MESSAGES_ROUTE, code=50013, message="Missing Permissions")
        with pytest.raises(discord.Forbidden) as caught:
            await channel.send("nope")
        assert caught.value.code == 50013


async def test_rate_limit_window_with_injected_clock_and_switch() -> None:
    now = [100.0]
    async with DiscordEmulator(
        clock=lambda: now[0], rate_limit=RateLimitRule(limit=2, per=10.0)
    ) as emu:
        guild = emu.add_guild(name="g")
        channel = emu.add_text_channel(guild_id=guild.id, name="c")
        url = f"{emu.api_base}/channels/{channel.id}/messages"
        headers = {"Authorization": f"Bot {emu.token}"}
        async with aiohttp.ClientSession(headers=headers) as session:

            async def post() -> tuple[int, dict[str, Any], Any]:
                async with session.post(url, json={"content": "hi"}) as response:
                    return response.status, dict(response.headers), await response.json()

            first = await post()
            assert first[0] == 200
            assert first[1]["X-RateLimit-Remaining"] == "1"
            assert (await post())[0] == 200
            now[0] += 4.0
            status, limited_headers, body = await post()
            assert status == 429
            assert body["retry_after"] == pytest.approx(6.0)
            assert body["global"] is False
            assert body["message"]
            assert limited_headers["Via"]
            assert limited_headers["Retry-After"] == "6"
            assert limited_headers["X-RateLimit-Remaining"] == "0"
            now[0] += 6.0
            assert (await post())[0] == 200
            emu.rate_limits_enabled = False
            assert [(await post())[0] for _ in range(3)] == [200, 200, 200]


async def test_create_thread_uses_the_message_id_and_dispatches_thread_create(
    world: World,
) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        channel = bot.client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.alice.id, content="start here"
        )
        question = await bot.next_message()
        thread = await question.create_thread(name="Knowrithm answer")
        assert isinstance(thread, discord.Thread)
        assert thread.id == question.id
        assert thread.parent_id == world.channel.id
        assert emu.threads[thread.id].name == "Knowrithm answer"
        created = await asyncio.wait_for(bot.threads.get(), WAIT_S)
        assert created.id == thread.id
        assert bot.client.get_channel(thread.id) is not None

        in_thread = await thread.send("answer in thread")
        stored = emu.messages[in_thread.id]
        assert stored.channel_id == thread.id
        assert stored.guild_id == world.guild.id

        with pytest.raises(discord.HTTPException) as caught:
            await question.create_thread(name="again")
        assert caught.value.code == 160004

        other = await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.alice.id, content="my own thread"
        )
        await emu.create_user_thread(
            channel_id=world.channel.id,
            message_id=other.id,
            name="alice's",
            owner_id=world.alice.id,
        )
        by_user = await asyncio.wait_for(bot.threads.get(), WAIT_S)
        assert by_user.id == other.id
        assert by_user.owner_id == world.alice.id


async def test_raw_reaction_events_fire_and_bot_reactions_are_recorded(world: World) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        channel = bot.client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        answer = await channel.send("rate me")
        await emu.dispatch_reaction_add(
            channel_id=world.channel.id, message_id=answer.id, user_id=world.alice.id, emoji="👍"
        )
        added = await asyncio.wait_for(bot.raw_reactions.get(), WAIT_S)
        assert added.event_type == "REACTION_ADD"
        assert added.message_id == answer.id
        assert added.user_id == world.alice.id
        assert added.channel_id == world.channel.id
        assert added.guild_id == world.guild.id
        assert str(added.emoji) == "👍"
        assert added.type == discord.ReactionType.normal

        await emu.dispatch_reaction_remove(
            channel_id=world.channel.id, message_id=answer.id, user_id=world.alice.id, emoji="👍"
        )
        removed = await asyncio.wait_for(bot.raw_reactions.get(), WAIT_S)
        assert removed.event_type == "REACTION_REMOVE"
        assert removed.user_id == world.alice.id

        await answer.add_reaction("👎")
        assert emu.reactions_on(message_id=answer.id) == {"👎": [emu.bot_user.id]}
        own = await asyncio.wait_for(bot.raw_reactions.get(), WAIT_S)
        assert own.user_id == emu.bot_user.id
        await answer.remove_reaction("👎", bot.client.user)  # type: ignore[arg-type]
        assert emu.reactions_on(message_id=answer.id) == {}
        assert [(r.action, r.emoji) for r in emu.reactions] == [
            ("add", "👍"),
            ("remove", "👍"),
            ("add", "👎"),
            ("remove", "👎"),
        ]


async def test_dropped_socket_is_resumed_and_missed_dispatches_replayed(world: World) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        assert await emu.drop_gateway()
        # Sent while the client is away: the RESUME must replay it.
        await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.alice.id, content="while away"
        )
        missed = await bot.next_message()
        assert missed.content == "while away"
        await emu.wait_until_connected()
        assert emu.resume_count == 1
        assert emu.identify_count == 1
        assert emu.gateway.connection_paths[-1] == "/gateway/resume"

        await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.alice.id, content="after resume"
        )
        assert (await bot.next_message()).content == "after resume"


async def test_invalidated_session_makes_the_client_identify_again(world: World) -> None:
    emu = world.emu
    async with running_bot(emu, fast_reidentify=True) as bot:
        assert await emu.drop_gateway(invalidate_session=True)
        await emu.wait_until_connected()
        assert emu.identify_count == 2
        assert emu.gateway.invalid_session_count == 1
        await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.alice.id, content="fresh session"
        )
        assert (await bot.next_message()).content == "fresh session"


async def test_reconnect_opcode_leads_to_a_resume(world: World) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        assert await emu.request_reconnect()
        await emu.wait_until_connected()
        assert emu.resume_count == 1
        await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.alice.id, content="x"
        )
        assert (await bot.next_message()).content == "x"


async def test_content_is_blank_without_the_message_content_intent(world: World) -> None:
    emu = world.emu
    async with running_bot(emu, message_content=False) as bot:
        assert emu.intents is not None
        assert not emu.intents & discord.Intents(message_content=True).value
        await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.alice.id, content="secret plan"
        )
        blank = await bot.next_message()
        assert blank.content == ""
        await emu.dispatch_message(
            channel_id=world.channel.id,
            author_id=world.alice.id,
            content=f"<@{emu.bot_user.id}> what is 2+2?",
        )
        mentioned = await bot.next_message()
        assert mentioned.content == f"<@{emu.bot_user.id}> what is 2+2?"
        await emu.dispatch_message(channel_id=world.dm.id, author_id=world.alice.id, content="dm")
        assert (await bot.next_message()).content == "dm"


async def test_events_outside_the_identified_intents_are_not_sent(world: World) -> None:
    emu = world.emu
    intents = make_intents(message_content=True)
    intents.reactions = False
    async with running_bot(emu, intents=intents) as bot:
        target = await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.alice.id, content="react to me"
        )
        await bot.next_message()
        await emu.dispatch_reaction_add(
            channel_id=world.channel.id, message_id=target.id, user_id=world.alice.id
        )
        await emu.dispatch_message(
            channel_id=world.channel.id, author_id=world.alice.id, content="z"
        )
        # One socket keeps order: had the reaction been sent, it would have arrived first.
        assert (await bot.next_message()).content == "z"
        assert bot.raw_reactions.empty()
        assert emu.reactions_on(message_id=target.id) == {"👍": [world.alice.id]}


async def test_disallowed_privileged_intent_is_refused() -> None:
    async with DiscordEmulator(allowed_privileged_intents=0) as emu:
        with patched_discord_py(emu), pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_bot(emu, message_content=True):
                pass
        assert emu.identify_count == 0


async def test_typing_dm_creation_and_command_registration(world: World) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        client = bot.client
        channel = client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        async with channel.typing():
            await emu.wait_for_call(method="POST", route="/channels/{channel_id}/typing")
        assert [t.channel_id for t in emu.typing] == [world.channel.id]

        alice = await client.fetch_user(world.alice.id)
        direct = await alice.send("hello in private")
        assert emu.messages[direct.id].channel_id == world.dm.id
        assert emu.messages[direct.id].guild_id is None
        await emu.wait_for_call(method="POST", path="/users/@me/channels")

        tree = app_commands.CommandTree(client)

        @tree.command(name="ask", description="Ask the agent")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            del interaction, question

        synced = await tree.sync()
        assert [c.name for c in synced] == ["ask"]
        assert [c["name"] for c in emu.commands[None]] == ["ask"]
        assert emu.commands[None][0]["options"][0]["name"] == "question"
        guild_synced = await tree.sync(guild=discord.Object(id=world.guild.id))
        assert guild_synced == []
        assert emu.commands[world.guild.id] == []


async def test_wait_for_call_times_out_with_a_clear_error(world: World) -> None:
    with pytest.raises(TimeoutError, match="no call matched"):
        await world.emu.wait_for_call(method="DELETE", timeout_s=0.05)


async def test_shipped_fixture_points_discord_py_at_the_emulator(
    discord_emulator: DiscordEmulator,  # noqa: F811
) -> None:
    assert discord_emulator.api_base == discord.http.Route.BASE
    assert discord_emulator.gateway_url == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    guild = discord_emulator.add_guild(name="fixture guild")
    discord_emulator.add_text_channel(guild_id=guild.id, name="chat")
    async with running_bot(discord_emulator) as bot:
        assert bot.client.get_guild(guild.id) is not None


async def test_guild_membership_is_answered_per_user(world: World) -> None:
    emu = world.emu
    outsider = emu.add_user(username="visitor", guilds=[])
    async with running_bot(emu) as bot:
        guild = bot.client.get_guild(world.guild.id)
        assert guild is not None
        member = await guild.fetch_member(world.alice.id)
        assert member.id == world.alice.id
        with pytest.raises(discord.NotFound) as caught:
            await guild.fetch_member(outsider.id)
        assert caught.value.code == 10007
    assert outsider.id not in [u.id for u in emu.world.members_of(world.guild.id)]
    with pytest.raises(KeyError):
        emu.add_user(username="lost", guilds=[12345])


async def test_threads_added_before_connecting_arrive_in_guild_create(world: World) -> None:
    emu = world.emu
    thread = emu.add_thread(channel_id=world.channel.id, name="earlier")
    async with running_bot(emu) as bot:
        cached = bot.client.get_channel(thread.id)
        assert isinstance(cached, discord.Thread)
        assert cached.owner_id == emu.bot_user.id
        assert cached.parent_id == world.channel.id
        assert cached.name == "earlier"


async def test_a_raw_dispatch_reaches_discord_py_as_given_and_is_sequenced(world: World) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        payload = emu.message_payload(
            channel_id=world.dm.id, author_id=world.alice.id, content="built, not sent"
        )
        assert bot.messages.empty()
        await emu.dispatch_raw(event="MESSAGE_CREATE", data=payload)
        message = await bot.next_message()
        assert (message.id, message.content) == (int(payload["id"]), "built, not sent")
        reaction = emu.reaction_payload(
            channel_id=world.dm.id, message_id=message.id, user_id=world.alice.id, added=True
        )
        await emu.dispatch_raw(event="MESSAGE_REACTION_ADD", data=reaction)
        event = await asyncio.wait_for(bot.raw_reactions.get(), WAIT_S)
        assert (event.message_id, event.emoji.name) == (message.id, "👍")
        # Malformed data goes out too, sequenced and kept for RESUME like any dispatch.
        session = emu.gateway.session
        assert session is not None
        seq = session.seq
        await emu.dispatch_raw(event="THREAD_CREATE", data=["not", "a", "thread"])
        assert session.seq == seq + 1
        assert session.history[-1]["d"] == ["not", "a", "thread"]


async def test_a_button_click_is_an_interaction_answered_once_within_three_seconds(
    world: World,
) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        clicks: asyncio.Queue[discord.Interaction] = asyncio.Queue()

        async def on_interaction(interaction: discord.Interaction) -> None:
            await clicks.put(interaction)

        bot.client.event(on_interaction)
        channel = bot.client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("answer")
        with pytest.raises(LookupError):
            await emu.click(channel_id=channel.id, message_id=sent.id, user_id=world.alice.id)
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Yes", custom_id="yes"))
        view.stop()  # rendered only: the test reads clicks through on_interaction
        await sent.edit(view=view)
        stored = emu.messages[sent.id]
        assert stored.content == "answer"  # a components-only edit keeps the content
        assert stored.components[0]["components"][0]["custom_id"] == "yes"

        click = await emu.click(
            channel_id=channel.id, message_id=sent.id, user_id=world.alice.id, custom_id="yes"
        )
        interaction = await asyncio.wait_for(clicks.get(), WAIT_S)
        assert interaction.type is discord.InteractionType.component
        assert interaction.data is not None and interaction.data.get("custom_id") == "yes"
        assert interaction.user.id == world.alice.id
        assert interaction.message is not None and interaction.message.id == sent.id
        assert interaction.channel_id == channel.id
        await interaction.response.send_message("only you see this", ephemeral=True)
        assert click.ephemeral and click.content == "only you see this"

        url = f"{emu.api_base}/interactions/{click.id}/{click.token}/callback"
        again = {"type": 4, "data": {"content": "again"}}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=again) as answered_twice:
                assert answered_twice.status == 400
                assert (await answered_twice.json())["code"] == 40060
            late = await emu.click(
                channel_id=channel.id, message_id=sent.id, user_id=world.alice.id
            )
            late.sent_at -= 4.0  # Discord waits 3 s for the answer
            late_url = f"{emu.api_base}/interactions/{late.id}/{late.token}/callback"
            async with http.post(late_url, json=again) as too_late:
                assert too_late.status == 404
                assert (await too_late.json())["code"] == 10062
            forged = f"{emu.api_base}/interactions/{late.id}/not-the-token/callback"
            async with http.post(forged, json=again) as unknown:
                assert unknown.status == 404
            # Components are checked as Discord checks them: here a button without custom_id.
            patch = f"{emu.api_base}/channels/{channel.id}/messages/{sent.id}"
            no_id = [{"type": 1, "components": [{"type": 2, "style": 1, "label": "x"}]}]
            headers = {"Authorization": f"Bot {emu.token}"}
            async with http.patch(patch, json={"components": no_id}, headers=headers) as bad:
                assert bad.status == 400
                assert (await bad.json())["code"] == 50035
        assert late.response is None


async def test_a_click_answered_with_a_modal_comes_back_as_a_modal_submit(world: World) -> None:
    emu = world.emu
    async with running_bot(emu) as bot:
        seen: asyncio.Queue[discord.Interaction] = asyncio.Queue()

        async def on_interaction(interaction: discord.Interaction) -> None:
            await seen.put(interaction)

        bot.client.event(on_interaction)
        channel = bot.client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Why", custom_id="why"))
        view.stop()
        sent = await channel.send("answer", view=view)
        refused = await emu.click(
            channel_id=channel.id, message_id=sent.id, user_id=world.alice.id, custom_id="why"
        )
        interaction = await asyncio.wait_for(seen.get(), WAIT_S)
        url = f"{emu.api_base}/interactions/{refused.id}/{refused.token}/callback"
        long_title = {
            "type": 9,
            "data": {"custom_id": "m", "title": "x" * 46, "components": []},
        }
        async with aiohttp.ClientSession() as http, http.post(url, json=long_title) as bad:
            assert bad.status == 400
            assert (await bad.json())["code"] == 50035
        assert refused.response is None

        click = await emu.click(
            channel_id=channel.id, message_id=sent.id, user_id=world.alice.id, custom_id="why"
        )
        interaction = await asyncio.wait_for(seen.get(), WAIT_S)

        class Why(discord.ui.Modal, title="Tell us why"):
            reason: discord.ui.TextInput[Why] = discord.ui.TextInput(
                label="Why?", custom_id="reason", style=discord.TextStyle.paragraph
            )

        modal = Why(custom_id="why-modal", timeout=None)
        modal.stop()
        await interaction.response.send_modal(modal)
        assert click.response is not None and click.response["type"] == 9
        with pytest.raises(ValueError, match="requires 'reason'"):
            await emu.submit_modal(opened_by=click, values={})
        submitted = await emu.submit_modal(opened_by=click, values={"reason": "too vague"})
        submission = await asyncio.wait_for(seen.get(), WAIT_S)
        assert submission.type is discord.InteractionType.modal_submit
        assert submission.user.id == world.alice.id
        assert submission.data is not None and submission.data.get("custom_id") == "why-modal"
        rows = submission.data.get("components")
        assert rows == [
            {"type": 1, "components": [{"type": 4, "custom_id": "reason", "value": "too vague"}]}
        ]
        await submission.response.send_message("thanks", ephemeral=True)
        assert submitted.ephemeral and submitted.content == "thanks"
