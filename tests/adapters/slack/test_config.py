"""The adapters.slack config section: defaults, and errors that name the key, never a secret."""

from __future__ import annotations

from typing import Any

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.adapters.slack.config import load_config
from knowrithm_bots.core.errors import ConfigError

BOT = "xoxb-1-secret-bot-token"
APP = "xapp-1-secret-app-token"
SECRET = "very-secret-signing"


def error_for(section: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        SlackAdapter.from_config(config=section)
    for secret in (BOT, APP, SECRET):
        assert secret not in str(caught.value)
    return caught.value


def test_defaults_and_normalisation() -> None:
    config = load_config({"bot_token": BOT, "app_token": APP, "api_url": "http://h:1/api"})
    assert config.mode == "socket"
    assert config.api_url == "http://h:1/api/"
    assert (config.channel_messages, config.direct_messages) == ("mentions", "thread")
    assert config.allowed_channels is None
    assert BOT not in repr(config)
    http = load_config(
        {"bot_token": BOT, "signing_secret": SECRET, "mode": "http", "allowed_channels": ["#a"]}
    )
    assert (http.host, http.port, http.path, http.allowed_channels) == (
        "0.0.0.0",
        3000,
        "/slack/events",
        ["a"],
    )


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"bot_token": BOT, "mode": "http"}, "adapters.slack.signing_secret"),
        ({"bot_token": BOT}, "adapters.slack.app_token"),
        ({"app_token": APP}, "adapters.slack.bot_token"),
        ({"bot_token": APP, "app_token": APP}, "adapters.slack.bot_token"),
        ({"bot_token": BOT, "app_token": BOT}, "adapters.slack.app_token"),
        ({"bot_token": BOT, "app_token": APP, "mode": "webhook"}, "adapters.slack.mode"),
        ({"bot_token": BOT, "app_token": APP, "api_url": "slack.com"}, "adapters.slack.api_url"),
        ({"bot_token": BOT, "app_token": APP, "port": 70000}, "adapters.slack.port"),
        ({"bot_token": BOT, "app_token": APP, "tokn": "x"}, "adapters.slack.tokn"),
        (
            {"bot_token": BOT, "app_token": APP, "direct_messages": "sometimes"},
            "adapters.slack.direct_messages",
        ),
    ],
)
def test_bad_config_names_the_key(section: dict[str, Any], key: str) -> None:
    error = error_for(section)
    assert error.key_path == key
    assert key in str(error)
