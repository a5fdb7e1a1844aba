"""The ``adapters.discord`` config section."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from knowrithm_bots.core.config import AdapterConfig, InvalidKey

DISCORD_API = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"

Snowflake = int


class DiscordConfig(AdapterConfig):
    """Everything the Discord adapter reads from its config section.

    ``api_base_url`` is the REST base including the API version (what discord.py calls
    ``Route.BASE``); ``gateway_url`` the WebSocket URL to IDENTIFY on. discord.py holds
    both process-wide, so one process serves one Discord endpoint. ``allowed_channels``
    names text channels (their threads follow). No key was ever renamed.
    """

    token: SecretStr
    api_base_url: str = DISCORD_API
    gateway_url: str = DISCORD_GATEWAY
    message_content_intent: bool = False
    allowed_guilds: list[Snowflake] | None = None
    allowed_channels: list[Snowflake] | None = None
    direct_messages: bool = True
    feedback_buttons: bool = True
    thread_auto_archive_minutes: Literal[60, 1440, 4320, 10080] = 1440
    guild_ready_timeout: float = Field(default=2.0, ge=0, le=60)
    connect_timeout: float = Field(default=30.0, gt=0)
    max_rate_limit_wait: float = Field(default=30.0, ge=30)
    membership_cache_seconds: float = Field(default=600.0, ge=0)

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip().removeprefix("Bot ").strip()
        if not raw:
            raise ValueError("must be the bot token from the Discord Developer Portal")
        if any(c.isspace() for c in raw):
            raise ValueError("must be one word without spaces (the bot token as shown)")
        return SecretStr(raw)

    @field_validator("api_base_url")
    @classmethod
    def _api(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://discord.com/api/v10")
        return value.rstrip("/")

    @field_validator("gateway_url")
    @classmethod
    def _gateway(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must be a ws(s) URL such as wss://gateway.discord.gg/")
        return value

    @field_validator("allowed_guilds", "allowed_channels")
    @classmethod
    def _ids(cls, value: list[Snowflake] | None) -> list[Snowflake] | None:
        if value is not None and any(v <= 0 for v in value):
            raise ValueError("must list Discord ids (positive numbers)")
        return value

    @model_validator(mode="after")
    def _ready_in_time(self) -> Self:
        # discord.py reports ready only once no guild arrived for guild_ready_timeout, so a
        # start bounded by less than that could never succeed.
        if self.connect_timeout <= self.guild_ready_timeout:
            raise InvalidKey(
                "connect_timeout",
                f"must be longer than guild_ready_timeout ({self.guild_ready_timeout:g}s): "
                "discord.py waits that long for guilds before the bot is ready",
            )
        return self
