"""The base of every adapter's config section: unknown keys refused, renamed keys still read."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from knowrithm_bots.core.config.validation import validate_section
from knowrithm_bots.core.errors import ConfigError


class ConfigKeyDeprecated(FutureWarning):
    """A config file used an old name for a key; it still works, and will not forever.

    A ``FutureWarning`` because the person who must act is the one running the bot, and
    Python shows those by default.
    """


class AdapterConfig(BaseModel):
    """An adapter's section under ``adapters.<name>``, validated once into a frozen model.

    Subclasses declare fields with pydantic types and ``Field`` bounds, validate single
    keys with ``field_validator`` and keys that depend on each other with a
    ``model_validator(mode="after")`` that raises ``InvalidKey`` naming the key at fault.
    Keys with the same meaning carry the same name in every adapter: ``api_base_url``,
    ``allowed_channels``, ``allowed_users``, ``staff_users``. A key that was renamed is
    listed in ``renamed`` (old name → new name): the old name is still read, with a
    ``ConfigKeyDeprecated`` warning that names both.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    renamed: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def load(cls, data: Mapping[str, Any] | None, *, prefix: str) -> Self:
        """Validate ``data``; raise ``ConfigError`` naming ``prefix.<key>``, never a value."""
        section = dict(data or {})
        for old, new in cls.renamed.items():
            if old not in section:
                continue
            if new in section:
                raise ConfigError(
                    f"config keys {prefix}.{old} and {prefix}.{new} are the same setting; "
                    f"keep only {prefix}.{new}",
                    key_path=f"{prefix}.{old}",
                )
            warnings.warn(
                f"config key {prefix}.{old} is now called {prefix}.{new}; "
                "the old name still works but will be removed",
                ConfigKeyDeprecated,
                stacklevel=2,
            )
            section[new] = section.pop(old)
        return validate_section(cls, data=section, prefix=prefix)
