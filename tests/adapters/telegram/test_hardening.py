"""Redaction in the adapter's own messages and late child loggers, restarts, garbled refs."""

from __future__ import annotations

import logging
import warnings

import pytest

from knowrithm_bots.adapters.telegram.redact import REDACTED, redact
from knowrithm_bots.adapters.telegram.threads import MessageRef, ThreadKey
from knowrithm_bots.core.errors import MessageNotFound, PlatformError
from knowrithm_bots.core.events import Inbound
from tests.emulators.telegram_api import ALICE, TelegramEmulator
from tests.support import CollectLogs, NullSink, eventually

from .support import adapter_for


async def test_a_refused_command_menu_is_logged_without_the_token(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="knowrithm_bots.adapters.telegram")
    emu.fail_next(
        method="setMyCommands", error_code=400, description=f"Bad Request: no {emu.token} here"
    )
    adapter = adapter_for(emu)
    await adapter.start(sink=NullSink())
    await adapter.stop()
    warned = [r.getMessage() for r in caplog.records if "command menu" in r.getMessage()]
    # python-telegram-bot capitalizes the description, lower-casing the token in it.
    assert warned == [f"Telegram refused registering the command menu: No {REDACTED} here"]
    assert emu.token.lower() not in caplog.text.lower()


def test_redaction_ignores_case() -> None:
    token = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    text = f"No {token.lower()} and {token.partition(':')[2].upper()}"
    assert redact(text, secret=token) == f"No {REDACTED} and {REDACTED}"


class _BrokenSink(NullSink):
    """A sink whose failure quotes the token, as a careless library's message might."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def on_message(self, event: Inbound) -> None:
        raise RuntimeError(f"GET /bot{self._token}/getMe failed")


async def test_the_adapters_own_log_lines_hide_the_token(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="knowrithm_bots.adapters.telegram")
    adapter = adapter_for(emu)
    await adapter.start(sink=_BrokenSink(emu.token))
    try:
        emu.push_update(emu.build.private_text(text="hello"))
        await eventually(lambda: "update failed" in caplog.text)
    finally:
        await adapter.stop()
    failed = [r.getMessage() for r in caplog.records if "update failed" in r.getMessage()]
    assert failed == [
        f"handling a Telegram update failed: RuntimeError: GET /bot{REDACTED}/getMe failed"
    ]
    assert emu.token not in caplog.text


async def test_child_loggers_made_after_start_are_redacted(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    factory = logging.getLogRecordFactory()
    adapter = adapter_for(emu)
    await adapter.start(sink=NullSink())
    late = logging.getLogger("httpx.made_after_start")
    lonely = logging.getLogger("telegram.ext.made_after_start")
    collect = CollectLogs()
    lonely.addHandler(collect)
    lonely.propagate = False  # never reaches the root's handlers; cleaned all the same
    try:
        for logger in (late, lonely):
            try:
                raise RuntimeError(f"GET /bot{emu.token}/getMe failed")
            except RuntimeError:
                logger.exception("request to %s failed", f"/bot{emu.token}/getMe")
    finally:
        await adapter.stop()
        lonely.removeHandler(collect)
        lonely.propagate = True
    assert logging.getLogRecordFactory() is factory  # stop puts the factory back
    rendered = [caplog.text, *collect.texts]
    for text in rendered:
        assert f"request to /bot{REDACTED}/getMe failed" in text
        assert f"RuntimeError: GET /bot{REDACTED}/getMe failed" in text
        assert emu.token not in text
    # Once stopped, records are left alone again.
    with caplog.at_level(logging.INFO, logger="httpx.made_after_start"):
        late.info("plain %s", "text")
    assert caplog.records[-1].args == ("text",)


async def test_restarts_add_the_warning_filter_once(emu: TelegramEmulator) -> None:
    with warnings.catch_warnings():
        adapter = adapter_for(emu)
        await adapter.start(sink=NullSink())
        await adapter.stop()
        count = len(warnings.filters)
        warnings.simplefilter("error")  # an operator's later choice keeps its priority
        for _ in range(3):
            await adapter.start(sink=NullSink())
            await adapter.stop()
        assert len(warnings.filters) == count + 1
        assert warnings.filters[0][0] == "error"
        silenced = [
            f for f in warnings.filters if f[1] is not None and "retry_after" in f[1].pattern
        ]
        assert len(silenced) == 1


async def test_garbled_thread_keys_and_message_ids_become_core_errors(
    emu: TelegramEmulator,
) -> None:
    adapter = adapter_for(emu)
    await adapter.start(sink=NullSink())
    chat = ALICE["id"]
    good = ThreadKey(bot_id=adapter.bot_id, chat_id=chat).encode()
    try:
        for garbled in ("telegram:1", "slack:T:U:C:", "", f"telegram:{adapter.bot_id}:x"):
            calls = (
                adapter.post(thread=garbled, text="hi"),
                adapter.edit(thread=garbled, message_id="1:2:3", text="hi"),
                adapter.delete(thread=garbled, message_id="1:2:3"),
            )
            for call in calls:
                with pytest.raises(PlatformError, match="not a Telegram thread key") as caught:
                    await call
                assert not isinstance(caught.value, ValueError)
            assert adapter.budget_keys(thread=garbled)["thread"] == garbled
        other_chat = MessageRef(bot_id=adapter.bot_id, chat_id=chat + 1, message_id=5).encode()
        for garbled in ("nonsense", "1:2", "1:2:3:4", "", "a:b:c", other_chat):
            with pytest.raises(MessageNotFound):
                await adapter.edit(thread=good, message_id=garbled, text="hi")
            with pytest.raises(MessageNotFound):
                await adapter.delete(thread=good, message_id=garbled)
        assert emu.messages == []
    finally:
        await adapter.stop()
