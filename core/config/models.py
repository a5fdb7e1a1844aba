"""The settings every bot shares; each adapter validates its own section itself."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)

from knowrithm_bots.core.config.validation import InvalidKey
from knowrithm_bots.core.leads import usable_domain
from knowrithm_bots.core.user_messages import STILL_WORKING

# Stands for every value of an adapter section in reprs and dumps (tokens live there).
MASK = "**********"

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
        # Refused rather than masked: a URL is shown in errors, logs and reprs all over, and
        # Knowrithm authenticates with the key and secret, never with URL credentials.
        if "@" in urlsplit(value).netloc:
            raise ValueError(
                "must not contain a user name or password (user:password@); put the "
                "credentials in knowrithm.api_key and knowrithm.api_secret"
            )
        return value.rstrip("/")


class StoreSettings(_Strict):
    """Where thread → conversation links and other state are kept.

    ``path`` starts with ``~`` expanded; ``load_settings`` makes a relative path relative to
    the config file's folder, so the store does not depend on where the bot was started.
    """

    backend: Literal["sqlite", "memory", "redis"] = "sqlite"
    path: str = Field(default="knowrithm-bots.sqlite", min_length=1)
    # A Redis URL may carry a password: a secret, kept out of reprs, dumps and errors.
    url: SecretStr | None = None
    # Several bots (or other programs) can share one Redis database, each under its prefix.
    key_prefix: str = Field(default="knowrithm-bots:", min_length=1)
    # With Redis, the platform budgets several instances spend (a group, a workspace, the
    # bot) are kept there too, so the instances together stay inside them; off: each
    # instance paces alone, as if it were the only one.
    shared_budgets: bool = True

    @field_validator("path")
    @classmethod
    def _home(cls, value: str) -> str:
        return os.path.expanduser(value)

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # `${REDIS_URL:-}` left empty is unset
        try:
            scheme = urlsplit(value.get_secret_value().strip()).scheme
        except ValueError:
            scheme = ""  # unparseable (a broken [IPv6] host): the same sentence
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                "must be a Redis URL such as redis://host:6379/0 (rediss:// for TLS, "
                "unix:///path/to/redis.sock for a socket)"
            )
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _url_for_redis(self) -> StoreSettings:
        if self.backend == "redis" and self.url is None:
            raise InvalidKey("url", "is required when store.backend is redis")
        return self


class ObservabilitySettings(_Strict):
    """The operators' HTTP listener (``/healthz``, ``/readyz``, ``/metrics``); off unless
    ``listen`` is set, as ``HOST:PORT`` (``[::1]:9464`` for IPv6, ``:9464`` on every
    interface)."""

    listen: str | None = None
    # Seconds a Knowrithm or store probe of /readyz is reused: load balancers probe often.
    readiness_cache_seconds: float = Field(default=5.0, gt=0)

    @field_validator("listen")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None  # `${METRICS_LISTEN:-}` leaves the listener off when unset
        split_listen(value)
        return value.strip()

    @property
    def host(self) -> str:
        assert self.listen is not None
        return split_listen(self.listen)[0]

    @property
    def port(self) -> int:
        assert self.listen is not None
        return split_listen(self.listen)[1]


def split_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` as (host, port); ``ValueError`` saying what is wrong with it."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"must be HOST:PORT, such as 127.0.0.1:9464, not {value!r}")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"must have a port between 0 and 65535, not {port}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"must put an IPv6 address in brackets, such as [::1]:{port}")
    return host or "0.0.0.0", port


EntityTypeName = Literal["USER", "LEAD"]


def _entity_type_name(value: Any) -> Any:
    """``user``, ``User`` and ``USER`` are one entity type; stored and compared uppercase."""
    if isinstance(value, str):
        name = value.strip().upper()
        if name not in ("USER", "LEAD"):
            raise ValueError("must be USER or LEAD (in any letter case)")
        return name
    return value


class EntityRule(_Strict):
    """A rule that decides USER or LEAD; every condition given must hold, unset ones match all.

    Ids may be written as numbers (Telegram user ids); they are compared as strings.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    entity_type: EntityTypeName = "LEAD"
    adapters: list[str] | None = None
    direct: bool | None = None
    channels: list[str] | None = None
    external: bool | None = None
    users: list[str] | None = None
    users_not_in: list[str] | None = None

    _entity_type = field_validator("entity_type", mode="before")(_entity_type_name)


