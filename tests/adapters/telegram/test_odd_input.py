"""Webhook secrets stay out of DEBUG logs; odd entity offsets and text never drop an update."""

from __future__ import annotations

import logging

import pytest

from knowrithm_bots.adapters.telegram.redact import REDACTED_SECRET
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.emulators.telegram_api import ALICE, GROUP_ID, TelegramEmulator
from tests.harness import ONE_ANSWER_EACH, running_bot

from .support import adapter_for, answered, free_port

pytestmark = pytest.mark.knowrithm_modes

WEBHOOK_SECRET = "Webhook_Secret-Value_4711"


async def test_webhook_secret_stays_out_of_debug_logs(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    adapter = adapter_for(
        emu,
        mode="webhook",
        webhook_url=f"http://127.0.0.1:{port}/tg-hook",
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_path="tg-hook",
        webhook_secret=WEBHOOK_SECRET,
    )
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter}, server=server) as bot,
    ):
        webhook = emu.webhook
        assert webhook is not None and webhook.secret_token == WEBHOOK_SECRET  # really sent
        update = {"update_id": 99, **emu.build.private_text(text="via the hook")}
        status = await emu.deliver_webhook(
            url=webhook.url, update=update, secret_token=WEBHOOK_SECRET
        )
        assert status == 200
        await answered(bot, 1)
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    # python-telegram-bot logged setWebhook's parameters at DEBUG, the secret hidden.
    assert "setWebhook" in logged
    assert WEBHOOK_SECRET not in logged
    assert f"'secret_token': '{REDACTED_SECRET}'" in logged


async def test_entity_offsets_inside_a_surrogate_pair_do_not_drop_the_update(
    emu: TelegramEmulator,
) -> None:
    bot_user = {"id": emu.bot.id, "is_bot": True, "first_name": "Bot"}
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server, config=ONE_ANSWER_EACH) as bot,
    ):
        # A mention whose slice starts in the middle of 😀 (two UTF-16 code units).
        emu.push_update(
            emu.build.private_text(
                text="😀 @someone hi", entities=[{"type": "mention", "offset": 1, "length": 9}]
            )
        )
        # A mention of the bot by id whose cut ends in the middle of 😀.
        emu.push_update(
            emu.build.group_text(
                text="hello 😀 there",
                entities=[{"type": "text_mention", "offset": 5, "length": 2, "user": bot_user}],
            )
        )
        # Offsets outside the text altogether.
        emu.push_update(
            emu.build.private_text(
                text="far away", entities=[{"type": "mention", "offset": -4, "length": 900}]
            )
        )
        await answered(bot, 3)
    assert sorted(text for _, text in server.state.chat_requests) == sorted(
        ["😀 @someone hi", "hello\ufffd there", "far away"]
    )
    assert len(emu.visible_text(int(ALICE["id"]))) == 2
    assert len(emu.visible_text(GROUP_ID)) == 1


async def test_a_lone_surrogate_in_the_text_is_answered(emu: TelegramEmulator) -> None:
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        # JSON may carry "\ud800"; python-telegram-bot decodes it to a lone surrogate.
        emu.push_update(emu.build.private_text(text="hi \ud800 there"))
        await answered(bot, 1)
    assert [text for _, text in server.state.chat_requests] == ["hi \ufffd there"]
    (answer,) = emu.visible_text(int(ALICE["id"]))
    assert answer == bot.assistant_replies()[0]
