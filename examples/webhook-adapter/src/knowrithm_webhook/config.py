"""The ``adapters.webhook`` config section."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from knowrithm_bots.adapter import AdapterConfig


class WebhookConfig(AdapterConfig):
    """Where the chat backend's API is, how both sides authenticate, where to listen."""

    api_url: str
    token: SecretStr
    signing_secret: SecretStr
    bot_id: str = Field(min_length=1)
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(default=8080, ge=0, le=65535)
    path: str = "/events"
    public_url: str | None = None
    register_webhook: bool = True
    timeout: float = Field(default=10.0, gt=0)

    @field_validator("api_url", "public_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @field_validator("bot_id")
    @classmethod
    def _no_colon(cls, value: str) -> str:
        if ":" in value:
            raise ValueError("must not contain ':' (it is part of thread keys)")
        return value
