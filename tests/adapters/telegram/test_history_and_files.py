"""A reply brings the replied message as context; files are read through getFile, tokens kept."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.config.models import FileSettings
from knowrithm_bots.core.events import ContextMessage
from knowrithm_bots.core.question import HISTORY_START
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.emulators.telegram_api import BOB, GROUP_ID, TelegramEmulator
from tests.harness import running_bot

from .support import adapter_for, answered

NOTES = "Meeting notes\n- ship on Friday\n- Bob owns the rollout\n"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
WAIT = 8.0


@asynccontextmanager
async def recording(adapter: TelegramAdapter) -> AsyncIterator[EventRecorder]:
    sink = EventRecorder()
    await adapter.start(sink=sink)
    try:
        yield sink
    finally:
        await adapter.stop()


def _group_message_id(update: dict[str, Any]) -> int:
    return int(update["message"]["message_id"])


async def test_a_reply_to_someone_else_carries_that_message_as_context(
    emu: TelegramEmulator,
) -> None:
    earlier = emu.build.group_text(text="the deploy failed at step 3", user=BOB)
    async with recording(adapter_for(emu)) as sink:
        emu.push_update(earlier)  # not addressed to the bot: never delivered on its own
        emu.push_update(
            emu.build.reply(
                text=f"@{emu.bot.username} what went wrong?",
                chat_id=GROUP_ID,
                message_id=_group_message_id(earlier),
            )
        )
        event = await sink.message_with("what went wrong?", within=WAIT)
    assert len(sink.messages) == 1
    assert event.context == (
        ContextMessage(author="Bob", text="the deploy failed at step 3", from_bot=False),
    )


async def test_a_reply_to_the_bot_labels_its_answer_and_cuts_its_mention(
    emu: TelegramEmulator,
) -> None:
    adapter = adapter_for(emu)
    async with LocalKnowrithm() as server, running_bot({"telegram": adapter}, server=server) as bot:
        emu.push_update(emu.build.private_text(text="hello"))
        await answered(bot, 1)
        (answer,) = [m for m in emu.messages if m.chat_id == int(emu.build.private_chat()["id"])]
    async with recording(adapter_for(emu)) as sink:
        emu.push_update(
            emu.build.reply(text="and then?", chat_id=answer.chat_id, message_id=answer.message_id)
        )
        event = await sink.message_with("and then?", within=WAIT)
    (context,) = event.context
    assert context.from_bot is True
    assert context.text == answer.text.strip()


async def test_context_is_not_fetched_when_switched_off(emu: TelegramEmulator) -> None:
    from knowrithm_bots.core.config.models import ContextSettings

    earlier = emu.build.group_text(text="some earlier words", user=BOB)
    adapter = adapter_for(emu)
    adapter.context_settings = ContextSettings(enabled=False)
    async with recording(adapter) as sink:
        emu.push_update(earlier)
        emu.push_update(
            emu.build.reply(
                text=f"@{emu.bot.username} hi",
                chat_id=GROUP_ID,
                message_id=_group_message_id(earlier),
            )
        )
        event = await sink.message_with("hi", within=WAIT)
    assert event.context == ()


async def test_a_text_file_is_read_and_a_photo_only_named(emu: TelegramEmulator) -> None:
    async with recording(adapter_for(emu)) as sink:
        emu.push_update(
            emu.build.document(
                data=NOTES.encode(),
                file_name="notes.txt",
                mime_type="text/plain",
                caption="summarise this",
            )
        )
        emu.push_update(emu.build.photo(data=JPEG, caption="and this picture"))
        with_file = await sink.message_with("summarise this", within=WAIT)
        with_photo = await sink.message_with("and this picture", within=WAIT)
    (notes,) = with_file.files
    assert (notes.name, notes.mime_type, notes.text, notes.problem) == (
        "notes.txt",
        "text/plain",
        NOTES,
        None,
    )
    (photo,) = with_photo.files
    assert (photo.name, photo.mime_type, photo.size, photo.text, photo.problem) == (
        "photo.jpg",
        "image/jpeg",
        len(JPEG),
        None,
        None,
    )
    # Only the text file was downloaded; the photo never left Telegram.
    assert len(emu.file_downloads) == 1
    assert emu.token not in repr(sink.messages)


async def test_too_big_and_binary_files_get_a_problem_and_the_big_one_is_not_fetched(
    emu: TelegramEmulator,
) -> None:
    adapter = adapter_for(emu)
    adapter.file_settings = FileSettings(max_bytes=1000)
    async with recording(adapter) as sink:
        emu.push_update(
            emu.build.document(
                data=b"a" * 5000, file_name="big.log", mime_type="text/plain", caption="big"
            )
        )
        emu.push_update(
            emu.build.document(
                data=JPEG[:500], file_name="secret.txt", mime_type="text/plain", caption="odd"
            )
        )
        emu.push_update(
            emu.build.document(
                data="café".encode("latin-1"),
                file_name="old.csv",
                mime_type="text/csv",
                caption="latin",
            )
        )
        big = await sink.message_with("big", within=WAIT)
        odd = await sink.message_with("odd", within=WAIT)
        latin = await sink.message_with("latin", within=WAIT)
    assert big.files[0].problem is not None and "1 KB limit" in big.files[0].problem
    assert odd.files[0].problem is not None and "binary" in odd.files[0].problem
    assert latin.files[0].problem is not None and "UTF-8" in latin.files[0].problem
    assert big.files[0].text is None
    assert len(emu.file_downloads) == 2  # the big one was refused by its size alone


async def test_knowrithm_receives_the_replied_message_and_the_file_and_no_token(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    earlier = emu.build.group_text(text="our invoice total looks wrong", user=BOB)
    adapter = adapter_for(emu)
    async with LocalKnowrithm() as server, running_bot({"telegram": adapter}, server=server) as bot:
        emu.push_update(earlier)
        emu.push_update(
            emu.build.reply(
                text=f"@{emu.bot.username} can you check?",
                chat_id=GROUP_ID,
                message_id=_group_message_id(earlier),
            )
        )
        emu.push_update(
            emu.build.document(
                data=NOTES.encode(), file_name="notes.txt", mime_type="text/plain", caption="read"
            )
        )
        await answered(bot, 2)
        # Sent once the file's answer is written, so that it is not merged with the file.
        emu.push_update(emu.build.photo(data=JPEG, caption="see"))
        await answered(bot, 3)
    sent = [text for _, text in server.state.chat_requests]
    (asked,) = [text for text in sent if "can you check?" in text]
    assert HISTORY_START in asked and "Bob: our invoice total looks wrong" in asked
    assert asked.endswith("can you check?")
    (read,) = [text for text in sent if text.startswith("read")]
    assert "[File notes.txt]" in read and NOTES.strip() in read
    (seen,) = [text for text in sent if text.startswith("see")]
    assert "photo.jpg (image/jpeg" in seen
    everything = "\n".join([*sent, caplog.text])
    assert emu.token not in everything
    assert emu.token.split(":", 1)[1] not in everything
