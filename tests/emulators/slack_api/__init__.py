"""Wire-level Slack emulator: Web API, Events API delivery and Socket Mode on 127.0.0.1."""

from . import events, ids
from .clock import ManualClock, wall_clock
from .delivery import ACK_TIMEOUT, SLACK_RETRY_DELAYS, build_envelope, sign
from .emulator import SlackEmulator
from .malformed import (
    MALFORMED_EVENTS,
    POISON_MARKER,
    MalformedEvent,
    malformed_envelope,
    sound_envelope,
)
from .rate_limits import DEFAULT_RATE_LIMITS, TIER_1, TIER_2, TIER_3, TIER_4, RateLimit
from .records import (
    ApiCall,
    AssistantStatus,
    DeliveryAttempt,
    MessageVersion,
    SlackChannel,
    SlackMessage,
    SlackUser,
)
from .web_api import MAX_STREAM_TEXT, MAX_TEXT
from .workspace import Identity

__all__ = [
    "ACK_TIMEOUT",
    "DEFAULT_RATE_LIMITS",
    "MALFORMED_EVENTS",
    "MAX_STREAM_TEXT",
    "MAX_TEXT",
    "POISON_MARKER",
    "SLACK_RETRY_DELAYS",
    "TIER_1",
    "TIER_2",
    "TIER_3",
    "TIER_4",
    "ApiCall",
    "AssistantStatus",
    "DeliveryAttempt",
    "Identity",
    "MalformedEvent",
    "ManualClock",
    "MessageVersion",
    "RateLimit",
    "SlackChannel",
    "SlackEmulator",
    "SlackMessage",
    "SlackUser",
    "build_envelope",
    "events",
    "ids",
    "malformed_envelope",
    "sign",
    "sound_envelope",
    "wall_clock",
]