class ConversationSettings(_Strict):
    """How threads become conversations."""

    default_entity_type: EntityTypeName = "USER"
    entity_rules: list[EntityRule] = Field(default_factory=list)
    idle_minutes: float = Field(default=30.0, gt=0)
    max_input_chars: int = Field(default=8000, gt=0)
    max_concurrent_threads: int = Field(default=64, gt=0)

    _entity_type = field_validator("default_entity_type", mode="before")(_entity_type_name)
    # Seconds without the answer's first words before the thread is told, once, that the
    # agent is still at it (null: never).
    still_working_after_seconds: float | None = Field(default=15.0, gt=0)
    still_working_text: str = STILL_WORKING
    # Seconds without new words (the first ones, or the next) after which the bot stops
    # waiting: the answer so far is finished with a sentence saying so.
    answer_timeout_seconds: float = Field(default=120.0, gt=0)
    # Messages that arrive in a thread while its answer is being written: ``merge`` sends them
    # as one message once the answer ends (answered once); ``queue`` answers each in turn.
    busy: Literal["merge", "queue"] = "merge"

    @field_validator("still_working_text")
    @classmethod
    def _some_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _notice_before_limit(self) -> ConversationSettings:
        notice, limit = self.still_working_after_seconds, self.answer_timeout_seconds
        if notice is not None and notice >= limit:
            raise InvalidKey(
                "still_working_after_seconds",
                f"must be shorter than answer_timeout_seconds ({limit:g}), or the notice "
                "would never show",
            )
        return self


class ContextSettings(_Strict):
    """The earlier messages of a thread sent with the first message of its conversation."""

    enabled: bool = True
    # The newest messages are kept within both caps: a long thread's start matters least.
    history_messages: int = Field(default=20, ge=1, le=200)
    history_chars: int = Field(default=6000, ge=100)


class FileSettings(_Strict):
    """Files attached to messages: text-like ones are read and sent with the message."""

    enabled: bool = True
    # Bigger files are named, not downloaded: the size is checked before downloading.
    max_bytes: int = Field(default=200_000, ge=1, le=20_000_000)
    # Also list the files in Knowrithm's ``attachments`` field (its shape is undocumented).
    send_as_attachments: bool = False


class RatingSettings(_Strict):
    """How reactions become ratings (1-5)."""

    emoji: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_RATING_EMOJI))
    # Days an answer can be rated by a reaction; its message links are then let go, so the
    # store does not grow with the bot's age (a reaction for as long again gets "too old").
    link_days: float = Field(default=30.0, gt=0, le=3650)

    @field_validator("emoji")
    @classmethod
    def _range(cls, value: dict[str, int]) -> dict[str, int]:
        for name, rating in value.items():
            if not 1 <= rating <= 5:
                raise ValueError(f"rating for {name!r} must be between 1 and 5, not {rating}")
        return value


class LeadSettings(_Strict):
    """How leads (the contacts of LEAD conversations) are registered on Knowrithm."""

    # The domain of the addresses derived for people whose platform gives no e-mail; a
    # domain the operator owns, since Knowrithm validates lead e-mails and keys leads by them.
    email_domain: str | None = None

    @field_validator("email_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        # Empty is unset, so `${LEAD_EMAIL_DOMAIN:-}` leaves it out when the variable is.
        return usable_domain(value) if value and value.strip() else None


class Settings(_Strict):
    """The whole configuration file."""

    knowrithm: KnowrithmSettings = Field(default_factory=KnowrithmSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    conversations: ConversationSettings = Field(default_factory=ConversationSettings)
    leads: LeadSettings = Field(default_factory=LeadSettings)
    ratings: RatingSettings = Field(default_factory=RatingSettings)
    context: ContextSettings = Field(default_factory=ContextSettings)
    files: FileSettings = Field(default_factory=FileSettings)
    adapters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # None: the command line chooses (WARNING while the terminal chat runs, INFO otherwise).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None

    @field_validator(
        "knowrithm",
        "store",
        "observability",
        "conversations",
        "leads",
        "ratings",
        "context",
        "files",
        mode="before",
    )
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        # A section written with no keys (`store:`) arrives as None: it means all defaults.
        return {} if value is None else value

    @field_validator("adapters", mode="before")
    @classmethod
    def _sections(cls, value: Any) -> Any:
        # An adapter listed with no keys (`console:`) arrives as None.
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value

    # Adapter sections are validated by their adapters, so nobody here knows which of their
    # keys are secret: reprs and dumps show the keys and mask every value.
    @field_serializer("adapters")
    def _masked_sections(self, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
        return _masked(value)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, _masked(value) if name == "adapters" else value


def _masked(sections: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        name: {str(key): MASK for key in section} if isinstance(section, dict) else MASK
        for name, section in sections.items()
    }
