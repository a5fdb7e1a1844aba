"""Expands ``${VAR}`` and ``${VAR:-default}`` in every string of a loaded YAML document."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from knowrithm_bots.core.errors import ConfigError

_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand(node: Any, *, env: Mapping[str, str], path: str = "") -> Any:
    """A copy of ``node`` with environment references replaced; a missing variable names its key."""
    if isinstance(node, dict):
        return {
            k: expand(v, env=env, path=f"{path}.{k}" if path else str(k)) for k, v in node.items()
        }
    if isinstance(node, list):
        return [expand(v, env=env, path=f"{path}.{i}") for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"config key {path} refers to environment variable {name}, which is not set",
            key_path=path,
        )

    return _PATTERN.sub(replace, node)
