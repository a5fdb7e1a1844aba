"""The config section: bad values name their key, never their secret value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.bots.cli import main
from knowrithm_bots.core.config import ConfigKeyDeprecated
from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.plugins import load_adapter
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.emulators.telegram_api import ALICE, GROUP_ID, TelegramEmulator
from tests.support import eventually

from .support import adapter_for

TOKEN = "123456:AAH-secret_Token-Value-1234567890"


def _error(config: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        TelegramAdapter.from_config(config=config)
    return caught.value


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({}, "adapters.telegram.token"),
        ({"token": "not a token SECRETVALUE"}, "adapters.telegram.token"),
        ({"token": TOKEN, "tokn": "x"}, "adapters.telegram.tokn"),
        ({"token": TOKEN, "api_base_url": "ftp://example.org"}, "adapters.telegram.api_base_url"),
        ({"token": TOKEN, "mode": "push"}, "adapters.telegram.mode"),
        ({"token": TOKEN, "mode": "webhook"}, "adapters.telegram.webhook_url"),
        (
            {"token": TOKEN, "mode": "webhook", "webhook_url": "https://bot.example.org/tg"},
            "adapters.telegram.webhook_secret",
        ),
        (
            {"token": TOKEN, "webhook_secret": "spaces are not allowed SECRETVALUE"},
            "adapters.telegram.webhook_secret",
        ),
        ({"token": TOKEN, "webhook_secret": "short_SECRET"}, "adapters.telegram.webhook_secret"),
        ({"token": TOKEN, "webhook_port": 0}, "adapters.telegram.webhook_port"),
        (
            {"token": TOKEN, "allowed_channels": ["general"]},
            "adapters.telegram.allowed_channels.0",
        ),
        ({"token": TOKEN, "group_mode": "sometimes"}, "adapters.telegram.group_mode"),
        ({"token": TOKEN, "group_sessions": "per_chat"}, "adapters.telegram.group_sessions"),
    ],
)
def test_bad_config_names_the_key(config: dict[str, Any], key: str) -> None:
    error = _error(config)
    assert error.key_path == key
    assert key in str(error)
    assert "SECRETVALUE" not in str(error)
    assert TOKEN not in str(error)


def test_defaults_and_base_url_forms() -> None:
    adapter = TelegramAdapter.from_config(config={"token": TOKEN})
    config = adapter.config
    assert (config.mode, config.group_mode, config.formatting) == ("polling", "mentions", "html")
    assert config.bot_api_url == "https://api.telegram.org/bot"
    assert config.bot_file_url == "https://api.telegram.org/file/bot"
    assert TOKEN not in repr(config)
    for given in ("http://127.0.0.1:8081", "http://127.0.0.1:8081/bot/"):
        custom = TelegramAdapter.from_config(config={"token": TOKEN, "api_base_url": given})
        assert custom.config.bot_api_url == "http://127.0.0.1:8081/bot"
        assert custom.config.bot_file_url == "http://127.0.0.1:8081/file/bot"


def test_the_adapter_is_registered_as_telegram() -> None:
    assert load_adapter("telegram") is TelegramAdapter
    assert TelegramAdapter.name == "telegram"
    assert TelegramAdapter.limits.max_message_length == 4096


def test_check_config_reports_the_failing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bot.yaml"
    path.write_text(
        "knowrithm: {base_url: local}\n"
        f"adapters:\n  telegram:\n    token: '{TOKEN}'\n    mode: webhook\n",
        encoding="utf-8",
    )
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "adapters.telegram.webhook_url" in err
    assert TOKEN not in err


async def test_the_old_allowed_chats_key_still_works_with_a_warning(
    emu: TelegramEmulator,
) -> None:
    with pytest.warns(ConfigKeyDeprecated) as warned:
        adapter = adapter_for(emu, allowed_chats=[GROUP_ID])
    (warning,) = warned
    assert "adapters.telegram.allowed_chats" in str(warning.message)
    assert "adapters.telegram.allowed_channels" in str(warning.message)
    assert adapter.config.allowed_channels == [GROUP_ID]
    sink = EventRecorder()
    await adapter.start(sink=sink)
    try:
        emu.push_update(emu.build.private_text(text="outside the list"))
        emu.push_update(emu.build.group_text(text=f"@{emu.bot.username} inside the list"))
        await sink.message_with("inside the list", within=5)
        await eventually(lambda: bool(sink.notices), within=5, what="the refusal")
    finally:
        await adapter.stop()
    assert [m.text for m in sink.messages] == ["inside the list"]
    (refusal,) = sink.notices
    assert refusal.thread == f"telegram:{emu.bot.id}:{ALICE['id']}"


def test_old_and_new_names_together_are_refused() -> None:
    error = _error({"token": TOKEN, "allowed_chats": [1], "allowed_channels": [2]})
    assert error.key_path == "adapters.telegram.allowed_chats"
    assert "adapters.telegram.allowed_channels" in str(error)
