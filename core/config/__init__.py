"""Typed settings loaded from YAML with ``${ENV}`` expansion."""

from knowrithm_bots.core.config.adapter_config import AdapterConfig, ConfigKeyDeprecated
from knowrithm_bots.core.config.loader import adapter_config, load_settings, parse_settings
from knowrithm_bots.core.config.models import (
    ContextSettings,
    ConversationSettings,
    EntityRule,
    FileSettings,
    KnowrithmSettings,
    LeadSettings,
    ObservabilitySettings,
    RatingSettings,
    Settings,
    StoreSettings,
)
from knowrithm_bots.core.config.validation import InvalidKey, validate_section

__all__ = [
    "AdapterConfig",
    "ConfigKeyDeprecated",
    "ContextSettings",
    "ConversationSettings",
    "EntityRule",
    "FileSettings",
    "InvalidKey",
    "KnowrithmSettings",
    "LeadSettings",
    "ObservabilitySettings",
    "RatingSettings",
    "Settings",
    "StoreSettings",
    "adapter_config",
    "load_settings",
    "parse_settings",
    "validate_section",
]
