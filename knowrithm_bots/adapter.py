"""Everything an adapter author imports: the contract, events, errors and the helpers for them.

A third-party adapter imports from this module only; the modules under
``knowrithm_bots.core`` are the framework's own and may be rearranged between releases.
Start with ``Adapter`` (the contract) and docs/writing-an-adapter.md (a whole package).
"""

from __future__ import annotations

from knowrithm_bots.core.adapter import (
    Adapter,
    EventSink,
    NativeStream,
    Posted,
    SupportsFeedbackButtons,
    SupportsNativeStream,
    SupportsStopButton,
    SupportsStore,
    UserEmails,
)
from knowrithm_bots.core.attached_files import is_text_like, read_attached
from knowrithm_bots.core.commands import Command, parse_command
from knowrithm_bots.core.config import AdapterConfig, ConfigKeyDeprecated, InvalidKey
from knowrithm_bots.core.error_translation import Translate, translating
from knowrithm_bots.core.errors import (
    ConfigError,
    KnowrithmBotsError,
    MarkupRejected,
    MessageNotFound,
    MessageTooLong,
    NativeStreamUnavailable,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)
from knowrithm_bots.core.events import (
    Author,
    ContextMessage,
    Inbound,
    InboundFile,
    Origin,
    Reaction,
)
from knowrithm_bots.core.limits import (
    CALL_KINDS,
    SCOPES,
    Budget,
    CallKind,
    Capabilities,
    Limits,
    Scope,
)
from knowrithm_bots.core.log_redaction import RedactionScope, Redactor
from knowrithm_bots.core.markup import to_plain_text, utf16_len
from knowrithm_bots.core.retry_after import MAX_RETRY_AFTER, parse_retry_after
from knowrithm_bots.core.thread_key import ThreadKeyCodec, key_fields
from knowrithm_bots.core.thread_queue import ThreadQueue

__all__ = [
    "CALL_KINDS",
    "MAX_RETRY_AFTER",
    "SCOPES",
    "Adapter",
    "AdapterConfig",
    "Author",
    "Budget",
    "CallKind",
    "Capabilities",
    "Command",
    "ConfigError",
    "ConfigKeyDeprecated",
    "ContextMessage",
    "EventSink",
    "Inbound",
    "InboundFile",
    "InvalidKey",
    "KnowrithmBotsError",
    "Limits",
    "MarkupRejected",
    "MessageNotFound",
    "MessageTooLong",
    "NativeStream",
    "NativeStreamUnavailable",
    "Origin",
    "PlatformAuthError",
    "PlatformError",
    "PlatformRateLimited",
    "PlatformUnavailable",
    "Posted",
    "Reaction",
    "RedactionScope",
    "Redactor",
    "Scope",
    "SupportsFeedbackButtons",
    "SupportsNativeStream",
    "SupportsStopButton",
    "SupportsStore",
    "ThreadKeyCodec",
    "ThreadQueue",
    "Translate",
    "UserEmails",
    "is_text_like",
    "key_fields",
    "parse_command",
    "parse_retry_after",
    "read_attached",
    "to_plain_text",
    "translating",
    "utf16_len",
]
