"""The async Knowrithm client: agents, conversations, streamed replies, ratings and leads."""

from knowrithm_bots.core.knowrithm.client import KnowrithmClient
from knowrithm_bots.core.knowrithm.models import (
    Agent,
    Conversation,
    ConversationAnalytics,
    ConversationPage,
    EntityType,
    Lead,
    Message,
    ReplyAccepted,
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
)
from knowrithm_bots.core.knowrithm.retry import RetryPolicy
from knowrithm_bots.core.knowrithm.sse import SSEEvent, SSEParser
from knowrithm_bots.core.knowrithm.streaming import Resume

__all__ = [
    "Agent",
    "Conversation",
    "ConversationAnalytics",
    "ConversationPage",
    "EntityType",
    "KnowrithmClient",
    "Lead",
    "Message",
    "ReplyAccepted",
    "ReplyDelta",
    "ReplyDone",
    "ReplyEvent",
    "Resume",
    "RetryPolicy",
    "SSEEvent",
    "SSEParser",
]
