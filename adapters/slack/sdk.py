"""Builds the slack-sdk pieces: the Web API client, its 429 policy and its logger."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.config import SlackConfig

# The calls the reply engine drives. Their 429s go to the engine: its process-wide pacer
# shares each budget among all concurrent replies, pauses the whole channel or workspace on
# a 429 and afterwards sends the newest text once. An SDK retry would sleep blindly, hide
# the 429 from the pacer, hold the reply up and then send text that is already stale.
# Every other call (auth.test, users.info, conversations.info, assistant status,
# apps.connections.open) has no one else to retry it, so slack-sdk's handler does.
ENGINE_PACED_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.delete",
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
    }
)

SDK_LOGGER = "adapters.slack.sdk"


class PacedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack-sdk's 429 retry (sleep Retry-After, then retry), except for engine-driven calls."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = urlsplit(request.url).path.rsplit("/", 1)[-1]
        if method in ENGINE_PACED_METHODS:
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def sdk_logger() -> logging.Logger:
    """The logger handed to slack-sdk and bolt (covered by the adapter's RedactionScope).

    slack-sdk formats a debug line for every request unless its logger's own level is above
    DEBUG, so the level follows whether the process logs DEBUG at all.
    """
    logger = logging.getLogger(SDK_LOGGER)
    debug = logging.getLogger().isEnabledFor(logging.DEBUG)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    return logger


def web_client(
    *, config: SlackConfig, session: aiohttp.ClientSession, logger: logging.Logger
) -> AsyncWebClient:
    handlers: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(),
        PacedRateLimitRetryHandler(max_retry_count=config.rate_limit_retries),
    ]
    return AsyncWebClient(
        token=config.bot_token.get_secret_value(),
        base_url=config.api_base_url,
        timeout=int(config.timeout),
        session=session,
        logger=logger,
        retry_handlers=handlers,
    )
