"""Mentioned mid-thread, the bot reads the thread (conversations.replies); files come along."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.config.models import ContextSettings
from knowrithm_bots.core.events import ContextMessage
from knowrithm_bots.core.question import HISTORY_START
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.adapters.slack.helpers import QuickSlackAdapter, slack_bot, slack_config
from tests.emulators.slack_api import SlackEmulator, events, ids

MENTION = f"<@{ids.BOT_USER_ID}>"
BOB, CAROL = "U0BOB00001", "U0CAROL001"
NOTES = "name,total\nacme,120\nglobex,75\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
WAIT = 8.0


@asynccontextmanager
async def recording(emu: SlackEmulator, adapter: SlackAdapter) -> AsyncIterator[EventRecorder]:
    sink = EventRecorder()
    await adapter.start(sink=sink)
    try:
        await emu.wait_for_socket()
        yield sink
    finally:
        await adapter.stop()


def _adapter(emu: SlackEmulator) -> SlackAdapter:
    return QuickSlackAdapter.from_config(config=slack_config(emu, mode="socket"))


def _thread(emu: SlackEmulator, *texts: tuple[str, str]) -> str:
    """Messages people wrote before the bot was involved; the thread's ts."""
    emu.add_user(user_id=BOB, real_name="Bob Stone", display_name="bob")
    emu.add_user(user_id=CAROL, real_name="Carol Diaz")
    (first_user, first_text), *rest = texts
    parent = events.channel_message(text=first_text, user=first_user)
    emu.workspace.record_inbound(parent)
    for user, text in rest:
        emu.workspace.record_inbound(
            events.thread_reply(text=text, user=user, thread_ts=parent["ts"])
        )
    return str(parent["ts"])


async def test_a_mention_inside_a_thread_brings_its_earlier_messages(emu: SlackEmulator) -> None:
    root = _thread(
        emu,
        (BOB, "our build is red since <!here> merged"),
        (CAROL, f"it fails on lint, {MENTION} knows the rules"),
    )
    async with recording(emu, _adapter(emu)) as sink:
        await emu.push_socket_event(
            events.thread_reply(text=f"{MENTION} can you help?", thread_ts=root)
        )
        event = await sink.message_with("can you help?", within=WAIT)
    assert event.context == (
        ContextMessage(author="bob", text="our build is red since @here merged"),
        ContextMessage(author="Carol Diaz", text="it fails on lint, knows the rules"),
    )
    (call,) = emu.calls_to("conversations.replies")
    assert call.params["ts"] == root


async def test_history_is_capped_to_the_newest_and_labels_the_bot(emu: SlackEmulator) -> None:
    root = _thread(emu, (BOB, "start"), *((CAROL, f"message {n}") for n in range(30)))
    adapter = _adapter(emu)
    adapter.context_settings = ContextSettings(history_messages=3)
    async with recording(emu, adapter) as sink:
        emu.workspace.record_inbound(
            events.bot_message(text="an answer of mine", bot_id=ids.BOT_ID, thread_ts=root)
            | {"user": ids.BOT_USER_ID}
        )
        await emu.push_socket_event(events.thread_reply(text=f"{MENTION} and now?", thread_ts=root))
        event = await sink.message_with("and now?", within=WAIT)
    assert [(m.author, m.text, m.from_bot) for m in event.context] == [
        ("Carol Diaz", "message 28", False),
        ("Carol Diaz", "message 29", False),
        ("assistant", "an answer of mine", True),
    ]


async def test_a_new_thread_and_a_switched_off_context_fetch_nothing(emu: SlackEmulator) -> None:
    root = _thread(emu, (BOB, "earlier"))
    adapter = _adapter(emu)
    adapter.context_settings = ContextSettings(enabled=False)
    async with recording(emu, adapter) as sink:
        await emu.push_socket_event(events.app_mention(text=f"{MENTION} fresh question"))
        await emu.push_socket_event(
            events.thread_reply(text=f"{MENTION} in thread", thread_ts=root)
        )
        fresh = await sink.message_with("fresh question", within=WAIT)
        inside = await sink.message_with("in thread", within=WAIT)
    assert fresh.context == () and inside.context == ()
    assert emu.calls_to("conversations.replies") == []


async def test_a_text_file_is_read_with_the_token_in_a_header_and_an_image_named(
    emu: SlackEmulator,
) -> None:
    text_file = emu.add_file(name="totals.csv", mimetype="text/csv", data=NOTES.encode())
    image = emu.add_file(name="chart.png", mimetype="image/png", data=PNG)
    async with recording(emu, _adapter(emu)) as sink:
        await emu.push_socket_event(
            events.file_share(
                channel=ids.IM_CHANNEL_ID, text="what is the sum?", files=[text_file, image]
            )
        )
        event = await sink.message_with("what is the sum?", within=WAIT)
    csv, png = event.files
    assert (csv.name, csv.mime_type, csv.text, csv.problem) == (
        "totals.csv",
        "text/csv",
        NOTES,
        None,
    )
    assert (png.name, png.mime_type, png.size, png.text) == (
        "chart.png",
        "image/png",
        len(PNG),
        None,
    )
    # One download, of the text file, authorised by header; the URL is kept out of the event.
    ((path, header),) = emu.file_downloads
    assert path.endswith("/totals.csv") and header == f"Bearer {ids.BOT_TOKEN}"
    assert ids.BOT_TOKEN not in repr(event) and "files-pri" not in repr(event)


async def test_a_file_url_on_another_host_is_never_sent_the_token(emu: SlackEmulator) -> None:
    planted = emu.add_file(name="notes.txt", mimetype="text/plain", data=b"hello")
    planted["url_private_download"] = planted["url_private"] = "http://127.0.0.2:9/notes.txt"
    async with recording(emu, _adapter(emu)) as sink:
        await emu.push_socket_event(
            events.file_share(channel=ids.IM_CHANNEL_ID, text="read it", files=[planted])
        )
        event = await sink.message_with("read it", within=WAIT)
    (file,) = event.files
    assert file.text is None and file.problem is not None and "downloaded" in file.problem
    assert emu.file_downloads == []


async def test_knowrithm_receives_the_thread_and_the_file_and_no_token(
    emu: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    root = _thread(emu, (BOB, "the invoice total looks wrong"), (CAROL, "agreed, off by 5"))
    text_file = emu.add_file(name="totals.csv", mimetype="text/csv", data=NOTES.encode())
    image = emu.add_file(name="chart.png", mimetype="image/png", data=PNG)
    async with LocalKnowrithm() as server, slack_bot(emu, server) as bot:
        await bot.send(events.thread_reply(text=f"{MENTION} can you check?", thread_ts=root))
        await bot.send(
            events.file_share(channel=ids.IM_CHANNEL_ID, text="sum these", files=[text_file, image])
        )
        await bot.settle()
    sent = [text for _, text in server.state.chat_requests]
    (asked,) = [text for text in sent if "can you check?" in text]
    assert HISTORY_START in asked
    assert "bob: the invoice total looks wrong" in asked and "Carol Diaz: agreed" in asked
    (summed,) = [text for text in sent if text.startswith("sum these")]
    assert "[File totals.csv]" in summed and "acme,120" in summed
    assert "chart.png (image/png" in summed
    everything = "\n".join([*sent, caplog.text])
    assert ids.BOT_TOKEN not in everything
    # A private URL is useless without the token, but Knowrithm never gets one either.
    # (slack_sdk's own DEBUG log of the event Slack sent shows it, as Slack sent it.)
    assert not [text for text in sent if "files-pri" in text]
