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
    # per_user: each person in a thread or channel has a conversation of their own there.
    group_sessions: Literal["shared", "per_user"] = "shared"
    feedback_buttons: bool = True
    stop_button: bool = True
    # /new /end /stop /help as application commands, registered at start in these guilds
    # (shown at once) or, with none listed, globally.
    native_commands: bool = True
    command_guilds: list[Snowflake] | None = None
    thread_auto_archive_minutes: Literal[60, 1440, 4320, 10080] = 1440
    guild_ready_timeout: float = Field(default=2.0, ge=0, le=60)
    connect_timeout: float = Field(default=30.0, gt=0)
    max_rate_limit_wait: float = Field(default=30.0, ge=30)
    membership_cache_seconds: float = Field(default=600.0, ge=0)
    # Sharding (Discord's answer to scale; a bot cannot be load balanced): the guilds are
    # split into shard_count shards, and this process serves the shards in shard_ids (all
    # of them when not set). A guild belongs to shard (guild_id >> 22) % shard_count.
    shard_count: int = Field(default=1, ge=1)
    shard_ids: list[int] | None = None

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

    @field_validator("allowed_guilds", "allowed_channels", "command_guilds")
    @classmethod
    def _ids(cls, value: list[Snowflake] | None) -> list[Snowflake] | None:
        if value is not None and any(v <= 0 for v in value):
            raise ValueError("must list Discord ids (positive numbers)")
        return value

    @field_validator("shard_ids")
    @classmethod
    def _shard_ids(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must list at least one shard id (or be left out for all shards)")
        if any(v < 0 for v in value):
            raise ValueError("must list shard ids from 0 up")
        if len(set(value)) != len(value):
            raise ValueError("must not list a shard twice")
        return sorted(value)

    @model_validator(mode="after")
    def _shards_exist(self) -> Self:
        too_high = [v for v in self.shard_ids or () if v >= self.shard_count]
        if too_high:
            raise InvalidKey(
                "shard_ids",
                f"lists shard {too_high[0]}, but shard ids run from 0 to shard_count - 1 "
                f"({self.shard_count - 1} with shard_count {self.shard_count})",
            )
        return self

    @property
    def shards(self) -> list[int]:
        """The shards this process serves."""
        return list(self.shard_ids) if self.shard_ids is not None else list(range(self.shard_count))

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
