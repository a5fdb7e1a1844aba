"""Typed settings loaded from YAML with ``${ENV}`` expansion."""

from core.config.loader import adapter_config, load_settings, parse_settings
from core.config.models import (
    ConversationSettings,
    EntityRule,
    KnowrithmSettings,
    RatingSettings,
    Settings,
    StoreSettings,
)
from core.config.validation import validate_section

__all__ = [
    "ConversationSettings",
    "EntityRule",
    "KnowrithmSettings",
    "RatingSettings",
    "Settings",
    "StoreSettings",
    "adapter_config",
    "load_settings",
    "parse_settings",
    "validate_section",
]
