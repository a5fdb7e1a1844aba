"""Reads Bot API parameters from query strings, forms, multipart and JSON bodies alike."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.web_request import FileField

from ._records import UploadedFile, bad_request

# Clients send every non-string value as JSON text, so a value is decoded unless the
# parameter is free text that could itself look like JSON ("123", "true").
_TEXT_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "action",
        "callback_query_id",
        "inline_message_id",
        "language_code",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "emoji",
        "description",
        "short_description",
        "name",
        "title",
        "query",
    }
)


def decode_value(*, name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def read_params(request: web.Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query)
    if request.body_exists:
        if request.content_type.startswith("multipart/"):
            raw.update(await _multipart(request))
        else:
            raw.update(_body(await request.read(), content_type=request.content_type))
    return {name: decode_value(name=name, value=value) for name, value in raw.items()}


async def _multipart(request: web.Request) -> dict[str, Any]:
    form = await request.post()
    fields: dict[str, Any] = {}
    for name, value in form.items():
        if isinstance(value, FileField):
            fields[name] = UploadedFile(
                filename=value.filename, content_type=value.content_type, data=value.file.read()
            )
        else:
            fields[name] = value
    return fields


def _body(raw: bytes, *, content_type: str) -> dict[str, Any]:
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return {}
    looks_json = content_type == "application/json" or text.lstrip().startswith("{")
    if looks_json:
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise bad_request("can't parse JSON object") from exc
        if not isinstance(parsed, dict):
            raise bad_request("JSON object expected")
        return parsed
    return dict(parse_qsl(text, keep_blank_values=True))
