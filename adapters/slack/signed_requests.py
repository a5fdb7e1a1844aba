"""The Events API endpoint: every request not signed by Slack, or not readable, gets a 401.

slack-bolt's own aiohttp endpoint reads the body as text and parses it before it checks the
signature, and its check turns the timestamp header into a number without asking whether it
is one: a non-numeric timestamp, a body that is not UTF-8, or one that is not JSON end in a
500 and a traceback in the log, for anyone who can reach the port. Here the raw bytes are
checked first, as Slack documents (https://api.slack.com/authentication/verifying-requests-
from-slack): ``X-Slack-Signature`` must be ``v0=`` + hex HMAC-SHA256 of
``v0:{timestamp}:{body}`` under the signing secret, with ``X-Slack-Request-Timestamp`` at most
five minutes away; then the body must be UTF-8 and hold a JSON object (directly, or as the
``payload`` field of a form). Only then does bolt see the request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from knowrithm_bots.adapters.slack.event_check import EventScreen

log = logging.getLogger(__name__)

MAX_AGE = 300  # seconds a request's timestamp may be away from now, either way
_TIMESTAMP_DIGITS = 12  # far beyond any real Unix time; longer is not a timestamp

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refusal(*, body: bytes, headers: Mapping[str, str], secret: str, now: float) -> str | None:
    """Why the request must be refused (a phrase, never quoting it), or None when it is
    signed by Slack and readable."""
    timestamp = headers.get("X-Slack-Request-Timestamp")
    signature = headers.get("X-Slack-Signature")
    if not timestamp or not signature:
        return "it is not signed"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _TIMESTAMP_DIGITS):
        return "its timestamp is not a number"
    if abs(now - int(timestamp)) > MAX_AGE:
        return "its timestamp is more than five minutes away"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "its signature is wrong"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "its body is not UTF-8"
    if not _holds_an_object(text, content_type=headers.get("Content-Type", "")):
        return "its body holds no JSON object"
    return None


def _holds_an_object(text: str, *, content_type: str) -> bool:
    """Whether bolt will find a JSON object in the body, reading it as bolt does."""
    try:
        if content_type.startswith("application/json") or text.startswith("{"):
            return isinstance(json.loads(text), dict)
        form = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" in form:
            return isinstance(json.loads(form["payload"]), dict)
        return bool(form)  # a plain form (ssl_check, slash commands) is read field by field
    except ValueError:
        return False


def _json_or_text(text: str) -> object:
    """The decoded payload where it is JSON (to name its event id), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def events_handler(
    app: AsyncApp,
    *,
    signing_secret: str,
    screen: EventScreen,
    clock: Callable[[], float] = time.time,
) -> Handler:
    """The aiohttp handler for Slack's POSTs: 401 unless ``refusal`` finds nothing wrong;
    a signed payload ``screen`` keeps from bolt is acked (200), so Slack does not resend it."""

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        reason = refusal(body=body, headers=request.headers, secret=signing_secret, now=clock())
        if reason is not None:
            # Anyone who finds the URL can send these: a debug line, not a warning each.
            log.debug("refused a request to the Slack events URL: %s", reason)
            return web.Response(status=401, text="invalid request")
        text = body.decode("utf-8")
        try:
            bolt_request = AsyncBoltRequest(
                body=text, query=request.query_string, headers=dict(request.headers)
            )
        except Exception as exc:  # a signed payload bolt cannot read: Slack's, but broken
            problem = f"slack-bolt cannot read it ({type(exc).__name__})"
            screen.skipped(_json_or_text(text), problem=problem)
            return web.Response(status=200)
        if not screen.admits(bolt_request.body):
            return web.Response(status=200)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return handle
