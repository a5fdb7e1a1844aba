"""Turns the backend's HTTP failures into the core error tree (never quoting the token)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from knowrithm_bots.adapter import (
    MessageNotFound,
    MessageTooLong,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
    parse_retry_after,
)

DEFAULT_RETRY_AFTER = 1.0


def _retry_after(headers: Mapping[str, str], body: Mapping[str, Any]) -> float:
    for value in (headers.get("Retry-After"), body.get("retry_after")):
        if isinstance(value, str | int | float):
            seconds = parse_retry_after(value=value)
            if seconds is not None:
                return seconds
    return DEFAULT_RETRY_AFTER


def error_for(
    *, status: int, what: str, headers: Mapping[str, str], body: Mapping[str, Any]
) -> PlatformError:
    """The core error for an HTTP error answer to ``what`` (e.g. "posting to c42")."""
    reason = body.get("error")
    detail = f" ({reason})" if isinstance(reason, str) and reason else ""
    message = f"the chat backend answered {status}{detail} when {what}"
    if status == 429:
        return PlatformRateLimited(message, retry_after=_retry_after(headers, body))
    if status in (401, 403):
        return PlatformAuthError(f"{message}: check adapters.webhook.token")
    if status in (404, 410):
        return MessageNotFound(message)
    if status == 413:
        return MessageTooLong(message)
    if status >= 500:
        return PlatformUnavailable(message)
    return PlatformError(message)


def unreachable(*, base_url: str, what: str, cause: BaseException) -> PlatformUnavailable:
    return PlatformUnavailable(
        f"the chat backend at {base_url} cannot be reached when {what} ({type(cause).__name__})"
    )
