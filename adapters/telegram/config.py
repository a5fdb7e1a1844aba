"""The ``adapters.telegram`` config section, validated into a frozen model."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from knowrithm_bots.core.config import AdapterConfig, InvalidKey

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"

_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")


class TelegramConfig(AdapterConfig):
    """Everything the Telegram adapter can be told; only ``token`` is required.

    ``allowed_channels`` / ``allowed_users`` are numeric Telegram ids (a private chat's id
    is the user's id); unset means everyone. ``staff_users`` marks the people who are not
    external (``Author.external`` is True for everyone else once the list is set).
    """

    renamed: ClassVar[Mapping[str, str]] = {"allowed_chats": "allowed_channels"}

    token: SecretStr
    api_base_url: str = DEFAULT_API_BASE_URL
    api_file_url: str | None = None
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout: int = Field(default=10, ge=0, le=50)
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_path: str = "telegram"
    webhook_secret: SecretStr | None = None
    allowed_channels: list[int] | None = None
    allowed_users: list[int] | None = None
    staff_users: list[int] | None = None
    group_mode: Literal["mentions", "all"] = "mentions"
    # Unset: each person has a conversation of their own in a plain group (nothing else
    # separates them there), and a forum topic is one conversation, like a thread elsewhere.
    group_sessions: Literal["shared", "per_user"] | None = None
    formatting: Literal["html", "plain"] = "html"
    stream_drafts: bool = True
    feedback_buttons: bool = True
    stop_button: bool = True
    not_allowed_notice: str | None = "Sorry, this bot is not available in this chat."
    edited_notice: str | None = (
        "I only read new messages, so your edit was not passed to the agent. "
        "Send the changed text as a new message if you want an answer to it."
    )

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.fullmatch(value.get_secret_value().strip()):
            raise ValueError("must be the bot token BotFather gave, shaped like 123456:ABC-DEF...")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram takes 1-256 characters; a short one could not be told apart from ordinary
        # words in the logs, so it could not be kept out of them.
        if value is not None and not _SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 16-256 characters from A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("api_base_url", "api_file_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        return value.strip("/")

    @model_validator(mode="after")
    def _webhook_needs(self) -> Self:
        if self.mode == "webhook":
            # Without a URL Telegram has nowhere to send updates; without a secret anyone
            # who finds the URL could post fake ones.
            if self.webhook_url is None:
                raise InvalidKey("webhook_url", "is required when mode is webhook")
            if self.webhook_secret is None:
                raise InvalidKey("webhook_secret", "is required when mode is webhook")
        return self

    def per_user(self, *, topic: bool) -> bool:
        """Whether each person in a group (``topic``: a forum topic) has their own conversation."""
        if self.group_sessions is None:
            return not topic
        return self.group_sessions == "per_user"

    @property
    def bot_api_url(self) -> str:
        """The base URL python-telegram-bot appends ``<token>/<method>`` to."""
        base = self.api_base_url.rstrip("/")
        return base if base.endswith("/bot") else base + "/bot"

    @property
    def bot_file_url(self) -> str:
        if self.api_file_url is not None:
            return self.api_file_url
        return self.bot_api_url.removesuffix("/bot") + "/file/bot"
