"""Translates python-telegram-bot's exceptions into the core's platform error tree."""

from __future__ import annotations

import datetime as dtm
import functools
import warnings
from contextlib import AbstractContextManager

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
from knowrithm_bots.core.error_translation import translating
from knowrithm_bots.core.errors import (
    MarkupRejected,
    MessageNotFound,
    MessageTooLong,
    NativeStreamUnavailable,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)

_NOT_FOUND = (
    "message to edit not found",
    "message to delete not found",
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


def _platform_error(error: TelegramError, *, action: str, secret: str) -> PlatformError:
    text = redact(error.message, secret=secret)
    lowered = text.lower()
    if isinstance(error, RetryAfter):
        seconds = retry_after_seconds(error)
        return PlatformRateLimited(
            f"Telegram asked to wait {seconds:g} s before {action} (flood control)",
            retry_after=seconds,
        )
    if isinstance(error, InvalidToken):
        return PlatformAuthError(
            "Telegram rejected the bot token: check adapters.telegram.token"
            if "rejected" in lowered or "unauthorized" in lowered
            else f"Telegram refused {action}: {text}"
        )
    if isinstance(error, Forbidden):
        return PlatformAuthError(f"Telegram refused the bot access for {action}: {text}")
    if isinstance(error, ChatMigrated):
        return PlatformError(
            f"Telegram refused {action}: the group became a supergroup with id {error.new_chat_id}"
        )
    if isinstance(error, BadRequest):
        if "can't parse entities" in lowered:
            return MarkupRejected(f"Telegram could not parse the formatting for {action}: {text}")
        # "message is too long" on sends; edits say MESSAGE_TOO_LONG.
        if "too long" in lowered or "too_long" in lowered:
            return MessageTooLong(f"Telegram refused {action} as too long: {text}")
        if any(marker in lowered for marker in _NOT_FOUND):
            return MessageNotFound(f"Telegram could not find the message for {action}: {text}")
        return PlatformError(f"Telegram refused {action}: {text}")
    if isinstance(error, NetworkError):  # TimedOut too; PTB wraps httpx's failures in these
        return PlatformUnavailable(f"Telegram could not be reached for {action}: {text}")
    return PlatformError(f"Telegram failed {action}: {text}")


def translate(
    exc: Exception,
    *,
    action: str,
    secret: str,
    native_stream: bool = False,
    listen: str | None = None,
) -> PlatformError | None:
    """The core error for ``exc`` raised while doing ``action`` (a phrase such as "posting a
    message"), or None when it is no platform failure. The sentence never contains
    ``secret`` (the bot token).

    ``native_stream``: the call feeds a draft, so a refusal becomes
    ``NativeStreamUnavailable`` (the engine then posts instead); rate limits and outages
    stay as they are, for the engine to wait out, and so does a refused formatting, which
    the sender retries as plain text. ``listen``: the address the webhook listener binds,
    so that an ``OSError`` there names it.
    """
    if isinstance(exc, TelegramError):
        error = _platform_error(exc, action=action, secret=secret)
        if native_stream and not isinstance(
            error, PlatformRateLimited | PlatformUnavailable | MarkupRejected
        ):
            return NativeStreamUnavailable(f"Telegram refused the draft: {error}")
        return error
    if listen is not None and isinstance(exc, OSError):
        return PlatformError(f"cannot listen for webhooks on {listen}: {exc.strerror or exc}")
    return None


def translated(
    *,
    action: str,
    secret: str,
    native_stream: bool = False,
    listen: str | None = None,
) -> AbstractContextManager[None]:
    """Re-raise python-telegram-bot's failures inside the block as core errors (see
    ``translate`` for the keywords)::

        with translated(action="posting a message", secret=token):
            await bot.send_message(...)
    """
    return translating(
        functools.partial(
            translate, action=action, secret=secret, native_stream=native_stream, listen=listen
        )
    )
