"""The adapters.slack config section: defaults, and errors that name the key, never a secret."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter, SlackConfig
from knowrithm_bots.adapters.slack.threads import ThreadKey
from knowrithm_bots.core.config import ConfigKeyDeprecated
from knowrithm_bots.core.errors import ConfigError
from tests.adapters.slack.helpers import slack_config
from tests.emulators.slack_api import SlackEmulator, ids
from tests.support import NullSink

BOT = "xoxb-1-secret-bot-token"
APP = "xapp-1-secret-app-token"
SECRET = "very-secret-signing"
PREFIX = "adapters.slack"


def load(section: dict[str, Any]) -> SlackConfig:
    return SlackConfig.load(section, prefix=PREFIX)


def error_for(section: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        SlackAdapter.from_config(config=section)
    for secret in (BOT, APP, SECRET):
        assert secret not in str(caught.value)
    return caught.value


def test_defaults_and_normalisation() -> None:
    assert SlackAdapter.config_model is SlackConfig
    config = load({"bot_token": BOT, "app_token": APP, "api_base_url": "http://h:1/api"})
    assert config.mode == "socket"
    assert config.api_base_url == "http://h:1/api/"
    assert (config.channel_messages, config.direct_messages) == ("mentions", "thread")
    assert config.allowed_channels is None
    assert BOT not in repr(config)
    http = load(
        {"bot_token": BOT, "signing_secret": SECRET, "mode": "http", "allowed_channels": ["#a"]}
    )
    assert (http.host, http.port, http.path, http.allowed_channels) == (
        "0.0.0.0",
        3000,
        "/slack/events",
        ["a"],
    )
    assert load({"bot_token": BOT, "app_token": APP}).api_base_url == "https://slack.com/api/"


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"bot_token": BOT, "mode": "http"}, "adapters.slack.signing_secret"),
        ({"bot_token": BOT}, "adapters.slack.app_token"),
        ({"app_token": APP}, "adapters.slack.bot_token"),
        ({"bot_token": APP, "app_token": APP}, "adapters.slack.bot_token"),
        ({"bot_token": BOT, "app_token": BOT}, "adapters.slack.app_token"),
        ({"bot_token": BOT, "app_token": APP, "mode": "webhook"}, "adapters.slack.mode"),
        (
            {"bot_token": BOT, "app_token": APP, "api_base_url": "slack.com"},
            "adapters.slack.api_base_url",
        ),
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


@pytest.mark.parametrize(
    ("section", "key", "reason"),
    [
        ({"bot_token": BOT, "app_token": None}, "app_token", "is required when mode is 'socket'"),
        (
            {"bot_token": BOT, "app_token": APP, "mode": "http"},
            "signing_secret",
            "is required when mode is 'http'",
        ),
    ],
)
def test_each_mode_needs_its_own_secret(section: dict[str, Any], key: str, reason: str) -> None:
    error = error_for(section)
    assert error.key_path == f"{PREFIX}.{key}"
    assert str(error).startswith(f"config key {PREFIX}.{key} {reason}")


def test_the_old_and_the_new_api_url_key_together_are_refused() -> None:
    error = error_for(
        {"bot_token": BOT, "app_token": APP, "api_url": "http://a/", "api_base_url": "http://b/"}
    )
    assert error.key_path == "adapters.slack.api_url"
    assert "keep only adapters.slack.api_base_url" in str(error)


async def test_the_old_api_url_key_still_reaches_slack_with_a_warning(emu: SlackEmulator) -> None:
    section = slack_config(emu, mode="http")
    section["api_url"] = section.pop("api_base_url")
    with pytest.warns(ConfigKeyDeprecated) as caught:
        adapter = SlackAdapter.from_config(config=section)
    (warning,) = caught
    assert "adapters.slack.api_url is now called adapters.slack.api_base_url" in str(
        warning.message
    )
    # The old key is not just accepted: it is the URL the adapter talks to.
    await adapter.start(sink=NullSink())
    try:
        thread = ThreadKey(
            team=ids.TEAM_ID, bot=ids.BOT_USER_ID, channel=ids.CHANNEL_ID, thread_ts=None
        )
        await adapter.post(thread=thread.encode(), text="through the old key")
    finally:
        await adapter.stop()
    assert [m.text for m in emu.bot_messages(ids.CHANNEL_ID)] == ["through the old key"]


def test_the_new_key_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load({"bot_token": BOT, "app_token": APP, "api_base_url": "http://h:1/api/"})
