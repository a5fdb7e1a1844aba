"""Translates discord.py and aiohttp failures into the core's PlatformError tree."""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager

import aiohttp
import discord

from knowrithm_bots.core.error_translation import translating
from knowrithm_bots.core.errors import (
    KnowrithmBotsError,
    MessageNotFound,
    MessageTooLong,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)
from knowrithm_bots.core.retry_after import parse_retry_after

INVALID_FORM_BODY = 50035
AUTHENTICATION_FAILED = 4004
DEFAULT_RETRY_AFTER = 1.0


def _retry_after(exc: discord.HTTPException) -> float:
    """Seconds to wait after a 429 discord.py gave up on; only its headers are left."""
    headers = exc.response.headers if exc.response is not None else {}
    for name in ("X-RateLimit-Reset-After", "Retry-After"):
        seconds = parse_retry_after(value=headers.get(name))
        if seconds is not None:
            return seconds
    return DEFAULT_RETRY_AFTER


def _gateway_error(exc: Exception) -> PlatformError | None:
    """What ending the gateway connection with ``exc`` means; None when it says nothing."""
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return PlatformAuthError(
            "Discord refused the message content intent: turn on 'Message Content Intent' "
            "for the bot in the Discord Developer Portal, or set "
            "adapters.discord.message_content_intent to false"
        )
    if isinstance(exc, discord.ConnectionClosed):
        if exc.code == AUTHENTICATION_FAILED:
            return PlatformAuthError("Discord refused the bot token: check adapters.discord.token")
        return PlatformUnavailable(f"Discord's gateway closed the connection (code {exc.code})")
    return None


def _request_error(exc: Exception, *, action: str, editing: bool) -> PlatformError | None:
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


def is_connection_failure(exc: Exception) -> bool:
    """Whether ``exc`` is the gateway or the network failing, rather than discord.py itself
    failing on something it read."""
    return (
        _gateway_error(exc) is not None
        or _request_error(exc, action="connecting", editing=False) is not None
    )


def translate(
    exc: Exception, *, action: str, editing: bool = False, gateway_url: str | None = None
) -> PlatformError | None:
    """The PlatformError for ``exc`` (None when it is not a platform failure).

    ``action`` names what was attempted, for the one-sentence message; Discord's own error
    text is included because it never carries the token. ``editing``: a 404 means the
    message is gone (``MessageNotFound``). ``gateway_url``: the block runs the gateway
    connection there, so its close codes count, and any other failure means the gateway
    could not be reached (discord.py even fails with an AttributeError when the very first
    connection attempt does: it reads the sequence of a socket it never had).
    """
    if gateway_url is None:
        return _request_error(exc, action=action, editing=editing)
    error = _gateway_error(exc) or _request_error(exc, action=action, editing=editing)
    if error is None and not isinstance(exc, KnowrithmBotsError):
        error = PlatformUnavailable(
            f"Discord's gateway at {gateway_url} could not be reached ({type(exc).__name__})"
        )
    return error


def translated(
    *, action: str, editing: bool = False, gateway_url: str | None = None
) -> AbstractContextManager[None]:
    """Re-raise platform failures inside the block as PlatformError subclasses::

    with translated(action="posting a message"):
        await channel.send(...)
    """
    return translating(
        functools.partial(translate, action=action, editing=editing, gateway_url=gateway_url)
    )
