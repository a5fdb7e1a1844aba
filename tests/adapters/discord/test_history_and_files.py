"""Mentioned in a thread, the bot reads its history; a reply brings the replied message; files."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from knowrithm_bots.adapters.discord import DiscordAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.config.models import ContextSettings, FileSettings
from knowrithm_bots.core.events import ContextMessage
from knowrithm_bots.core.question import HISTORY_START
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.emulators.discord_api import AttachmentSpec
from tests.support import eventually

from .helpers import World, discord_bot, discord_world, make_adapter, settle

NOTES = "# Rollout\n1. canary\n2. everyone\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
WAIT = 8.0


@asynccontextmanager
async def recording(adapter: DiscordAdapter) -> AsyncIterator[EventRecorder]:
    sink = EventRecorder()
    await adapter.start(sink=sink)
    try:
        yield sink
    finally:
        await adapter.stop()


async def _user_thread(world: World, *texts: str) -> int:
    """A thread Bob started from his message in #general, with Alice's replies in it."""
    emu = world.emu
    bob = emu.add_user(username="bob", global_name="Bob Stone")
    starter = await emu.dispatch_message(
        channel_id=world.general.id, author_id=bob.id, content=texts[0]
    )
    thread = await emu.create_user_thread(
        channel_id=world.general.id, message_id=starter.id, name="build", owner_id=bob.id
    )
    for text in texts[1:]:
        await emu.dispatch_message(channel_id=thread.id, author_id=world.alice.id, content=text)
    return thread.id


async def test_a_mention_in_a_thread_brings_its_earlier_messages_within_the_cap() -> None:
    async with discord_world() as world:
        adapter = make_adapter(world.emu)
        adapter.context_settings = ContextSettings(history_messages=3)
        async with recording(adapter) as sink:
            thread = await _user_thread(world, "the build is red", "since noon", "lint fails")
            await world.emu.dispatch_message(
                channel_id=thread, author_id=world.alice.id, content=world.mention("why?")
            )
            event = await sink.message_with("why?", within=WAIT)
    assert event.context == (
        ContextMessage(author="Bob Stone", text="the build is red"),
        ContextMessage(author="Alice Liddell", text="since noon"),
        ContextMessage(author="Alice Liddell", text="lint fails"),
    )


async def test_only_the_newest_messages_are_kept_and_the_starter_is_then_left_out() -> None:
    async with discord_world() as world:
        adapter = make_adapter(world.emu)
        adapter.context_settings = ContextSettings(history_messages=2)
        async with recording(adapter) as sink:
            thread = await _user_thread(world, "start", *(f"note {n}" for n in range(6)))
            await world.emu.dispatch_message(
                channel_id=thread, author_id=world.alice.id, content=world.mention("sum up")
            )
            event = await sink.message_with("sum up", within=WAIT)
    assert [m.text for m in event.context] == ["note 4", "note 5"]


async def test_a_reply_in_a_channel_brings_the_replied_message_and_off_means_off() -> None:
    async with discord_world() as world:
        emu = world.emu
        async with recording(make_adapter(emu)) as sink:
            earlier = await emu.dispatch_message(
                channel_id=world.random.id,
                author_id=world.other_bot.id,
                content="Deploy 42 failed",
            )
            await emu.dispatch_message(
                channel_id=world.random.id,
                author_id=world.alice.id,
                content=world.mention("what happened?"),
                reply_to=earlier.id,
            )
            event = await sink.message_with("what happened?", within=WAIT)
        (context,) = event.context
        assert (context.author, context.text, context.from_bot) == (
            "otherbot",
            "Deploy 42 failed",
            False,
        )
        adapter = make_adapter(emu)
        adapter.context_settings = ContextSettings(enabled=False)
        async with recording(adapter) as sink:
            await emu.dispatch_message(
                channel_id=world.random.id,
                author_id=world.alice.id,
                content=world.mention("and again?"),
                reply_to=earlier.id,
            )
            event = await sink.message_with("and again?", within=WAIT)
        assert event.context == ()


async def test_a_text_file_is_read_an_image_named_and_a_big_file_not_downloaded() -> None:
    async with discord_world() as world:
        adapter = make_adapter(world.emu)
        adapter.file_settings = FileSettings(max_bytes=500)
        async with recording(adapter) as sink:
            await world.emu.dispatch_message(
                channel_id=world.general.id,
                author_id=world.alice.id,
                content=world.mention("check these"),
                attachments=[
                    AttachmentSpec(
                        filename="plan.md", content_type="text/markdown", data=NOTES.encode()
                    ),
                    AttachmentSpec(filename="shot.png", content_type="image/png", data=PNG),
                    AttachmentSpec(filename="big.txt", content_type="text/plain", data=b"x" * 900),
                ],
            )
            event = await sink.message_with("check these", within=WAIT)
    plan, shot, big = event.files
    assert (plan.name, plan.text, plan.problem) == ("plan.md", NOTES, None)
    assert (shot.mime_type, shot.size, shot.text, shot.problem) == (
        "image/png",
        len(PNG),
        None,
        None,
    )
    assert big.text is None and big.problem is not None and "limit" in big.problem
    # Only the text file was fetched, from the CDN, without the bot token.
    assert world.emu.attachment_downloads == [("plan.md", None)]
    assert world.emu.token not in repr(event)


async def test_knowrithm_receives_the_thread_and_the_file_and_no_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with (
        discord_world() as world,
        LocalKnowrithm() as server,
        discord_bot(world, server) as bot,
    ):
        thread = await _user_thread(world, "invoice 7 is wrong", "off by five")
        await world.emu.dispatch_message(
            channel_id=thread, author_id=world.alice.id, content=world.mention("fix?")
        )
        await settle(bot, world, chats=1)
        await world.emu.dispatch_message(
            channel_id=world.general.id,
            author_id=world.alice.id,
            content=world.mention("read this"),
            attachments=[
                AttachmentSpec(
                    filename="plan.md", content_type="text/markdown", data=NOTES.encode()
                ),
                AttachmentSpec(filename="shot.png", content_type="image/png", data=PNG),
            ],
        )
        await settle(bot, world, chats=2)
        await eventually(lambda: len(bot.assistant_replies()) >= 2)
    sent = [text for _, text in server.state.chat_requests]
    (asked,) = [text for text in sent if text.endswith("fix?")]
    assert HISTORY_START in asked
    assert "Bob Stone: invoice 7 is wrong" in asked and "Alice Liddell: off by five" in asked
    (read,) = [text for text in sent if text.startswith("read this")]
    assert "[File plan.md]" in read and "1. canary" in read and "shot.png (image/png" in read
    everything = "\n".join([*sent, caplog.text])
    assert world.emu.token not in everything
