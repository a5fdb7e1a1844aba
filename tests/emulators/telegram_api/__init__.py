"""A wire-level Telegram Bot API emulator for tests that drive the real python-telegram-bot."""

from ._builders import ALICE, BOB, FORUM_ID, GROUP_ID, OTHER_BOT, UpdateBuilder, auto_entities
from ._flood import FloodLimits
from ._markup import MarkupError, parse_html, utf16_len
from ._methods import NOT_MODIFIED, REACTION_EMOJI
from ._records import (
    BotIdentity,
    CallbackAnswer,
    CallRecord,
    ChatActionRecord,
    DraftRecord,
    ReactionRecord,
    SentMessage,
    UploadedFile,
    WebhookConfig,
)
from ._server import TelegramEmulator, update_kind
from .malformed import MALFORMED_UPDATES, POISON_MARKER, Malformed, malformed_update

__all__ = [
    "ALICE",
    "BOB",
    "FORUM_ID",
    "GROUP_ID",
    "MALFORMED_UPDATES",
    "NOT_MODIFIED",
    "OTHER_BOT",
    "POISON_MARKER",
    "REACTION_EMOJI",
    "BotIdentity",
    "CallRecord",
    "CallbackAnswer",
    "ChatActionRecord",
    "DraftRecord",
    "FloodLimits",
    "Malformed",
    "MarkupError",
    "ReactionRecord",
    "SentMessage",
    "TelegramEmulator",
    "UpdateBuilder",
    "UploadedFile",
    "WebhookConfig",
    "auto_entities",
    "malformed_update",
    "parse_html",
    "update_kind",
    "utf16_len",
]
