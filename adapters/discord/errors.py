"""Translates discord.py and aiohttp failures into the core's PlatformError tree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import discord

from knowrithm_bots.core.errors import (
    MessageNotFound,
    MessageTooLong,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)
from knowrithm_bots.core.retry_after import parse_retry_after

UNKNOWN_MESSAGE = 10008
UNKNOWN_CHANNEL = 10003
INVALID_FORM_BODY = 50035
DEFAULT_RETRY_AFTER = 1.0


def _retry_after(exc: discord.HTTPException) -> float:
    """Seconds to wait after a 429 discord.py gave up on; only its headers are left."""
    headers = exc.response.headers if exc.response is not None else {}
    for name in ("X-RateLimit-Reset-After", "Retry-After"):
        seconds = parse_retry_after(value=headers.get(name))
        if seconds is not None:
            return seconds
    return DEFAULT_RETRY_AFTER


def translate(exc: BaseException, *, action: str, editing: bool = False) -> PlatformError | None:
    """The PlatformError for ``exc`` (None when it is not a platform failure).

    ``action`` names what was attempted, for the one-sentence message; Discord's own error
    text is included because it never carries the token.
    """
    if isinstance(exc, discord.RateLimited):
        # The body's retry_after, which discord.py found too long to sleep through.
        wait = parse_retry_after(value=exc.retry_after)
        wait = DEFAULT_RETRY_AFTER if wait is None else wait
        return PlatformRateLimited(
            f"Discord rate limited {action} for {wait:.1f}s", retry_after=wait
        )
    if isinstance(exc, discord.LoginFailure):
        return PlatformAuthError("Discord refused the bot token: check adapters.discord.token")
    if isinstance(exc, discord.HTTPException):
        detail = f"{exc.status} {exc.text or ''}".strip()
        if exc.status == 429:
            retry = _retry_after(exc)
            return PlatformRateLimited(
                f"Discord rate limited {action} for {retry:.1f}s", retry_after=retry
            )
        if exc.status == 404 and editing:
            return MessageNotFound(f"Discord could not find the message for {action} ({detail})")
        if exc.status in (401, 403):
            return PlatformAuthError(
                f"Discord refused {action} ({detail}): check the bot's permissions"
            )
        if exc.status >= 500:
            return PlatformUnavailable(f"Discord failed {action} on its side ({detail})")
        if exc.code == INVALID_FORM_BODY and "length" in (exc.text or "").lower():
            return MessageTooLong(f"Discord refused {action} as too long ({detail})")
        return PlatformError(f"Discord refused {action} ({detail})")
    if isinstance(exc, aiohttp.ClientError | OSError):  # TimeoutError is an OSError
        return PlatformUnavailable(f"Discord could not be reached for {action}")
    return None


@contextmanager
def translated(*, action: str, editing: bool = False) -> Iterator[None]:
    """Re-raise platform failures inside the block as PlatformError subclasses."""
    try:
        yield
    except PlatformError:
        raise
    except Exception as exc:
        error = translate(exc, action=action, editing=editing)
        if error is None:
            raise
        raise error from None
