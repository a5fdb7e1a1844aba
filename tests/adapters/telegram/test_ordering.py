"""Updates of one chat reach the sink in order; a chat waiting on the sink holds up no other."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from knowrithm_bots.core.events import Inbound
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.emulators.telegram_api import ALICE, BOB, TelegramEmulator

from .support import adapter_for, free_port

WEBHOOK_SECRET = "ordering-secret_0123"


class HeldSink(EventRecorder):
    """Records events, but holds the hand-over of the message "first" until released.

    The bridge's ``on_message`` awaits its store the same way, only briefly.
    """

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.holding = asyncio.Event()

    async def on_message(self, event: Inbound) -> None:
        if event.text == "first":
            self.holding.set()
            await self.release.wait()
        await super().on_message(event)


def _texts(sink: EventRecorder, *, user: dict[str, Any]) -> list[str]:
    return [m.text for m in sink.messages if m.author.id == str(user["id"])]


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_slow_hand_over_keeps_its_chat_in_order_and_holds_up_no_other(
    emu: TelegramEmulator, mode: str
) -> None:
    settings: dict[str, Any] = {}
    if mode == "webhook":
        port = free_port()
        settings = {
            "mode": "webhook",
            "webhook_url": f"http://127.0.0.1:{port}/hook",
            "webhook_port": port,
            "webhook_path": "hook",
            "webhook_secret": WEBHOOK_SECRET,
        }
    adapter = adapter_for(emu, **settings)
    sink = HeldSink()
    await adapter.start(sink=sink)
    try:
        updates = [
            emu.build.private_text(text="first"),
            emu.build.private_text(text="second"),
            emu.build.private_text(text="other chat", user=BOB),
        ]
        for update in updates:
            if mode == "polling":
                emu.push_update(update)
            else:
                assert emu.webhook is not None
                status = await emu.deliver_webhook(
                    url=emu.webhook.url, update=update, secret_token=WEBHOOK_SECRET
                )
                assert status == 200
        await asyncio.wait_for(sink.holding.wait(), 5)
        # Bob's chat is handed over while Alice's first message is still held ...
        await sink.message_with("other chat", within=5)
        # ... and Alice's second message waits behind her first.
        assert _texts(sink, user=ALICE) == []
        sink.release.set()
        await sink.message_with("second", within=5)
        assert _texts(sink, user=ALICE) == ["first", "second"]
    finally:
        sink.release.set()
        await adapter.stop()


async def test_stop_hands_over_what_was_received_and_leaves_no_task(
    emu: TelegramEmulator,
) -> None:
    adapter = adapter_for(emu)
    sink = HeldSink()
    # Waiting before the start, so that the first poll receives both.
    emu.push_update(emu.build.private_text(text="first"))
    emu.push_update(emu.build.private_text(text="second"))
    await adapter.start(sink=sink)
    await asyncio.wait_for(sink.holding.wait(), 5)
    stopping = asyncio.create_task(adapter.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done()  # waiting for the held hand-over, not dropping it
    sink.release.set()
    await asyncio.wait_for(stopping, 10)
    assert _texts(sink, user=ALICE) == ["first", "second"]
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("thread telegram:")]
