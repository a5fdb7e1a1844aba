"""Turns pydantic validation failures into one ConfigError naming the key path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from knowrithm_bots.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class InvalidKey(ValueError):
    """Raised by a model validator to blame one key: ``InvalidKey("webhook_url", "is
    required when mode is webhook")`` becomes ``config key adapters.telegram.webhook_url is
    required when mode is webhook``."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    parts = [prefix] if prefix else []
    parts.extend(str(p) for p in loc)
    return ".".join(parts)


def validate_section(model: type[M], *, data: Mapping[str, Any] | None, prefix: str = "") -> M:
    """Validate ``data`` into ``model``; on failure raise ConfigError for the first bad key.

    The message names the key and what is wrong with it, never the value (it may be a secret).
    """
    try:
        return model.model_validate(dict(data or {}))
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        loc = tuple(first["loc"])
        blamed = first.get("ctx", {}).get("error")
        if isinstance(blamed, InvalidKey):
            loc = (*loc, *blamed.key.split("."))
        key = _path(prefix, loc)
        kind = first["type"]
        if isinstance(blamed, InvalidKey):
            reason = blamed.reason
        elif kind == "extra_forbidden":
            reason = "is not a known setting"
        elif kind == "missing":
            reason = "is required"
        else:
            reason = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"config key {key or '(top level)'} {reason}", key_path=key) from None
