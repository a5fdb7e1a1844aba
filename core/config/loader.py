"""Reads a YAML config file into Settings, with clear errors for every way it can be wrong."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from knowrithm_bots.core.config.aliases import check_document
from knowrithm_bots.core.config.envvars import expand
from knowrithm_bots.core.config.models import Settings
from knowrithm_bots.core.config.validation import validate_section
from knowrithm_bots.core.errors import ConfigError


def parse_settings(data: Any, *, env: Mapping[str, str] | None = None) -> Settings:
    """Validate an already-parsed document (None means all defaults).

    Adapter sections are kept as written: ``adapter_config`` expands them when that adapter
    is used, so a missing token of an adapter nobody runs stops nothing.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the config file must be a mapping of keys to values at the top level")
    check_document(data)
    shared = {k: v for k, v in data.items() if k != "adapters"}
    expanded = expand(shared, env=os.environ if env is None else env)
    if "adapters" in data:
        expanded["adapters"] = data["adapters"]
    return validate_section(Settings, data=expanded)


def adapter_config(
    settings: Settings, *, name: str, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The config section of adapter ``name`` with ``${ENV}`` references expanded."""
    section = settings.adapters.get(name, {})
    expanded: dict[str, Any] = expand(
        section, env=os.environ if env is None else env, path=f"adapters.{name}"
    )
    return expanded


# Without a knowrithm section a config file would quietly run against the embedded fake agent.
_NO_AGENT = (
    "set knowrithm.base_url, api_key, api_secret and agent_id to your agent "
    "(to chat with the local agent without an account, run knowrithm-bots demo)"
)


def load_settings(path: str | Path, *, env: Mapping[str, str] | None = None) -> Settings:
    """Load and validate the YAML file at ``path``.

    The file must say which Knowrithm to use (``knowrithm.base_url``). A relative
    ``store.path`` is taken relative to the file's folder.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {file} is a directory; name a YAML file") from None
    except PermissionError:
        raise ConfigError(f"config file {file} cannot be read: permission denied") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {file} cannot be read: it is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"config file {file} cannot be read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"config file {file} is not valid YAML{where}") from None
    except RecursionError:
        # The YAML parser itself recurses once per level of brackets or indentation.
        raise ConfigError(f"config file {file} is nested too deeply to read") from None
    if data is None:
        raise ConfigError(f"config file {file} is empty: {_NO_AGENT}", key_path="knowrithm")
    settings = parse_settings(data, env=env)
    if "knowrithm" not in settings.model_fields_set:
        raise ConfigError(
            f"config file {file} has no knowrithm section: {_NO_AGENT}", key_path="knowrithm"
        )
    if "base_url" not in settings.knowrithm.model_fields_set:
        raise ConfigError(
            f"config key knowrithm.base_url is required: {_NO_AGENT}",
            key_path="knowrithm.base_url",
        )
    store = settings.store
    folder = file.absolute().parent
    return settings.model_copy(
        update={"store": store.model_copy(update={"path": str(folder / store.path)})}
    )
