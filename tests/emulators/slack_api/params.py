"""Reading Web API requests as Slack does: query, form and JSON merged; token from header."""

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web


class ApiError(Exception):
    """An `{"ok": false, "error": ...}` answer, with its HTTP status and extra headers."""

    def __init__(
        self, error: str, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}


@dataclass(frozen=True)
class ParsedRequest:
    params: dict[str, Any]
    token: str | None


async def parse_request(request: web.Request) -> ParsedRequest:
    """Merge query, form and JSON body (later wins), and pull the token out of the parameters."""
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST":
        if request.content_type == "application/json":
            raw = await request.text()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise ApiError("invalid_json") from exc
                if not isinstance(body, dict):
                    raise ApiError("invalid_json")
                params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
    token = params.pop("token", None)
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = header.removeprefix("Bearer ").strip()
    return ParsedRequest(params=params, token=token if isinstance(token, str) else None)


def json_field(params: dict[str, Any], name: str) -> Any:
    """Form bodies carry structured fields (blocks, chunks) as JSON text; JSON bodies as values."""
    value = params.get(name)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            error = "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
            raise ApiError(error) from exc
    return value


def text_field(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def required(params: dict[str, Any], name: str, *, error: str = "invalid_arguments") -> str:
    value = text_field(params, name)
    if not value:
        raise ApiError(error)
    return value


def flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true")
