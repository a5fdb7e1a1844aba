"""Long answers roll over at 4,096 UTF-16 units; 429s are waited out without losing text."""

from __future__ import annotations

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.markup import utf16_len
from tests.emulators.telegram_api import ALICE, GROUP_ID, FloodLimits, TelegramEmulator
from tests.harness import running_bot

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes

ALICE_ID = int(ALICE["id"])


def _ten_thousand() -> str:
    words = [f"w{index:04d}" for index in range(2000)]  # 2,000 x "w0000 " = 10,000 chars
    text = " ".join(words) + "."
    return text[:9_999] + "."


@pytest.mark.parametrize("where", ["private", "group"])
async def test_a_10000_character_answer_arrives_complete_in_three_messages(
    emu: TelegramEmulator, where: str
) -> None:
    reply = _ten_thousand()
    assert len(reply) == 10_000
    agent = ScriptedAgent(lambda question, history: reply)
    chat_id = ALICE_ID if where == "private" else GROUP_ID
    text = "long please" if where == "private" else f"@{emu.bot.username} long please"
    update = (
        emu.build.private_text(text=text) if where == "private" else emu.build.group_text(text=text)
    )
    async with (
        LocalKnowrithm(agent=agent, word_delay=0.0002) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(update)
        await answered(bot, 1)
    shown = emu.visible_text(chat_id)
    assert len(shown) == 3
    assert all(utf16_len(part) <= 4096 for part in shown)
    assert " ".join(shown).split() == reply.split()  # every word, in order
    (asked,) = [m for ms in server.state.messages.values() for m in ms if m.role == "user"]
    assert asked.content == "long please"


async def test_utf16_units_not_characters_decide_the_roll_over(emu: TelegramEmulator) -> None:
    reply = " ".join(["😀"] * 2000)  # 3,999 characters but 5,999 UTF-16 units
    agent = ScriptedAgent(lambda question, history: reply)
    async with (
        LocalKnowrithm(agent=agent) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.private_text(text="emoji please"))
        await answered(bot, 1)
    shown = emu.visible_text(ALICE_ID)
    assert len(shown) == 2
    assert " ".join(shown).split() == reply.split()


@pytest.mark.knowrithm_modes("streaming")
async def test_injected_429s_are_waited_out_and_no_text_is_lost(emu: TelegramEmulator) -> None:
    reply = "The quick brown fox jumps over the lazy dog. " * 8
    agent = ScriptedAgent(lambda question, history: reply.strip())
    async with (
        LocalKnowrithm(agent=agent, word_delay=0.003) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        too_many = {"error_code": 429, "description": "Too Many Requests: retry after 1"}
        emu.fail_next(method="editMessageText", retry_after=1, **too_many)  # type: ignore[arg-type]
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} fox?"))
        await answered(bot, 1)
        emu.fail_next(method="sendMessage", retry_after=1, **too_many)  # type: ignore[arg-type]
        emu.fail_next(method="sendMessageDraft", retry_after=1, **too_many)  # type: ignore[arg-type]
        emu.push_update(emu.build.private_text(text="fox again?"))
        await answered(bot, 2)
    assert [c.method for c in emu.calls if c.status == 429] == [
        "editMessageText",
        "sendMessageDraft",
        "sendMessage",
    ]
    assert emu.visible_text(GROUP_ID) == [reply.strip()]
    assert emu.visible_text(ALICE_ID) == [reply.strip()]


@pytest.mark.knowrithm_modes("streaming")
async def test_flood_control_is_survived_without_losing_text() -> None:
    flood = FloodLimits(chat_per_second=4.0, chat_burst=2, group_per_minute=1000)
    reply = " ".join(f"part{index}" for index in range(150)) + "."
    agent = ScriptedAgent(lambda question, history: reply)
    async with (
        TelegramEmulator(flood=flood) as emu,
        LocalKnowrithm(agent=agent, word_delay=0.002) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} count"))
        await answered(bot, 1)
        shown = emu.visible_text(GROUP_ID)
        limited = [c for c in emu.calls if c.status == 429]
    assert limited, "the test must hit the flood limit"
    assert shown == [reply]
