"""Cross-cutting request handling: recording, injected faults, auth and JSON errors."""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from knowrithm_bots.bots.local_knowrithm.context import API_PREFIX, ServerContext, context_of
from knowrithm_bots.bots.local_knowrithm.faults import InjectedFailure
from knowrithm_bots.bots.local_knowrithm.inputs import ApiError
from knowrithm_bots.bots.local_knowrithm.records import ReceivedRequest

logger = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({f"{API_PREFIX}/health"})
# GET /agent/{agent_id} is public (knowrithm-py 0.1.22 `AgentService.get_agent`); the
# by-name lookup is not.
_AGENT_PREFIX = f"{API_PREFIX}/agent/"


def _is_public(request: web.Request) -> bool:
    path = request.path
    if path in PUBLIC_PATHS:
        return True
    agent_id = path.removeprefix(_AGENT_PREFIX)
    return (
        request.method == "GET"
        and path.startswith(_AGENT_PREFIX)
        and "/" not in agent_id
        and agent_id != "by-name"
    )


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record the request, apply an armed fault, check credentials, then run the handler."""
    context = context_of(request)
    context.state.requests.append((request.method, request.path))
    try:
        received = await _received(request)
    except web.HTTPException as exc:
        # A body aiohttp refuses to read (too large, say) is recorded without it.
        context.state.received.append(_without_body(request))
        return _http_error(exc)
    context.state.received.append(received)
    context.faults.note_request(path=request.path)
    failure = context.faults.take_failure(method=request.method, path=request.path)
    if failure is not None:
        return _injected(failure)
    if await context.faults.wait_if_unanswered(method=request.method, path=request.path):
        return _injected(InjectedFailure(status=503, body=None, retry_after=None))
    try:
        if request.path.startswith(API_PREFIX + "/") and not _is_public(request):
            _authenticate(request=request, context=context)
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except web.HTTPException as exc:
        return _http_error(exc)
    except Exception:
        logger.exception("local Knowrithm server failed on %s %s", request.method, request.path)
        return web.json_response({"detail": "Internal server error"}, status=500)


def _http_error(exc: web.HTTPException) -> web.Response:
    """aiohttp's own error answers (no route, wrong method ...) as JSON error bodies."""
    if exc.status < 400:
        raise exc
    body = {"detail": exc.reason}
    if exc.status == 404:
        body["error_code"] = "NOT_FOUND"
    return web.json_response(
        body,
        status=exc.status,
        headers={k: v for k, v in exc.headers.items() if k.lower() == "allow"},
    )


def _without_body(request: web.Request) -> ReceivedRequest:
    return ReceivedRequest(
        method=request.method, path=request.path, query=dict(request.query), body=None
    )


async def _received(request: web.Request) -> ReceivedRequest:
    # aiohttp keeps the body once read, so the handler reads the same bytes again.
    raw = await request.read()
    body: Any = None
    if raw.strip():
        text = raw.decode("utf-8", errors="replace")
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):
            body = text
    return dataclasses.replace(_without_body(request), body=body)


def _authenticate(*, request: web.Request, context: ServerContext) -> None:
    settings = context.settings
    key = request.headers.get("X-API-Key", "")
    secret = request.headers.get("X-API-Secret", "")
    if _same(key, settings.api_key) and _same(secret, settings.api_secret):
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip() in context.state.tokens:
        return
    raise ApiError(status=401, detail="Invalid API credentials", error_code="AUTH_FAILED")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _injected(failure: InjectedFailure) -> web.Response:
    headers = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = f"{failure.retry_after:g}"
    if failure.body is None:
        return web.json_response(
            {"detail": f"Injected failure (HTTP {failure.status})", "error_code": "INJECTED"},
            status=failure.status,
            headers=headers,
        )
    return web.Response(
        text=failure.body, status=failure.status, headers=headers, content_type="application/json"
    )
