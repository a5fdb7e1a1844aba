"""The bot token never appears in logs or error messages."""

from __future__ import annotations

import logging

import pytest

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.adapters.telegram.redact import REDACTED
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import PlatformAuthError
from tests.emulators.telegram_api import TelegramEmulator
from tests.harness import running_bot
from tests.support import NullSink

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes


async def test_token_stays_out_of_logs_and_errors(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    factory = logging.getLogRecordFactory()
    secret_half = emu.token.partition(":")[2]
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        emu.push_update(emu.build.private_text(text="hello"))
        await answered(bot, 1)
    wrong = f"{emu.bot.id}:WrongSecretHalf_abcdefghijklmnop"
    adapter = TelegramAdapter.from_config(config={"token": wrong, "api_base_url": emu.base_url})
    with pytest.raises(PlatformAuthError) as caught:
        await adapter.start(sink=NullSink())
    await adapter.stop()
    assert "adapters.telegram.token" in str(caught.value)
    assert caught.value.__suppress_context__
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert "HTTP Request" in logged  # httpx logged every request URL ...
    assert REDACTED in logged  # ... with the token hidden
    for secret in (emu.token, secret_half, wrong, "WrongSecretHalf_abcdefghijklmnop"):
        assert secret not in logged
        assert secret not in str(caught.value)
    # The redaction is removed again when the adapter stops.
    assert logging.getLogRecordFactory() is factory
