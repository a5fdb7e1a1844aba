"""The one clear sentence a chat user sees when something goes wrong."""

from __future__ import annotations

import math

from knowrithm_bots.core.errors import (
    AuthError,
    BadRequestError,
    KnowrithmError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    StoreError,
    UnavailableError,
)

EMPTY_MESSAGE = "Your message has no text I can pass to the agent; please write it out in words."
EMPTY_ANSWER = "The agent sent an empty answer; please try asking in another way."
NOTHING_TO_END = "There is no conversation to end in this thread; just write to start one."

# A wait is shown in the largest unit whose count stays at most this.
_MOST_OF_A_UNIT = 90


def too_long(*, length: int, limit: int) -> str:
    return (
        f"Your message is {length:,} characters long and the limit is {limit:,}; "
        "please shorten it or split it into several messages."
    )


def _wait_text(seconds: float | None) -> str:
    """The " in ..." part of the busy sentence, in a unit that keeps the number small.

    ``seconds`` comes from ``core.retry_after.parse_retry_after``: finite, at most a day.
    """
    if seconds is None or seconds <= 0:
        return " in a moment"
    if seconds <= _MOST_OF_A_UNIT:
        count, unit = math.ceil(seconds), "second"
    elif seconds <= _MOST_OF_A_UNIT * 60:
        count, unit = math.ceil(seconds / 60), "minute"
    else:
        count, unit = math.ceil(seconds / 3600), "hour"
    return f" in {count} {unit}{'' if count == 1 else 's'}"


def explain(error: BaseException) -> str:
    """The sentence for ``error``; it never includes credentials or internal details."""
    if isinstance(error, AuthError):
        return (
            "The agent is not available because Knowrithm refused this bot's credentials; "
            "an administrator needs to check the API key and secret."
        )
    if isinstance(error, RateLimitedError):
        return f"The agent is busy right now; please try again{_wait_text(error.retry_after)}."
    if isinstance(error, UnavailableError):
        return "The agent cannot be reached right now; please try again in a minute."
    if isinstance(error, ProtocolError):
        return "The agent's answer could not be read; please try again."
    if isinstance(error, NotFoundError):
        return (
            "This conversation no longer exists on Knowrithm; your next message starts a new one."
        )
    if isinstance(error, BadRequestError):
        return "The agent could not accept that message; please rephrase it and try again."
    if isinstance(error, KnowrithmError):
        return "The agent could not answer this time; please try again."
    if isinstance(error, StoreError):
        return "The bot cannot reach its storage right now; please try again in a minute."
    return "Something went wrong while answering; please try again."
