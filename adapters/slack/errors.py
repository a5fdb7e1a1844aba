"""Translates slack-sdk failures into the core's PlatformError tree (never quoting a token)."""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from knowrithm_bots.core.error_translation import translating
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


def _answer(exc: SlackApiError, *, action: str) -> PlatformError:
    """The core error for Slack's refusal of ``action``, read from its error name and status."""
    code = error_code(exc)
    status = int(getattr(exc.response, "status_code", 200) or 200)
    if status == 429 or code == "ratelimited":
        after = _retry_after(exc)
        return PlatformRateLimited(
            f"Slack rate-limited {action}; retry after {after:g}s", retry_after=after
        )
    if code in AUTH_ERRORS:
        return PlatformAuthError(f"Slack refused {action}: {code} (check the bot token's scopes)")
    if code in GONE_ERRORS:
        return MessageNotFound(f"Slack cannot find the message for {action}: {code}")
    if code in TOO_LONG_ERRORS:
        return MessageTooLong(f"Slack refused {action}: {code}")
    if status >= 500 or code in SERVER_ERRORS:
        return PlatformUnavailable(f"Slack failed {action}: {code} (HTTP {status})")
    return SlackRefused(f"Slack refused {action}: {code}", code=code)


def translate(exc: Exception, *, action: str, stream: bool = False) -> PlatformError | None:
    """The core error for a failure of ``action`` (a Web API method such as
    ``chat.postMessage``), or None when ``exc`` is not a Slack failure.

    With ``stream``, every refusal becomes ``StreamRefused`` (a NativeStreamUnavailable: fall
    back to post + edit); rate limits and outages stay as they are, so the engine waits and
    tries the stream again.
    """
    if isinstance(exc, SlackApiError):
        error = _answer(exc, action=action)
        if stream and not isinstance(error, PlatformRateLimited | PlatformUnavailable):
            return StreamRefused(str(error), code=error_code(exc))
        return error
    # TimeoutError is an OSError; slack-sdk's own client errors are about the connection.
    if isinstance(exc, SlackClientError | aiohttp.ClientError | OSError):
        kind = type(exc).__name__
        return PlatformUnavailable(f"Slack could not be reached for {action} ({kind})")
    return None


def translated(*, action: str, stream: bool = False) -> AbstractContextManager[None]:
    """Re-raise Slack failures inside the block as ``translate`` makes them::

    with translated(action="chat.update"):
        await client.chat_update(...)
    """
    return translating(functools.partial(translate, action=action, stream=stream))
