"""Webhook mode: the secret token is checked and a retried delivery is answered once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.emulators.telegram_api import ALICE, TelegramEmulator
from tests.harness import running_bot

from .support import adapter_for, answered, free_port

pytestmark = pytest.mark.knowrithm_modes

SECRET = "right-secret_0123"


def _webhook_settings(port: int) -> dict[str, Any]:
    return {
        "mode": "webhook",
        "webhook_url": f"http://127.0.0.1:{port}/tg-hook",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
        "webhook_path": "/tg-hook",
        "webhook_secret": SECRET,
    }


async def test_wrong_secret_is_refused_and_a_retried_update_is_answered_once(
    emu: TelegramEmulator, tmp_path: Path
) -> None:
    settings = _webhook_settings(free_port())
    store = tmp_path / "bot.sqlite"
    update = {"update_id": 4242, **emu.build.private_text(text="via webhook")}
    async with LocalKnowrithm() as server:
        async with running_bot(
            {"telegram": adapter_for(emu, **settings)}, server=server, store_path=store
        ) as bot:
            webhook = emu.webhook
            assert webhook is not None
            assert (webhook.url, webhook.secret_token) == (settings["webhook_url"], SECRET)
            assert webhook.allowed_updates is not None
            assert "message_reaction" in webhook.allowed_updates
            url = webhook.url
            wrong = await emu.deliver_webhook(url=url, update=update, secret_token="wrong")
            missing = await emu.deliver_webhook(url=url, update=update, secret_token=None)
            assert (wrong, missing) == (403, 403)
            assert await emu.deliver_webhook(url=url, update=update, secret_token=SECRET) == 200
            await answered(bot, 1)
            # Telegram retries a delivery it thinks failed: same update_id.
            assert await emu.deliver_webhook(url=url, update=update, secret_token=SECRET) == 200
            follow_up = {"update_id": 4243, **emu.build.private_text(text="next one")}
            assert await emu.deliver_webhook(url=url, update=follow_up, secret_token=SECRET) == 200
            await answered(bot, 2)
        # After a restart only the store remembers the update: still answered once.
        async with running_bot(
            {"telegram": adapter_for(emu, **settings)}, server=server, store_path=store
        ) as bot:
            url = emu.webhook.url  # type: ignore[union-attr]
            assert await emu.deliver_webhook(url=url, update=update, secret_token=SECRET) == 200
            last = {"update_id": 4244, **emu.build.private_text(text="last one")}
            assert await emu.deliver_webhook(url=url, update=last, secret_token=SECRET) == 200
            await answered(bot, 3)
    assert [text for _, text in server.state.chat_requests] == [
        "via webhook",
        "next one",
        "last one",
    ]
    assert len(emu.visible_text(int(ALICE["id"]))) == 3
    assert emu.calls_of("getUpdates") == []  # webhook mode never polls
