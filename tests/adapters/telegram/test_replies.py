"""``post(reply_to=...)``: group answers quote the message they answer; nothing else quotes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.emulators.telegram_api import ALICE, BOB, GROUP_ID, TelegramEmulator
from tests.harness import running_bot

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes

ALICE_ID = int(ALICE["id"])


@pytest.fixture
async def started(emu: TelegramEmulator) -> AsyncIterator[tuple[TelegramAdapter, EventRecorder]]:
    adapter = adapter_for(emu)
    recorder = EventRecorder()
    await adapter.start(sink=recorder)
    try:
        yield adapter, recorder
    finally:
        await adapter.stop()


def _quoted(emu: TelegramEmulator) -> int | None:
    params = emu.calls_of("sendMessage")[-1].params
    return params["reply_parameters"]["message_id"] if "reply_parameters" in params else None


async def test_a_group_post_quotes_the_message_it_answers(
    emu: TelegramEmulator, started: tuple[TelegramAdapter, EventRecorder]
) -> None:
    adapter, recorder = started
    asked = emu.build.group_text(text=f"@{emu.bot.username} a question")
    emu.push_update(asked)
    event = await recorder.message_with("a question", within=5)
    await adapter.post(thread=event.thread, text="the answer", reply_to=event.message_id)
    assert _quoted(emu) == asked["message"]["message_id"]
    await adapter.post(thread=event.thread, text="more of it")  # a roll-over: no reply_to
    assert _quoted(emu) is None


@pytest.mark.parametrize(
    "reply_to",
    ["garbled", "1:2", "", "7000000001:1001:x", "7000000001:-999:5", "12:-1001000000001:5"],
)
async def test_a_reply_to_that_names_no_message_here_posts_without_a_quote(
    emu: TelegramEmulator, started: tuple[TelegramAdapter, EventRecorder], reply_to: str
) -> None:
    adapter, _ = started
    emu.build.group_chat()
    thread = f"telegram:{emu.bot.id}:{GROUP_ID}"
    posted = await adapter.post(thread=thread, text="still said", reply_to=reply_to)
    assert _quoted(emu) is None
    assert posted.id.startswith(f"{emu.bot.id}:{GROUP_ID}:")
    assert emu.visible_text(GROUP_ID) == ["still said"]


async def test_private_chats_never_quote(
    emu: TelegramEmulator, started: tuple[TelegramAdapter, EventRecorder]
) -> None:
    adapter, recorder = started
    emu.push_update(emu.build.private_text(text="hello"))
    event = await recorder.message_with("hello", within=5)
    await adapter.post(thread=event.thread, text="hi there", reply_to=event.message_id)
    assert _quoted(emu) is None
    assert emu.visible_text(ALICE_ID) == ["hi there"]


async def test_each_group_answer_quotes_its_own_question_and_only_its_first_part(
    emu: TelegramEmulator,
) -> None:
    def agent_reply(question: str, history: object) -> str:
        words = 500 if "long" in question else 3  # 500 x 9 characters: two messages
        return " ".join(f"{question[:4]}{index:04d}" for index in range(words))

    mention = f"@{emu.bot.username}"
    async with (
        LocalKnowrithm(agent=ScriptedAgent(agent_reply)) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        first = emu.build.group_text(text=f"{mention} long one")
        second = emu.build.group_text(text=f"{mention} short", user=BOB)
        emu.push_update(first)
        emu.push_update(second)
        await answered(bot, 2)
    # Alice and Bob have a conversation each, answered side by side: order by question.
    head, tail = [m for m in emu.messages if m.text.startswith("long")]
    (short,) = [m for m in emu.messages if m.text.startswith("shor")]
    assert head.reply_to == first["message"]["message_id"]
    assert tail.reply_to is None
    assert short.reply_to == second["message"]["message_id"]
