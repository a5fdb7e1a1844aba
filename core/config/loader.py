"""Reads a YAML config file into Settings, with clear errors for every way it can be wrong."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from core.config.envvars import expand
from core.config.models import Settings
from core.config.validation import validate_section
from core.errors import ConfigError


def parse_settings(data: Any, *, env: Mapping[str, str] | None = None) -> Settings:
    """Validate an already-parsed document (None means all defaults)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the config file must be a mapping of keys to values at the top level")
    expanded = expand(data, env=os.environ if env is None else env)
    return validate_section(Settings, expanded)


def load_settings(path: str | Path, *, env: Mapping[str, str] | None = None) -> Settings:
    """Load and validate the YAML file at ``path``."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {file} cannot be read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"config file {file} is not valid YAML{where}") from None
    return parse_settings(data, env=env)
