"""Cross-cutting request handling: recording, injected faults, auth and JSON errors."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from knowrithm_bots.bots.local_knowrithm.context import API_PREFIX, ServerContext, context_of
from knowrithm_bots.bots.local_knowrithm.faults import InjectedFailure
from knowrithm_bots.bots.local_knowrithm.inputs import ApiError

logger = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({f"{API_PREFIX}/health"})


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record the request, apply an armed fault, check credentials, then run the handler."""
    context = context_of(request)
    context.state.requests.append((request.method, request.path))
    context.faults.note_request(path=request.path)
    failure = context.faults.take_failure(method=request.method, path=request.path)
    if failure is not None:
        return _injected(failure)
    try:
        if request.path.startswith(API_PREFIX + "/") and request.path not in PUBLIC_PATHS:
            _authenticate(request=request, context=context)
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {"detail": exc.reason}
        if exc.status == 404:
            body["error_code"] = "NOT_FOUND"
        return web.json_response(
            body,
            status=exc.status,
            headers={k: v for k, v in exc.headers.items() if k.lower() == "allow"},
        )
    except Exception:
        logger.exception("local Knowrithm server failed on %s %s", request.method, request.path)
        return web.json_response({"detail": "Internal server error"}, status=500)


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
