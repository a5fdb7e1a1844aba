"""Calls on an adapter that is not running fail as PlatformUnavailable, which the engine retries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.core.errors import PlatformUnavailable
from tests.emulators.telegram_api import ALICE, GROUP_ID, TelegramEmulator
from tests.support import NullSink

from .support import adapter_for


def _calls(adapter: TelegramAdapter, *, bot_id: int) -> list[Callable[[], Awaitable[object]]]:
    private = f"telegram:{bot_id}:{ALICE['id']}"
    group = f"telegram:{bot_id}:{GROUP_ID}"
    message = f"{bot_id}:{GROUP_ID}:1"
    return [
        lambda: adapter.post(thread=group, text="hi"),
        lambda: adapter.post(thread=private, text="hi", reply_to=f"{bot_id}:{ALICE['id']}:1"),
        lambda: adapter.edit(thread=group, message_id=message, text="hi"),
        lambda: adapter.delete(thread=group, message_id=message),
        lambda: adapter.typing(thread=group),
        lambda: adapter.open_native_stream(thread=private),
    ]


async def _all_unavailable(adapter: TelegramAdapter, *, bot_id: int) -> None:
    for call in _calls(adapter, bot_id=bot_id):
        with pytest.raises(PlatformUnavailable, match="Telegram adapter is not running"):
            await call()


async def test_calls_before_start_and_after_stop_are_platform_unavailable(
    emu: TelegramEmulator,
) -> None:
    adapter = adapter_for(emu)
    await _all_unavailable(adapter, bot_id=emu.bot.id)
    with pytest.raises(PlatformUnavailable):
        _ = adapter.bot_id
    await adapter.start(sink=NullSink())
    assert adapter.bot_id == emu.bot.id
    await adapter.stop()
    await _all_unavailable(adapter, bot_id=emu.bot.id)
    sent = {"sendMessage", "editMessageText", "deleteMessage", "sendChatAction"}
    assert [c for c in emu.calls if c.method in sent] == []


async def test_an_unreachable_telegram_at_start_is_platform_unavailable(
    emu: TelegramEmulator,
) -> None:
    emu.fail_next(method="getMe", error_code=502, description="Bad Gateway")
    adapter = adapter_for(emu)
    with pytest.raises(PlatformUnavailable, match="could not be reached for signing in"):
        await adapter.start(sink=NullSink())
    await adapter.stop()
    await adapter.start(sink=NullSink())  # Telegram is back: the same adapter starts
    await adapter.stop()
