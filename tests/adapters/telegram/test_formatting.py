"""Formatting: Telegram HTML, a plain-text retry when refused, unchanged edits are fine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.errors import MessageNotFound, PlatformError
from knowrithm_bots.core.markup import to_plain_text
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.emulators.telegram_api import ALICE, GROUP_ID, TelegramEmulator
from tests.harness import running_bot

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes

ALICE_ID = int(ALICE["id"])
MARKDOWN = "Use **bold** and `code` for [docs](https://example.org)."
PARSE_ERROR = 'Bad Request: can\'t parse entities: unsupported start tag "x" at byte offset 0'


@pytest.fixture
async def started(emu: TelegramEmulator) -> AsyncIterator[TelegramAdapter]:
    adapter = adapter_for(emu)
    await adapter.start(sink=EventRecorder())
    try:
        yield adapter
    finally:
        await adapter.stop()
        await adapter.stop()  # idempotent


async def test_markdown_arrives_as_telegram_formatting(emu: TelegramEmulator) -> None:
    agent = ScriptedAgent(lambda question, history: MARKDOWN)
    async with (
        LocalKnowrithm(agent=agent) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.private_text(text="format please"))
        await answered(bot, 1)
    (message,) = emu.messages
    assert message.text == "Use bold and code for docs."
    assert message.parse_mode == "HTML"
    kinds = [(e["type"], e.get("url")) for e in message.entities]
    assert kinds == [("bold", None), ("code", None), ("text_link", "https://example.org")]


@pytest.mark.knowrithm_modes("streaming")
async def test_refused_markup_is_sent_again_as_plain_text(emu: TelegramEmulator) -> None:
    agent = ScriptedAgent(lambda question, history: MARKDOWN)
    async with (
        LocalKnowrithm(agent=agent) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.fail_next(method="sendMessage", error_code=400, description=PARSE_ERROR)
        emu.fail_next(method="sendMessageDraft", error_code=400, description=PARSE_ERROR)
        emu.push_update(emu.build.private_text(text="format please"))
        await answered(bot, 1)
    refused, sent = emu.calls_of("sendMessage")
    assert (refused.status, refused.params["parse_mode"]) == (400, "HTML")
    assert sent.ok and "parse_mode" not in sent.params
    assert emu.visible_text(ALICE_ID) == [to_plain_text(MARKDOWN)]
    drafts = emu.calls_of("sendMessageDraft")
    assert drafts[0].status == 400 and drafts[1].ok and "parse_mode" not in drafts[1].params


async def test_unchanged_edits_and_unknown_messages(
    emu: TelegramEmulator, started: TelegramAdapter
) -> None:
    emu.build.group_chat()
    thread = f"telegram:{emu.bot.id}:{GROUP_ID}"
    posted = await started.post(thread=thread, text="**same**")
    await started.edit(thread=thread, message_id=posted.id, text="**same**")  # no error
    assert emu.calls_of("editMessageText")[-1].status == 400  # "message is not modified"
    await started.typing(thread=thread)
    assert emu.chat_actions[-1].chat_id == GROUP_ID
    with pytest.raises(MessageNotFound):
        await started.edit(thread=thread, message_id=f"{emu.bot.id}:{GROUP_ID}:999", text="x")
    with pytest.raises(PlatformError, match="another Telegram bot"):
        await started.post(thread=f"telegram:1:{GROUP_ID}", text="x")
    await started.delete(thread=thread, message_id=posted.id)
    await started.delete(thread=thread, message_id=posted.id)  # already gone: fine
    assert emu.visible_text(GROUP_ID) == []
    assert await started.open_native_stream(thread=thread) is None  # no drafts in groups
