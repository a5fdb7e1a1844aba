"""The settings every bot shares; each adapter validates its own section itself."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

DEFAULT_RATING_EMOJI: dict[str, int] = {
    "👍": 5,
    "👎": 1,
    "1️⃣": 1,
    "2️⃣": 2,
    "3️⃣": 3,
    "4️⃣": 4,
    "5️⃣": 5,
    # Slack names its emoji; its adapter passes the names through unchanged.
    "+1": 5,
    "thumbsup": 5,
    "-1": 1,
    "thumbsdown": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KnowrithmSettings(_Strict):
    """Where the agent lives. ``base_url: local`` runs the embedded local server."""

    base_url: str = "local"
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    agent_id: str | None = None
    timeout: float = Field(default=30.0, gt=0)

    @property
    def is_local(self) -> bool:
        return self.base_url == "local"

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value != "local" and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must be 'local' or an http(s) URL such as https://app.knowrithm.org/api"
            )
        return value.rstrip("/")


class StoreSettings(_Strict):
    """Where thread → conversation links and other state are kept."""

    backend: Literal["sqlite", "memory"] = "sqlite"
    path: str = "knowrithm-bots.sqlite"


class EntityRule(_Strict):
    """A rule that decides USER or LEAD; every condition given must hold, unset ones match all.

    Ids may be written as numbers (Telegram user ids); they are compared as strings.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    entity_type: Literal["USER", "LEAD"] = "LEAD"
    adapters: list[str] | None = None
    direct: bool | None = None
    channels: list[str] | None = None
    external: bool | None = None
    users: list[str] | None = None
    users_not_in: list[str] | None = None


class ConversationSettings(_Strict):
    """How threads become conversations."""

    default_entity_type: Literal["USER", "LEAD"] = "USER"
    entity_rules: list[EntityRule] = Field(default_factory=list)
    idle_minutes: float = Field(default=30.0, gt=0)
    max_input_chars: int = Field(default=8000, gt=0)
    max_concurrent_threads: int = Field(default=64, gt=0)


class RatingSettings(_Strict):
    """How reactions become ratings (1-5)."""

    emoji: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_RATING_EMOJI))

    @field_validator("emoji")
    @classmethod
    def _range(cls, value: dict[str, int]) -> dict[str, int]:
        for name, rating in value.items():
            if not 1 <= rating <= 5:
                raise ValueError(f"rating for {name!r} must be between 1 and 5, not {rating}")
        return value


class Settings(_Strict):
    """The whole configuration file."""

    knowrithm: KnowrithmSettings = Field(default_factory=KnowrithmSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    conversations: ConversationSettings = Field(default_factory=ConversationSettings)
    ratings: RatingSettings = Field(default_factory=RatingSettings)
    adapters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("adapters", mode="before")
    @classmethod
    def _sections(cls, value: Any) -> Any:
        # An adapter listed with no keys (`console:`) arrives as None.
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value
