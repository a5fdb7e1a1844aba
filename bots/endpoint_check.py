"""Knowrithm's start-up check: the base URL answers, the credentials pass, the agent exists."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import httpx

from knowrithm_bots.core.errors import (
    AuthError,
    ConfigError,
    KnowrithmError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    UnavailableError,
)
from knowrithm_bots.core.knowrithm import Agent, KnowrithmClient

log = logging.getLogger(__name__)

# The whole check gives up after this: a service that accepts connections and never answers
# would otherwise hold start-up for the client's timeout times its retries (92 s by default).
CHECK_DEADLINE = 6.0
# After this long without an answer, the person starting the bot is told what it waits for.
WAITING_AFTER = 2.0

Notify = Callable[[str], None]

# Connected, then no answer in time (a refused or timed-out connection is "cannot be reached").
_NO_ANSWER = (httpx.ReadTimeout, httpx.WriteTimeout)

_CREDENTIALS = "checking the credentials"
_AGENT = "looking up the agent"


class _Progress:
    """The step under way, for the waiting line and the give-up sentence."""

    step = _CREDENTIALS


async def verify_endpoint(
    *,
    client: KnowrithmClient,
    base_url: str,
    agent_id: str,
    waiting: Notify | None = None,
    deadline: float = CHECK_DEADLINE,
    waiting_after: float = WAITING_AFTER,
) -> Agent:
    """The configured agent, once Knowrithm proved it answers, takes the credentials and
    knows the agent; otherwise one ``ConfigError`` sentence naming the key to fix.

    ``waiting`` is told (once, after ``waiting_after`` seconds without an answer) what the
    check waits for; without it, that goes to the log. After ``deadline`` seconds the check
    gives up.
    """
    progress = _Progress()
    check = asyncio.ensure_future(_check(client=client, agent_id=agent_id, progress=progress))
    try:
        done, _ = await asyncio.wait({check}, timeout=min(waiting_after, deadline))
        if not done:
            line = f"waiting for Knowrithm at {base_url} to answer ({progress.step})..."
            if waiting is not None:
                waiting(line)
            else:
                log.warning("%s", line)
        async with asyncio.timeout(max(0.0, deadline - waiting_after)):
            return await asyncio.shield(check)
    except TimeoutError:
        raise ConfigError(
            f"Knowrithm at {base_url} did not answer within {deadline:g} seconds "
            f"({progress.step}): check knowrithm.base_url and the network",
            key_path="knowrithm.base_url",
        ) from None
    except KnowrithmError as exc:
        raise _sentence(exc, base_url=base_url, agent_id=agent_id, step=progress.step) from None
    finally:
        check.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await check


async def _check(*, client: KnowrithmClient, agent_id: str, progress: _Progress) -> Agent:
    # Listing needs the credentials and proves the base URL is the API; the agent lookup is a
    # public call (knowrithm-py 0.1.22 `get_agent`), so it cannot stand in for it.
    progress.step = _CREDENTIALS
    await client.list_conversations(per_page=1)
    progress.step = _AGENT
    agent = await client.get_agent(agent_id=agent_id)
    if agent.status == "deleted":
        raise NotFoundError(f"Knowrithm reports the agent {agent_id} as deleted.")
    return agent


def _answered(error: KnowrithmError) -> str:
    """What Knowrithm answered, in a few words (the error's own sentence repeats the URL)."""
    if error.status is not None:
        return f"HTTP {error.status}"
    return "an answer this bot cannot read" if isinstance(error, ProtocolError) else "no answer"


def _sentence(error: KnowrithmError, *, base_url: str, agent_id: str, step: str) -> ConfigError:
    """The one sentence for a failed check, naming the key most likely to be wrong."""
    where = f"Knowrithm at {base_url}"
    if isinstance(error, AuthError):
        return ConfigError(
            f"{where} refused the credentials: check knowrithm.api_key and knowrithm.api_secret",
            key_path="knowrithm.api_key",
        )
    if isinstance(error, NotFoundError) and step == _AGENT:
        return ConfigError(
            f"{where} has no agent with the id {agent_id!r}: check knowrithm.agent_id",
            key_path="knowrithm.agent_id",
        )
    if isinstance(error, NotFoundError | ProtocolError):
        return ConfigError(
            f"{where} answered, but not as the Knowrithm API ({_answered(error)} while "
            f"{step}): check knowrithm.base_url (it usually ends in /api)",
            key_path="knowrithm.base_url",
        )
    if isinstance(error, RateLimitedError):
        return ConfigError(
            f"{where} refused the requests as too many: start again later, or check that "
            "knowrithm.api_key is not shared with a busy program",
            key_path="knowrithm.api_key",
        )
    if isinstance(error, UnavailableError) and isinstance(error.__cause__, _NO_ANSWER):
        return ConfigError(
            f"{where} did not answer within knowrithm.timeout ({step}): check "
            "knowrithm.base_url and the network",
            key_path="knowrithm.base_url",
        )
    if isinstance(error, UnavailableError) and error.status is None:
        return ConfigError(
            f"{where} cannot be reached: check knowrithm.base_url and the network",
            key_path="knowrithm.base_url",
        )
    return ConfigError(
        f"{where} failed ({_answered(error)} while {step}): check knowrithm.base_url, or "
        "start again later if Knowrithm reports an outage",
        key_path="knowrithm.base_url",
    )
