"""Reading and validating request input; every problem becomes an ApiError (400 or 404)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

MAX_PER_PAGE = 100


class ApiError(Exception):
    """An error answer: status, `detail` text and an optional `error_code`."""

    def __init__(self, *, status: int, detail: str, error_code: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error_code = error_code

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        body: dict[str, Any] = {"detail": self.detail}
        if self.error_code is not None:
            body["error_code"] = self.error_code
        return body


def bad_request(detail: str) -> ApiError:
    """A 400 with `detail`."""
    return ApiError(status=400, detail=detail, error_code="BAD_REQUEST")


def not_found(what: str) -> ApiError:
    """A 404 naming what is missing."""
    return ApiError(status=404, detail=f"{what} not found", error_code="NOT_FOUND")


async def json_object(request: web.Request, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is {} only when `allow_empty`."""
    raw = await request.read()
    if not raw.strip():
        if allow_empty:
            return {}
        raise bad_request("A JSON object body is required")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_request("The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    return body


def optional_str(body: Mapping[str, Any], key: str) -> str | None:
    """`body[key]` if it is a string, None if absent or null, else a 400."""
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    raise bad_request(f"'{key}' must be a string")


def optional_dict(body: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """`body[key]` if it is an object, None if absent or null, else a 400."""
    value = body.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise bad_request(f"'{key}' must be an object")


def optional_int(body: Mapping[str, Any], key: str) -> int | None:
    """`body[key]` if it is an integer, None if absent or null, else a 400."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"'{key}' must be an integer")
    return value


def optional_rating(body: Mapping[str, Any], key: str = "rating") -> int | None:
    """A rating of 1 to 5 under ``key``, or None if absent."""
    rating = optional_int(body, key)
    if rating is not None and not 1 <= rating <= 5:
        raise bad_request(f"'{key}' must be between 1 and 5")
    return rating


def query_int(request: web.Request, key: str, *, default: int, minimum: int = 1) -> int:
    """An integer query parameter of at least `minimum`."""
    text = request.query.get(key)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise bad_request(f"'{key}' must be an integer") from exc
    if value < minimum:
        raise bad_request(f"'{key}' must be at least {minimum}")
    return value


@dataclass(frozen=True)
class Window:
    """Which items of a listing to answer: ``size`` of them from index ``start``."""

    start: int
    size: int


def page_window(request: web.Request, *, default_per_page: int) -> Window:
    """The window a listing query asks for; its size is capped at MAX_PER_PAGE.

    ``page``/``per_page`` (knowrithm-py 0.1.22, the docs), or ``limit``/``offset``
    (knowrithm-py 0.1.4 `list`, `list_messages`) when no page is given.
    """
    query = request.query
    if "page" not in query and "per_page" not in query and ("limit" in query or "offset" in query):
        size = min(query_int(request, "limit", default=default_per_page), MAX_PER_PAGE)
        return Window(start=query_int(request, "offset", default=0, minimum=0), size=size)
    page = query_int(request, "page", default=1)
    per_page = min(query_int(request, "per_page", default=default_per_page), MAX_PER_PAGE)
    return Window(start=(page - 1) * per_page, size=per_page)


def paginate(items: list[Any], *, window: Window) -> tuple[list[Any], dict[str, int]]:
    """The items in ``window`` and the pagination block describing them."""
    total = len(items)
    size = window.size
    block = {
        "page": window.start // size + 1,
        "per_page": size,
        "total": total,
        "pages": (total + size - 1) // size,
    }
    return items[window.start : window.start + size], block
