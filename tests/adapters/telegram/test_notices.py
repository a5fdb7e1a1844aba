"""The adapter's own notices go through the bridge: paced, 429s waited out, after the answers."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.emulators.telegram_api import ALICE, BOB, GROUP_ID, TelegramEmulator
from tests.harness import running_bot
from tests.support import eventually

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes

ALICE_ID, BOB_ID = int(ALICE["id"]), int(BOB["id"])
TOO_MANY = "Too Many Requests: retry after 1"


async def test_a_not_allowed_notice_waits_out_a_429_and_quotes_in_groups(
    emu: TelegramEmulator,
) -> None:
    adapter = adapter_for(emu, allowed_users=[ALICE_ID])
    notice = adapter.config.not_allowed_notice
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter}, server=server) as bot,
    ):
        emu.fail_next(method="sendMessage", error_code=429, description=TOO_MANY, retry_after=1)
        asked = emu.build.group_text(text=f"@{emu.bot.username} may I?", user=BOB)
        emu.push_update(asked)
        await eventually(lambda: bool(emu.visible_text(GROUP_ID)), within=8)
        await bot.drain()
    refused, sent = emu.calls_of("sendMessage")
    assert (refused.status, sent.status) == (429, 200)
    assert sent.time - refused.time >= 0.9  # Telegram's retry_after was honoured
    assert emu.visible_text(GROUP_ID) == [notice]
    (shown,) = emu.messages
    assert shown.reply_to == asked["message"]["message_id"]
    assert server.state.chat_requests == []


@pytest.mark.knowrithm_modes("streaming")
async def test_an_edit_notice_never_overtakes_the_answer_in_progress(
    emu: TelegramEmulator,
) -> None:
    reply = " ".join(f"word{index}" for index in range(60)) + "."
    agent = ScriptedAgent(lambda question, history: reply)
    adapter = adapter_for(emu)
    async with (
        LocalKnowrithm(agent=agent, word_delay=0.01) as server,
        running_bot({"telegram": adapter}, server=server) as bot,
    ):
        question = emu.build.private_text(text="tell me slowly")
        emu.push_update(question)
        # The answer is on its way (drafts show it) when the question is edited.
        await emu.wait_for_call("sendMessageDraft")
        emu.push_update(emu.build.edited_text(original=question, text="tell me quickly"))
        await answered(bot, 1)
        await eventually(lambda: len(emu.visible_text(ALICE_ID)) == 2, within=8)
    assert emu.visible_text(ALICE_ID) == [reply, adapter.config.edited_notice]
    assert [text for _, text in server.state.chat_requests] == ["tell me slowly"]


async def test_notices_are_handed_to_the_sink_with_their_thread_and_message(
    emu: TelegramEmulator,
) -> None:
    adapter = adapter_for(emu, allowed_users=[ALICE_ID])
    sink = EventRecorder()
    await adapter.start(sink=sink)
    try:
        emu.push_update(emu.build.private_text(text="let me in", user=BOB))
        await eventually(lambda: bool(sink.notices), within=5, what="the notice")
    finally:
        await adapter.stop()
    (notice,) = sink.notices
    assert notice.thread == f"telegram:{emu.bot.id}:{BOB_ID}"
    assert notice.text == adapter.config.not_allowed_notice
    assert notice.reply_to is not None
    assert notice.reply_to.startswith(f"{emu.bot.id}:{BOB_ID}:")
    assert emu.calls_of("sendMessage") == []  # the adapter left the posting to the sink
