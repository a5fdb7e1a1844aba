"""The command menu's /stop is answered in groups like /new and /end, without @botname."""

from __future__ import annotations

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.user_messages import NOTHING_TO_STOP
from tests.emulators.telegram_api import GROUP_ID, TelegramEmulator
from tests.harness import running_bot
from tests.support import eventually

from .support import adapter_for


async def test_stop_from_the_menu_is_answered_in_a_group(emu: TelegramEmulator) -> None:
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        # Tapped in the menu of a group with one bot, a command comes without @botname.
        emu.push_update(emu.build.group_text(text="/stop"))
        await eventually(lambda: emu.visible_text(GROUP_ID) != [], what="the answer")
        await bot.drain()
        assert [c["command"] for c in emu.commands] == ["new", "end", "stop", "help"]
    assert emu.visible_text(GROUP_ID) == [NOTHING_TO_STOP]
    assert server.state.chat_requests == []
