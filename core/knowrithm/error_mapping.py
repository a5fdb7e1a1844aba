"""Translate HTTP failures from Knowrithm into the project's error tree, one sentence each."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from knowrithm_bots.core.errors import (
    AuthError,
    BadRequestError,
    ConversationEndedError,
    KnowrithmError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    UnavailableError,
)

# Re-exported: session.py imports both from here.
from knowrithm_bots.core.log_redaction import Redactor
from knowrithm_bots.core.retry_after import parse_retry_after

_MAX_DETAIL = 200
_ENDED_CODE = "CONVERSATION_ENDED"
# Error details are found near the top of a body; deeper nesting is not searched.
_MAX_DETAIL_DEPTH = 8


def _detail_text(value: Any, depth: int = 0) -> str | None:
    if isinstance(value, str):
        return value
    if depth >= _MAX_DETAIL_DEPTH:
        return None
    if isinstance(value, Mapping):
        for name in ("message", "detail", "msg", "error"):
            inner = _detail_text(value.get(name), depth + 1)
            if inner:
                return inner
        return None
    if isinstance(value, list):
        parts = [text for item in value if (text := _detail_text(item, depth + 1))]
        return "; ".join(parts) if parts else None
    return None


def error_details(body: Any) -> tuple[str | None, str | None]:
    """Return (detail, error_code) from an error body, tolerating the shapes the service used."""
    if not isinstance(body, Mapping):
        return None, None
    detail = None
    for name in ("detail", "message", "error", "errors"):
        detail = _detail_text(body.get(name))
        if detail:
            break
    code = body.get("error_code") or body.get("code")
    error = body.get("error")
    if code is None and isinstance(error, Mapping):
        code = error.get("code") or error.get("error_code")
    return detail, (str(code) if isinstance(code, str | int) else None)


def clean_detail(detail: str | None, *, redact: Callable[[str], str]) -> str | None:
    """The service's explanation fit for one sentence: no secrets, one line, at most 200 chars."""
    if not detail:
        return None
    text = re.sub(r"\s+", " ", redact(detail)).strip().rstrip(".")
    if len(text) > _MAX_DETAIL:
        text = text[: _MAX_DETAIL - 1].rstrip() + "…"
    return text or None


def _decode_error_body(content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def error_from_response(
    *, response: httpx.Response, action: str, redact: Redactor
) -> KnowrithmError:
    """Build the error for a non-2xx answer; the caller must already have read the body."""
    status = response.status_code
    detail, code = error_details(_decode_error_body(response.content))
    detail = clean_detail(detail, redact=redact)
    suffix = f" (HTTP {status}: {detail})." if detail else f" (HTTP {status})."
    if status == 429:
        retry_after = parse_retry_after(value=response.headers.get("Retry-After"))
        wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimitedError(
            f"Knowrithm could not {action}: too many requests{wait}{suffix}",
            retry_after=retry_after,
            error_code=code,
        )
    if code == _ENDED_CODE or status == 409:
        return ConversationEndedError(
            f"Knowrithm could not {action}: the conversation has ended{suffix}",
            status=status,
            error_code=code,
        )
    if status in (401, 403):
        return AuthError(
            f"Knowrithm could not {action}: the API key, secret or token was refused{suffix}",
            status=status,
            error_code=code,
        )
    if status == 404:
        return NotFoundError(
            f"Knowrithm could not {action}: it was not found{suffix}",
            status=status,
            error_code=code,
        )
    if status == 408 or status >= 500:
        return UnavailableError(
            f"Knowrithm could not {action}: the service failed or is unavailable{suffix}",
            status=status,
            error_code=code,
        )
    if 400 <= status < 500:
        return BadRequestError(
            f"Knowrithm could not {action}: the request was refused as invalid{suffix}",
            status=status,
            error_code=code,
        )
    return ProtocolError(
        f"Knowrithm could not {action}: it answered an unexpected status{suffix}",
        status=status,
        error_code=code,
    )


def error_from_transport(*, exc: httpx.HTTPError, action: str, origin: str) -> KnowrithmError:
    """Build the error for a request that got no HTTP answer at all."""
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return UnavailableError(
            f"Knowrithm could not {action}: no connection could be made to {origin}."
        )
    if isinstance(exc, httpx.TimeoutException):
        return UnavailableError(f"Knowrithm could not {action}: it did not answer in time.")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return UnavailableError(
            f"Knowrithm could not {action}: the base URL {origin} does not use http or https."
        )
    return UnavailableError(
        f"Knowrithm could not {action}: the connection broke before the answer arrived."
    )


def decode_json(*, response: httpx.Response, action: str) -> Any:
    """Return the JSON body of a 2xx answer (None when empty); malformed JSON is a ProtocolError."""
    content = response.content
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        problem = "malformed JSON"
    except RecursionError:
        problem = "JSON nested too deeply to read"
    raise ProtocolError(
        f"Knowrithm could not {action}: it answered {problem} (HTTP {response.status_code}).",
        status=response.status_code,
    ) from None
