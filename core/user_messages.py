"""The one clear sentence a chat user sees when something goes wrong."""

from __future__ import annotations

import math

from knowrithm_bots.core.errors import (
    REPLY_LOST,
    AnswerTimeout,
    AuthError,
    BadRequestError,
    ConversationEndedError,
    ConversationStartError,
    KnowrithmError,
    LeadCreationError,
    LeadEmailUnavailable,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    StoreError,
    UnavailableError,
)

EMPTY_MESSAGE = "Your message has no text I can pass to the agent; please write it out in words."
EMPTY_ANSWER = "The agent sent an empty answer; please try asking in another way."
NOTHING_TO_END = "There is no conversation to end in this thread; just write to start one."
NOTHING_TO_STOP = "There is no answer being written in this thread to stop."
# What a Stop button tells its clicker alone: stopped, the answer had ended, or (with a
# conversation per person) it answers someone else, whom one person may not stop.
STOPPED = "Stopped."
STOP_CLICK_TOO_LATE = "Nothing to stop: that answer has ended."
NOTHING_OF_YOURS_TO_STOP = (
    "Nothing of yours to stop: that answer has ended, or it answers someone else."
)
# Shown in the thread when the first words of an answer are slow (configurable).
STILL_WORKING = "Still working on it…"

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
    """The sentence for ``error``; it never includes credentials or internal details.

    Each sentence must be true wherever the bridge can meet its kind: a refused send of a
    conversation Knowrithm no longer knows (or has ended) was already retried once in a new
    conversation, a lead or a conversation Knowrithm refuses to create is a setting an
    administrator must fix (rephrasing cannot help), and a refused rating is told in the
    bridge's own words.
    """
    if isinstance(error, AuthError):
        return (
            "The agent is not available because Knowrithm refused this bot's credentials; "
            "an administrator needs to check the API key and secret."
        )
    if isinstance(error, RateLimitedError):
        return f"The agent is busy right now; please try again{_wait_text(error.retry_after)}."
    if isinstance(error, LeadEmailUnavailable):
        return (
            "The agent cannot talk with you here yet because this bot has no e-mail address "
            "to register you with; an administrator needs to set leads.email_domain in its "
            "configuration."
        )
    if isinstance(error, LeadCreationError):
        return (
            "The agent cannot talk with you yet because Knowrithm did not accept the contact "
            "record this bot made for you; an administrator needs to check the bot's lead "
            "settings."
        )
    if isinstance(error, ConversationStartError):
        return (
            "The agent cannot start a conversation because Knowrithm refused to open one; "
            "an administrator needs to check that the agent still exists and accepts "
            "conversations."
        )
    if isinstance(error, UnavailableError):
        if error.error_code == REPLY_LOST:
            return (
                "Knowrithm received your message, but the agent's answer was lost on the way; "
                "please ask again."
            )
        return "The agent is not answering right now; please try again in a minute."
    if isinstance(error, ProtocolError):
        return (
            "Knowrithm answered in a form this bot cannot read; please try again, and tell "
            "an administrator if it keeps happening."
        )
    if isinstance(error, ConversationEndedError):
        return (
            "This conversation has ended on Knowrithm; please send your message again to "
            "start a new one."
        )
    if isinstance(error, NotFoundError):
        return (
            "Knowrithm does not know this conversation any more; please send your message "
            "again to start a new one."
        )
    if isinstance(error, BadRequestError):
        return (
            "Knowrithm refused your message as invalid; please rephrase or shorten it and "
            "try again."
        )
    if isinstance(error, AnswerTimeout):
        return "The agent took too long to answer, so I stopped waiting; please ask again."
    if isinstance(error, KnowrithmError):
        return "The agent could not answer this time; please try again."
    if isinstance(error, StoreError):
        return "The bot cannot reach its storage right now; please try again in a minute."
    return "Something went wrong while answering; please try again."
