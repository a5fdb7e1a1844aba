"""The Slack adapter's config section: validated once, secrets kept as SecretStr."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from knowrithm_bots.core.config import AdapterConfig, InvalidKey

BOT_TOKEN_PREFIXES = ("xoxb-", "xoxe.xoxb-")
APP_TOKEN_PREFIX = "xapp-"


class SlackConfig(AdapterConfig):
    """``adapters.slack`` in the config file.

    ``mode: socket`` needs ``app_token`` (no public URL); ``mode: http`` needs
    ``signing_secret`` and serves the Events API on ``host``:``port`` at ``path``.
    ``api_base_url`` is the Web API base (``api_url`` before; still read, with a warning).
    """

    renamed: ClassVar[Mapping[str, str]] = {"api_url": "api_base_url"}

    bot_token: SecretStr
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    mode: Literal["socket", "http"] = "socket"
    api_base_url: str = "https://slack.com/api/"
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=0, le=65535)
    path: str = "/slack/events"
    channel_messages: Literal["mentions", "all"] = "mentions"
    allowed_channels: list[str] | None = None
    direct_messages: Literal["thread", "channel", "off"] = "thread"
    # per_user: each person in a channel thread has a conversation of their own there.
    group_sessions: Literal["shared", "per_user"] = "shared"
    native_streaming: bool = True
    feedback_buttons: bool = True
    stop_button: bool = True
    # The slash command configured in the Slack app (None: the app has none).
    slash_command: str | None = "/knowrithm"
    thinking_status: str = "is thinking…"
    # How long the bot keeps answering replies in a channel thread after its last mention.
    engaged_thread_days: float = Field(default=30.0, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    rate_limit_retries: int = Field(default=3, ge=0, le=10)

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(BOT_TOKEN_PREFIXES):
            raise ValueError("must be a bot token (it starts with xoxb-)")
        return value

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(APP_TOKEN_PREFIX):
            raise ValueError("must be an app-level token (it starts with xapp-)")
        return value

    @field_validator("signing_secret")
    @classmethod
    def _signing_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _api_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        # slack-sdk joins method names straight onto the base URL.
        return value if value.endswith("/") else value + "/"

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/', like /slack/events")
        return value

    @field_validator("slash_command")
    @classmethod
    def _slash_command(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"/[^\s/]{1,31}", value):
            raise ValueError("must be a slash command name such as /knowrithm (no spaces)")
        return value.lower()

    @field_validator("allowed_channels")
    @classmethod
    def _channels(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = [item.strip().lstrip("#") for item in value]
        if any(not item for item in cleaned):
            raise ValueError("must list channel ids (C0123ABCD) or names (#support)")
        return cleaned

    @model_validator(mode="after")
    def _mode_needs_its_secret(self) -> Self:
        if self.mode == "socket" and self.app_token is None:
            raise InvalidKey(
                "app_token",
                "is required when mode is 'socket' (an app-level token starting with xapp-)",
            )
        if self.mode == "http" and self.signing_secret is None:
            raise InvalidKey(
                "signing_secret",
                "is required when mode is 'http' "
                "(Basic Information → Signing Secret in the app's settings)",
            )
        return self
