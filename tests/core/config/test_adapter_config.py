"""AdapterConfig: renamed keys still read with a warning, cross-key errors blame one key."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import ClassVar

import pytest
from pydantic import SecretStr, model_validator

from knowrithm_bots.core.config import AdapterConfig, ConfigKeyDeprecated, InvalidKey
from knowrithm_bots.core.errors import ConfigError

PREFIX = "adapters.acme"


class AcmeConfig(AdapterConfig):
    renamed: ClassVar[Mapping[str, str]] = {"allowed_chats": "allowed_channels"}

    token: SecretStr
    mode: str = "polling"
    webhook_url: str | None = None
    allowed_channels: list[int] | None = None

    @model_validator(mode="after")
    def _webhook_needs_url(self) -> AcmeConfig:
        if self.mode == "webhook" and self.webhook_url is None:
            raise InvalidKey("webhook_url", "is required when mode is webhook")
        return self


def test_an_old_key_name_is_read_with_a_warning_naming_both() -> None:
    with pytest.warns(ConfigKeyDeprecated) as caught:
        config = AcmeConfig.load({"token": "t", "allowed_chats": [1, 2]}, prefix=PREFIX)
    assert config.allowed_channels == [1, 2]
    message = str(caught[0].message)
    assert "adapters.acme.allowed_chats" in message
    assert "adapters.acme.allowed_channels" in message


def test_the_new_name_warns_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = AcmeConfig.load({"token": "t", "allowed_channels": [3]}, prefix=PREFIX)
    assert config.allowed_channels == [3]


def test_both_names_at_once_are_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        AcmeConfig.load(
            {"token": "t", "allowed_chats": [1], "allowed_channels": [2]}, prefix=PREFIX
        )
    assert caught.value.key_path == "adapters.acme.allowed_chats"
    assert "keep only adapters.acme.allowed_channels" in str(caught.value)


def test_a_cross_key_check_blames_the_key_it_names() -> None:
    with pytest.raises(ConfigError) as caught:
        AcmeConfig.load({"token": "s3cret-value", "mode": "webhook"}, prefix=PREFIX)
    assert caught.value.key_path == "adapters.acme.webhook_url"
    assert str(caught.value) == (
        "config key adapters.acme.webhook_url is required when mode is webhook"
    )
    assert "s3cret-value" not in str(caught.value)


def test_unknown_keys_and_missing_keys_name_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        AcmeConfig.load({"token": "t", "tokn": "x"}, prefix=PREFIX)
    assert caught.value.key_path == "adapters.acme.tokn"
    with pytest.raises(ConfigError) as caught:
        AcmeConfig.load(None, prefix=PREFIX)
    assert caught.value.key_path == "adapters.acme.token"
