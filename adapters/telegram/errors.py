"""Translates python-telegram-bot's exceptions into the core's platform error tree."""

from __future__ import annotations

import datetime as dtm
import warnings

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from knowrithm_bots.adapters.telegram.redact import redact
from knowrithm_bots.core.errors import (
    MarkupRejected,
    MessageNotFound,
    MessageTooLong,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)

_NOT_FOUND = (
    "message to edit not found",
    "message can't be edited",
    "message to be replied not found",
    "message_id_invalid",
)


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait RetryAfter asks for, whether PTB holds it as int or timedelta.

    Reading ``retry_after`` warns about the coming timedelta type unless ``PTB_TIMEDELTA``
    is set; both spellings are accepted so the adapter works either way.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)


def _lower(error: TelegramError) -> str:
    return error.message.lower()


def is_not_modified(error: TelegramError) -> bool:
    return isinstance(error, BadRequest) and _lower(error).startswith("message is not modified")


def is_markup_error(error: TelegramError) -> bool:
    return isinstance(error, BadRequest) and "can't parse entities" in _lower(error)


def translate(error: TelegramError, *, secret: str) -> PlatformError:
    """The core error for ``error``; its message never contains ``secret`` (the token)."""
    text = redact(error.message, secret=secret)
    lowered = text.lower()
    if isinstance(error, RetryAfter):
        seconds = retry_after_seconds(error)
        return PlatformRateLimited(
            f"Telegram asked to wait {seconds:g} s (flood control)", retry_after=seconds
        )
    if isinstance(error, InvalidToken):
        return PlatformAuthError(
            "Telegram rejected the bot token: check adapters.telegram.token"
            if "rejected" in lowered or "unauthorized" in lowered
            else f"Telegram refused the request: {text}"
        )
    if isinstance(error, Forbidden):
        return PlatformAuthError(f"Telegram refused the bot access: {text}")
    if isinstance(error, ChatMigrated):
        return PlatformError(f"the group became a supergroup with id {error.new_chat_id}")
    if isinstance(error, BadRequest):
        if "can't parse entities" in lowered:
            return MarkupRejected(f"Telegram could not parse the formatting: {text}")
        if "too long" in lowered:
            return MessageTooLong(f"Telegram refused the text as too long: {text}")
        if any(marker in lowered for marker in _NOT_FOUND):
            return MessageNotFound(f"Telegram could not find the message: {text}")
        return PlatformError(f"Telegram refused the request: {text}")
    if isinstance(error, NetworkError):
        return PlatformUnavailable(f"Telegram could not be reached: {text}")
    return PlatformError(f"Telegram failed: {text}")
