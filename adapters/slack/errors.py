"""Translates slack-sdk failures into the core's PlatformError tree (never quoting a token)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from knowrithm_bots.core.errors import (
    MessageNotFound,
    MessageTooLong,
    NativeStreamUnavailable,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)
from knowrithm_bots.core.retry_after import parse_retry_after

T = TypeVar("T")


class SlackRefused(PlatformError):
    """Slack refused a call for a reason the core has no class for; ``code`` names it."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class StreamRefused(NativeStreamUnavailable):
    """Slack refused a stream method; ``code`` is its error name (``feature_not_enabled``)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
        "team_access_not_granted",
        "access_denied",
    }
)
GONE_ERRORS = frozenset(
    {
        "message_not_found",
        "cant_update_message",
        "cant_delete_message",
        "edit_window_closed",
        "thread_not_found",
    }
)
TOO_LONG_ERRORS = frozenset({"msg_too_long", "msg_blocks_too_long", "too_long"})
SERVER_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
DEFAULT_RETRY_AFTER = 1.0


def error_code(exc: SlackApiError) -> str:
    """Slack's short error name (``ratelimited``, ``feature_not_enabled`` ...)."""
    try:
        code = exc.response.get("error")
    except (AttributeError, TypeError):
        code = None
    return str(code) if code else "unknown_error"


def _retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    for name, value in dict(headers).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            seconds = parse_retry_after(value=raw if isinstance(raw, str | int | float) else None)
            return DEFAULT_RETRY_AFTER if seconds is None else seconds
    return DEFAULT_RETRY_AFTER


def translate(exc: SlackApiError, *, method: str) -> PlatformError:
    """The core error for Slack's answer to ``method``."""
    code = error_code(exc)
    status = int(getattr(exc.response, "status_code", 200) or 200)
    if status == 429 or code == "ratelimited":
        after = _retry_after(exc)
        return PlatformRateLimited(
            f"Slack rate-limited {method}; retry after {after:g}s", retry_after=after
        )
    if code in AUTH_ERRORS:
        return PlatformAuthError(f"Slack refused {method}: {code} (check the bot token's scopes)")
    if code in GONE_ERRORS:
        return MessageNotFound(f"Slack cannot find the message for {method}: {code}")
    if code in TOO_LONG_ERRORS:
        return MessageTooLong(f"Slack refused {method}: {code}")
    if status >= 500 or code in SERVER_ERRORS:
        return PlatformUnavailable(f"Slack failed {method}: {code} (HTTP {status})")
    return SlackRefused(f"Slack refused {method}: {code}", code=code)


async def guarded(call: Awaitable[T], *, method: str) -> T:
    """Await one Web API call, raising only PlatformError subclasses."""
    try:
        return await call
    except SlackApiError as exc:
        raise translate(exc, method=method) from None
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        raise PlatformUnavailable(
            f"Slack could not be reached for {method} ({type(exc).__name__})"
        ) from None


async def guarded_stream(call: Awaitable[T], *, method: str) -> T:
    """Like ``guarded``, but any refusal means "fall back": NativeStreamUnavailable.

    Rate limits and outages stay as they are, so the engine waits and tries again.
    """
    try:
        return await call
    except SlackApiError as exc:
        translated = translate(exc, method=method)
        if isinstance(translated, PlatformRateLimited | PlatformUnavailable):
            raise translated from None
        raise StreamRefused(str(translated), code=error_code(exc)) from None
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        raise PlatformUnavailable(
            f"Slack could not be reached for {method} ({type(exc).__name__})"
        ) from None
